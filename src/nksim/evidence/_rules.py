"""Loading the rule tables in ``nksim/evidence/data/*.toml``.

The tables are data, not code, so that a reader can check every rule against its
source; this module only reads them, checks their shape and compiles the patterns.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

FLAGS = re.IGNORECASE | re.UNICODE
SEVERITIES = ("high", "medium", "low")


def _compile(pattern: str, where: str, flags: int = FLAGS) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:  # a broken table is a bug in nksim, not a user error
        raise ValueError(f"{where}: bad regular expression: {exc}") from exc


_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


class LazyPattern:
    """A regular expression compiled when first used: a text is searched only with the
    patterns whose literals it contains (the prefilter's plans, read from a cache, say
    which without compiling), and compiling all of the claim rules' patterns costs about
    0.06 s a process. ``pattern`` and ``flags`` are those of :func:`re.compile`."""

    __slots__ = ("_compiled", "flags", "pattern", "where")

    def __init__(self, pattern: str, where: str, flags: int = FLAGS) -> None:
        self.pattern = pattern
        self.where = where
        self._compiled: re.Pattern[str] | None = None
        # the flags re.compile records: these, and those a pattern opens with, e.g. (?s)
        self.flags = flags | re.UNICODE
        if _GLOBAL_FLAGS.match(pattern):
            self.flags = self.compiled.flags

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = _compile(self.pattern, self.where, self.flags)
        return self._compiled

    def finditer(
        self, text: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(text, pos, endpos)

    def __eq__(self, other: object) -> bool:  # as re.Pattern: by pattern and flags
        if not isinstance(other, LazyPattern):
            return NotImplemented
        return (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


def _load(name: str) -> dict[str, Any]:
    with resources.files("nksim.evidence").joinpath("data", name).open("rb") as fh:
        return tomllib.load(fh)


# ---------------------------------------------------------------- NK classifier


@dataclass(frozen=True)
class PatternRule:
    """One named pattern with the reason and source it reports."""

    id: str
    pattern: re.Pattern[str]
    reason: str = ""
    source: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductCode:
    """A product code whose records may never say "NK" or "CAR"."""

    code: str
    pattern: re.Pattern[str]
    material: str | None
    car: bool | None
    engineered: bool
    allogeneic: bool
    note: str
    source: str


@dataclass(frozen=True)
class DesignExclusion:
    id: str
    study_type: str
    reason: str
    source: str


@dataclass(frozen=True)
class ConflictRule:
    id: str
    car_nk_token: re.Pattern[str]
    combination_cue: re.Pattern[str]
    prior_therapy_cue: re.Pattern[str]
    reason: str
    source: str


@dataclass(frozen=True)
class NKRules:
    """The whole NK classification table (``data/nk_rules.toml``)."""

    version: str
    design_exclusions: tuple[DesignExclusion, ...]
    lookalikes: tuple[PatternRule, ...]
    nk_product: tuple[PatternRule, ...]
    summary_administration: tuple[PatternRule, ...]
    conflict: ConflictRule
    product_codes: tuple[ProductCode, ...]
    features: dict[str, PatternRule]
    donors: dict[str, PatternRule]
    materials: dict[str, PatternRule]
    indications: tuple[PatternRule, ...]


def _pattern_rules(items: list[dict[str, Any]], section: str) -> tuple[PatternRule, ...]:
    rules = []
    for i, item in enumerate(items):
        where = f"nk_rules.toml [{section}] #{i + 1} ({item.get('id', '?')})"
        if "id" not in item or "pattern" not in item:
            raise ValueError(f"{where}: needs id and pattern")
        known = {"id", "pattern", "reason", "source", "examples", "counterexamples"}
        rules.append(
            PatternRule(
                id=item["id"],
                pattern=_compile(item["pattern"], where),
                reason=item.get("reason", ""),
                source=item.get("source", ""),
                examples=tuple(item.get("examples", ())),
                counterexamples=tuple(item.get("counterexamples", ())),
                extra={k: v for k, v in item.items() if k not in known},
            )
        )
    return tuple(rules)


@lru_cache(maxsize=1)
def nk_rules() -> NKRules:
    """The NK classification rules, loaded and compiled once."""
    data = _load("nk_rules.toml")
    lookalikes = _pattern_rules(data["lookalike"], "lookalike")
    for rule in lookalikes:
        if not rule.reason or not rule.source:
            raise ValueError(f"nk_rules.toml lookalike {rule.id}: needs reason and source")
    c = data["conflict"][0]
    codes = tuple(
        ProductCode(
            code=item["code"],
            pattern=_compile(item["pattern"], f"product_code {item['code']}"),
            material=item.get("material"),
            car=item.get("car"),
            engineered=bool(item.get("engineered", False)),
            allogeneic=bool(item.get("allogeneic", False)),
            note=item.get("note", ""),
            source=item["source"],
        )
        for item in data["product_code"]
    )
    return NKRules(
        version=data["version"],
        design_exclusions=tuple(DesignExclusion(**item) for item in data["design_exclusion"]),
        lookalikes=lookalikes,
        nk_product=_pattern_rules(data["nk_product"], "nk_product"),
        summary_administration=_pattern_rules(
            data["nk_summary_administration"], "nk_summary_administration"
        ),
        conflict=ConflictRule(
            id=c["id"],
            car_nk_token=_compile(c["car_nk_token"], "conflict.car_nk_token"),
            combination_cue=_compile(c["combination_cue"], "conflict.combination_cue"),
            prior_therapy_cue=_compile(c["prior_therapy_cue"], "conflict.prior_therapy_cue"),
            reason=c["reason"],
            source=c["source"],
        ),
        product_codes=codes,
        features={r.id: r for r in _pattern_rules(data["feature"], "feature")},
        donors={r.id: r for r in _pattern_rules(data["donor"], "donor")},
        materials={r.id: r for r in _pattern_rules(data["material"], "material")},
        indications=_pattern_rules(data["indication"], "indication"),
    )


# ---------------------------------------------------------------- claim checker


@dataclass(frozen=True)
class ClaimRule:
    """One red-flag rule for marketing claims (``data/claim_rules.toml``)."""

    id: str
    severity: str
    title_en: str
    title_zh: str
    reason_en: str
    reason_zh: str
    sources: tuple[str, ...]
    patterns: tuple[LazyPattern, ...]
    detector: str | None = None
    hedge: bool = False
    requires_cell_context: bool = False
    requires_selling: bool = False
    unless: re.Pattern[str] | None = None
    near: re.Pattern[str] | None = None
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovedUse:
    product: str
    indication: re.Pattern[str]
    source: str
    note: str
    note_zh: str


@dataclass(frozen=True)
class ClaimRules:
    """The whole claim-checker table."""

    version: str
    sources: dict[str, str]
    rules: tuple[ClaimRule, ...]
    approved_uses: tuple[ApprovedUse, ...]
    products: dict[str, re.Pattern[str]]
    unapproved_indications: re.Pattern[str]
    treat_verbs: re.Pattern[str]
    disease_groups: dict[str, re.Pattern[str]]
    context: dict[str, re.Pattern[str]]
    sources_zh: dict[str, str] = field(default_factory=dict)

    def rule(self, rule_id: str) -> ClaimRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def source_text(self, rule: ClaimRule, lang: str = "en", ids: tuple[str, ...] = ()) -> str:
        """The rule's sources (or the given ``ids``) as one string in ``lang``."""
        names = self.sources_zh if lang == "zh" else self.sources
        sep = "；" if lang == "zh" else "; "
        return sep.join(names.get(s, self.sources[s]) for s in (ids or rule.sources))


