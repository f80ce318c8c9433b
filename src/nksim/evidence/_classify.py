"""Is a registry record an NK-cell-therapy trial, and of what kind?

The rules live in ``data/nk_rules.toml`` (with a source for each); this module
applies them in a fixed order, documented in docs/evidence.md:

1. study designs that give no product (observational, expanded access) are excluded;
2. look-alike terms (NKT, CIK, γδ T, ITNK, NKG2D CAR-T, NK-activity read-outs, engagers...)
   are blanked out of the intervention text and titles;
3. what is left must still name NK cells, an NK variant or a known NK product code;
   failing that, the brief summary must say NK cells are infused or given;
   otherwise the study is excluded with the first look-alike's reason;
4. a CAR-T product with only bare "CAR-NK" wording is excluded for review;
5. product type and indication labels are attached to the counted trials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._record import StudyRecord, parse_study
from ._rules import NKRules, PatternRule, nk_rules

PRODUCT_TYPES: tuple[str, ...] = (
    "autologous",
    "allogeneic_peripheral_blood",
    "allogeneic_cord_blood",
    "allogeneic_ipsc",
    "nk92_cell_line",
    "allogeneic_hspc_derived",
    "allogeneic_unspecified_source",
    "source_not_stated",
    "memory_like",
    "car_nk",
    "engineered_no_car",
    "with_antibody_or_engager",
)
INDICATIONS: tuple[str, ...] = (
    "haematological",
    "solid_tumour",
    "cancer_unspecified",
    "autoimmune",
    "infection",
    "ageing",
    "other",
)
NO_NK_PRODUCT = "no_nk_product"
NO_NK_PRODUCT_REASON = "no NK-cell product is named in the interventions, titles or summary"

_SEP = " \u2016 "  # keeps matches from running across fields
_MATERIAL_TYPE = {
    "ipsc": "allogeneic_ipsc",
    "cord_blood": "allogeneic_cord_blood",
    "nk_cell_line": "nk92_cell_line",
    "hspc": "allogeneic_hspc_derived",
}


@dataclass(frozen=True)
class Classification:
    """The verdict on one study record.

    Attributes
    ----------
    is_nk_therapy
        True when the trial gives an NK-cell product and is counted.
    exclusion_rule, exclusion_reason, exclusion_source
        Why a study is not counted (``None`` when it is).
    evidence
        The text that counted as naming an NK-cell product, with where it was found.
    lookalikes
        Ids of look-alike rules whose terms appear (also in counted trials).
    product_types, indications
        Labels from ``PRODUCT_TYPES`` and ``INDICATIONS``; a trial may have several.
    review
        A note asking for a check by hand, or ``None``.
    """

    nct_id: str
    is_nk_therapy: bool
    exclusion_rule: str | None = None
    exclusion_reason: str | None = None
    exclusion_source: str | None = None
    evidence: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()
    product_types: tuple[str, ...] = ()
    product_codes: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    review: str | None = None
    record: StudyRecord | None = field(default=None, repr=False, compare=False)

    @property
    def is_car_nk(self) -> bool:
        return self.is_nk_therapy and "car_nk" in self.product_types

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the raw record)."""
        return {
            "nct_id": self.nct_id,
            "is_nk_therapy": self.is_nk_therapy,
            "exclusion_rule": self.exclusion_rule,
            "exclusion_reason": self.exclusion_reason,
            "exclusion_source": self.exclusion_source,
            "evidence": list(self.evidence),
            "lookalikes": list(self.lookalikes),
            "product_types": list(self.product_types),
            "product_codes": list(self.product_codes),
            "indications": list(self.indications),
            "review": self.review,
        }


@dataclass(frozen=True)
class _Hit:
    rule: str
    start: int
    end: int
    text: str