_DETECTORS = {"many_diseases", "approval", "unapproved_indication", "phase_claim"}
CONTEXT_KEYS = (
    "negator_en",
    "negator_zh",
    "false_negator_zh",
    "negative_phrase",
    "conjunction",
    "cue",
    "first_person",
    "second_person",
    "hedge",
    "research",
    "proof",
    "cell_context",
    "sales",
    "prohibition",
    "reporting_verb",
    "price",
    "doubt",
)


@lru_cache(maxsize=1)
def claim_rules() -> ClaimRules:
    """The claim-checker rules, loaded and compiled once."""
    data = _load("claim_rules.toml")
    sources = dict(data["sources"])
    rules = []
    for item in data["rule"]:
        where = f"claim_rules.toml rule {item.get('id', '?')}"
        for key in ("id", "severity", "title_en", "title_zh", "reason_en", "reason_zh", "sources"):
            if not item.get(key):
                raise ValueError(f"{where}: missing {key}")
        if item["severity"] not in SEVERITIES:
            raise ValueError(f"{where}: severity must be one of {SEVERITIES}")
        unknown = [s for s in item["sources"] if s not in sources]
        if unknown:
            raise ValueError(f"{where}: unknown sources {unknown}")
        detector = item.get("detector")
        if detector is not None and detector not in _DETECTORS:
            raise ValueError(f"{where}: unknown detector {detector!r}")
        if not item.get("patterns") and detector is None:
            raise ValueError(f"{where}: needs patterns or a detector")
        rules.append(
            ClaimRule(
                id=item["id"],
                severity=item["severity"],
                title_en=item["title_en"],
                title_zh=item["title_zh"],
                reason_en=item["reason_en"],
                reason_zh=item["reason_zh"],
                sources=tuple(item["sources"]),
                patterns=tuple(LazyPattern(p, where) for p in item.get("patterns", ())),
                detector=detector,
                hedge=bool(item.get("hedge", False)),
                requires_cell_context=bool(item.get("requires_cell_context", False)),
                requires_selling=bool(item.get("requires_selling", False)),
                unless=_compile(item["unless"], where) if item.get("unless") else None,
                near=_compile(item["near"], where) if item.get("near") else None,
                examples=tuple(item.get("examples", ())),
                counterexamples=tuple(item.get("counterexamples", ())),
            )
        )
    products = {k: _compile(v, f"products.{k}") for k, v in data["products"].items()}
    approved = tuple(
        ApprovedUse(
            product=item["product"],
            indication=_compile(item["indication"], "approved_use"),
            source=item["source"],
            note=item["note"],
            note_zh=item["note_zh"],
        )
        for item in data["approved_use"]
    )
    for use in approved:
        if use.product not in products:
            raise ValueError(f"approved_use: unknown product family {use.product!r}")
    return ClaimRules(
        version=data["version"],
        sources=sources,
        rules=tuple(rules),
        approved_uses=approved,
        products=products,
        unapproved_indications=_compile(
            data["unapproved_indications"]["pattern"], "unapproved_indications"
        ),
        treat_verbs=_compile(data["unapproved_indications"]["treat_verbs"], "treat_verbs"),
        disease_groups={
            k: _compile(v, f"disease_groups.{k}") for k, v in data["disease_groups"].items()
        },
        context=_context(data["context"]),
        sources_zh=dict(data.get("sources_zh", {})),
    )


def _context(table: dict[str, str]) -> dict[str, re.Pattern[str]]:
    missing = [k for k in CONTEXT_KEYS if k not in table]
    if missing:
        raise ValueError(f"claim_rules.toml [context]: missing {missing}")
    return {k: _compile(table[k], f"context.{k}") for k in CONTEXT_KEYS}