def _mask(text: str, rules: tuple[PatternRule, ...]) -> tuple[str, list[_Hit]]:
    """Blank out (with spaces, keeping offsets) every match of ``rules``."""
    chars = list(text)
    hits: list[_Hit] = []
    for rule in rules:
        for m in rule.pattern.finditer("".join(chars)):
            if not m.group().strip():
                continue
            hits.append(_Hit(rule.id, m.start(), m.end(), m.group()))
            chars[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(chars), hits


def _find(text: str, rules: tuple[PatternRule, ...]) -> list[_Hit]:
    return [
        _Hit(r.id, m.start(), m.end(), m.group()) for r in rules for m in r.pattern.finditer(text)
    ]


def _where(primary_len_iv: int, pos: int) -> str:
    return "intervention" if pos < primary_len_iv else "title"


def _indications(rec: StudyRecord, rules: NKRules) -> tuple[str, ...]:
    text = _SEP.join((*rec.conditions, *rec.keywords, rec.titles))
    found: list[str] = []
    for rule in rules.indications:
        fallback_for = rule.extra.get("fallback_for")
        if fallback_for and any(f in found for f in fallback_for):
            continue
        if rule.pattern.search(text):
            found.append(rule.id)
    return tuple(found) or ("other",)


def _excluded(rec: StudyRecord, rule: str, reason: str, source: str, **kw: Any) -> Classification:
    return Classification(
        nct_id=rec.nct_id,
        is_nk_therapy=False,
        exclusion_rule=rule,
        exclusion_reason=reason,
        exclusion_source=source,
        indications=_indications(rec, nk_rules()),
        record=rec,
        **kw,
    )


def _is_car_t_product(primary: str, hits: list[_Hit], rules: NKRules) -> bool:
    """True when a CAR-T is named as a product (not as a prior therapy)."""
    for hit in hits:
        if hit.rule not in ("car_t", "nkg2d_car_t"):
            continue
        before = primary[max(0, hit.start - 40) : hit.start]
        if not rules.conflict.prior_therapy_cue.search(before):
            return True
    return False


def classify_study(study: Mapping[str, Any] | StudyRecord) -> Classification:
    """Classify one registry record as NK-cell therapy or not, with reasons.

    Parameters
    ----------
    study
        A raw API v2 study record (``{"protocolSection": ...}``) or a parsed
        :class:`StudyRecord`.

    Returns
    -------
    Classification
        Counted trials carry product-type and indication labels; excluded ones carry
        the rule, reason and source of their exclusion.

    Notes
    -----
    Rules: ``nksim/evidence/data/nk_rules.toml``. Sources include evidence.md §1.4
    (the lessons of a hand-adjudicated CAR-NK search) and J Hematol Oncol 2022
    (doi:10.1186/s13045-022-01382-5), which excluded mixed immune-cell products.
    """
    rec = study if isinstance(study, StudyRecord) else parse_study(study)
    rules = nk_rules()

    for design in rules.design_exclusions:
        if rec.study_type == design.study_type:
            return _excluded(rec, design.id, design.reason, design.source)

    iv_text = " ; ".join(i.text for i in rec.interventions)
    primary = iv_text + _SEP + rec.titles
    masked, hits = _mask(primary, rules.lookalikes)
    summary = _SEP.join(p for p in (rec.brief_summary, rec.detailed_description) if p)
    masked_summary, summary_hits = _mask(summary, rules.lookalikes)
    lookalike_ids = tuple(dict.fromkeys(h.rule for h in hits))

    nk_hits = _find(masked, rules.nk_product)
    codes = []
    taken: list[tuple[int, int]] = []
    for pc in rules.product_codes:
        for m in pc.pattern.finditer(masked):
            if any(s <= m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            if pc not in codes:
                codes.append(pc)

    evidence = [f"{_where(len(iv_text), h.start)}: {h.text.strip()!r}" for h in nk_hits]
    evidence += [f"product code {pc.code} ({pc.note})" for pc in codes]
    review: str | None = None
    if not evidence:
        admin = _find(masked_summary, rules.summary_administration)
        if admin:
            evidence = [f"summary: {admin[0].text.strip()!r}"]
            review = "NK-cell product inferred from the summary only; check the interventions"

    if not evidence:
        first = (hits or summary_hits or [None])[0]
        if first is not None:
            rule = next(r for r in rules.lookalikes if r.id == first.rule)
            return _excluded(
                rec,
                rule.id,
                f"{rule.reason} (matched {first.text.strip()!r})",
                rule.source,
                lookalikes=lookalike_ids or (rule.id,),
            )
        return _excluded(rec, NO_NK_PRODUCT, NO_NK_PRODUCT_REASON, "issue #4 inclusion rule")

    conflict = rules.conflict
    if (
        not codes
        and nk_hits
        and _is_car_t_product(primary, hits, rules)
        and all(
            any(
                m.start() <= h.start and h.end <= m.end()
                for m in conflict.car_nk_token.finditer(masked)
            )
            for h in nk_hits
        )
        and not conflict.combination_cue.search(primary)
    ):
        return _excluded(
            rec,
            conflict.id,
            conflict.reason,
            conflict.source,
            lookalikes=lookalike_ids,
            evidence=tuple(evidence),
            review="CAR-T product with CAR-NK wording: check the record by hand",
        )

    product_types = _product_types(rec, masked, masked_summary, primary, codes, rules)
    side = [
        i
        for i in lookalike_ids
        if i in ("cik", "nkt", "gamma_delta_t", "lak", "mixed_immune_cells")
    ]
    if side and review is None:
        review = f"also names look-alike cells ({', '.join(side)}); check which arm gets NK cells"
    return Classification(
        nct_id=rec.nct_id,
        is_nk_therapy=True,
        evidence=tuple(dict.fromkeys(evidence)),
        lookalikes=lookalike_ids,
        product_types=product_types,
        product_codes=tuple(pc.code for pc in codes),
        indications=_indications(rec, rules),
        review=review,
        record=rec,
    )


def _product_types(
    rec: StudyRecord,
    masked: str,
    masked_summary: str,
    primary: str,
    codes: list[Any],
    rules: NKRules,
) -> tuple[str, ...]:
    f = rules.features

    def ids(table: dict[str, PatternRule], text: str) -> set[str]:
        return {k for k, r in table.items() if r.pattern.search(text)}

    donors = ids(rules.donors, masked) or ids(rules.donors, masked_summary)
    materials = ids(rules.materials, masked) or ids(rules.materials, masked_summary)
    materials |= {pc.material for pc in codes if pc.material}
    if any(pc.allogeneic for pc in codes):
        donors.add("allogeneic")

    types: list[str] = []
    if "autologous" in donors:
        types.append("autologous")
    allogeneic = "allogeneic" in donors or "related_donor" in donors
    if "peripheral_blood" in materials and allogeneic:
        types.append("allogeneic_peripheral_blood")
    types += [_MATERIAL_TYPE[m] for m in sorted(materials) if m in _MATERIAL_TYPE]
    if (
        "related_donor" in donors
        and "allogeneic_peripheral_blood" not in types
        and not any(t in types for t in _MATERIAL_TYPE.values())
    ):
        types.append("allogeneic_peripheral_blood")  # related donors give NK cells by apheresis
    if allogeneic and not any(t.startswith("allogeneic") or t == "nk92_cell_line" for t in types):
        types.append("allogeneic_unspecified_source")
    if not types:
        types.append("source_not_stated")

    no_car_masked, _ = _mask(masked, (f["no_car"],))
    code_car = [pc.car for pc in codes if pc.car is not None]
    car = any(code_car) or bool(f["car"].pattern.search(no_car_masked))
    if car:
        types.append("car_nk")
    if f["memory_like"].pattern.search(masked) or f["memory_like"].pattern.search(masked_summary):
        types.append("memory_like")
    if not car and (
        f["engineered_no_car"].pattern.search(masked) or any(pc.engineered for pc in codes)
    ):
        types.append("engineered_no_car")
    if f["antibody_or_engager"].pattern.search(primary):
        types.append("with_antibody_or_engager")
    return tuple(t for t in PRODUCT_TYPES if t in types)


__all__ = ["Classification", "INDICATIONS", "PRODUCT_TYPES", "classify_study"]
