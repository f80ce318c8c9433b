"""The red-flag claim checker for cell-therapy marketing (English and Chinese).

Rules, with their sources, are in ``data/claim_rules.toml`` (regulators' warning
signs: FDA consumer update 2021, ISSCR handbook, China NHC 2025-12-05, Advertising Law
art. 16; evidence.md §4). This module finds matches, drops the ones whose context shows
the text reports or denies the claim rather than making it, and turns the rest into a
verdict and a plain-language explanation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._rules import ClaimRule, ClaimRules, claim_rules

if TYPE_CHECKING:  # pragma: no cover
    from ._landscape import Landscape

VERDICTS = ("likely_scam", "caution", "no_red_flags")

_I = re.IGNORECASE
# sentence ends: Chinese full stops always; Latin ones when followed by space or the end
_SENTENCE_END = re.compile(r"[。！？!?\n]+|\.(?=\s|$)|…+")
# '、' only enumerates in Chinese ("癌症、老年痴呆"), so it does not end a clause
_CLAUSE_BREAK = re.compile(
    r"[,，;；:：]|——|—|–|\s-\s|\bbut\b|\bhowever\b|\bunlike\b|但是|但|然而|不过", _I
)


def _cx(name: str) -> re.Pattern[str]:
    """A context lexicon of ``claim_rules.toml`` ([context] table)."""
    return claim_rules().context[name]


_NCT = re.compile(r"\bNCT\d{8}\b", _I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Flag:
    """One red flag: the rule, the matched text (``span``), its source and severity."""

    rule: str
    title: str
    span: str
    start: int
    end: int
    severity: str
    source: str
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {
            "rule": self.rule,
            "span": self.span,
            "source": self.source,
            "severity": self.severity,
            "title": self.title,
            "reason": self.reason,
            "start": self.start,
            "end": self.end,
        }
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass(frozen=True)
class Suppressed:
    """A match that was not flagged, and why (reported, denied, hedged...)."""

    rule: str
    span: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "span": self.span, "why": self.why}


@dataclass(frozen=True)
class ClaimCheck:
    """The result of :func:`check_claim`."""

    verdict: str
    flags: tuple[Flag, ...]
    explanation: str
    language: str
    suppressed: tuple[Suppressed, ...] = ()
    cross_check: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.verdict != "no_red_flags"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed by ``nksim check-claim --json``."""
        return {
            "verdict": self.verdict,
            "flags": [f.to_dict() for f in self.flags],
            "explanation": self.explanation,
            "language": self.language,
            "suppressed": [s.to_dict() for s in self.suppressed],
            "cross_check": self.cross_check,
            "rules_version": claim_rules().version,
            "disclaimer": (
                "nksim looks for warning signs named by regulators; it is not medical or legal "
                "advice and cannot prove that an offer is honest."
            ),
        }


# ---------------------------------------------------------------- text helpers


def _normalise(text: str) -> str:
    """NFKC per character where that keeps the length (full-width to ASCII), so offsets hold."""
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


def _spans(
    text: str, breaker: re.Pattern[str], start: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    spans = []
    pos = start
    for m in breaker.finditer(text, start, end):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return spans or [(start, end)]


def _enclosing(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for s, e in spans:
        if s <= pos < e:
            return s, e
    # pos on a break character: take the nearest span before it
    before = [sp for sp in spans if sp[0] <= pos]
    return before[-1] if before else spans[0]


def detect_language(text: str) -> str:
    """``"zh"`` when Chinese characters dominate, else ``"en"``."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk * 3 >= latin else "en"


@dataclass
class _Context:
    text: str
    sentences: list[tuple[int, int]]

    def sentence(self, pos: int) -> tuple[int, int]:
        return _enclosing(self.sentences, pos)

    def clause(self, pos: int) -> tuple[int, int]:
        s, e = self.sentence(pos)
        return _enclosing(_spans(self.text, _CLAUSE_BREAK, s, e), pos)

    def window(self, pos: int, radius: int = 1) -> str:
        """The sentence around ``pos`` with ``radius`` sentences either side."""
        idx = self.sentences.index(self.sentence(pos))
        lo = max(0, idx - radius)
        hi = min(len(self.sentences) - 1, idx + radius)
        return self.text[self.sentences[lo][0] : self.sentences[hi][1]]


def _why_suppressed(ctx: _Context, start: int, end: int, rule: ClaimRule) -> str | None:
    text = ctx.text
    s_start, s_end = ctx.sentence(start)
    sentence = text[s_start:s_end]
    c_start, _ = ctx.clause(start)
    before = text[c_start:start]

    # (a) negation just before the match, in the same clause. When the match is itself
    # a negative phrase ("no side effects") and a conjunction separates it from an earlier
    # negator ("no downtime and no side effects"), that negator starts a parallel claim.
    window = " ".join(before.split()[-8:])
    zh_window = _cx("false_negator_zh").sub("  ", before)
    parallel = bool(_cx("negative_phrase").match(text[start:end]))
    for rx, scope in ((_cx("negator_en"), window), (_cx("negator_zh"), zh_window)):
        for m in rx.finditer(scope):
            if parallel and _cx("conjunction").search(scope[m.end() :]):
                continue
            return f"negated ({m.group()!r} before it)"

    # (b) the sentence warns against or reports the claim, and does not sell
    cue = _cx("cue").search(sentence)
    if cue and not _cx("first_person").search(sentence):
        return f"reported or warned against ({cue.group()!r} in the sentence)"

    # (c) hedged, asked or research statements, for rules about promises of effect
    if rule.hedge:
        if text[s_end : s_end + 1] in ("?", "？") or sentence.rstrip().endswith(("吗", "?", "？")):
            return "asked, not claimed (a question)"
        c_s, c_e = ctx.clause(start)
        m = _cx("hedge").search(text[c_s:c_e])
        if m:
            return f"hedged ({m.group()!r})"
        m = _cx("research").search(sentence)
        if (
            m
            and not _cx("first_person").search(sentence)
            and not _cx("second_person").search(sentence)
            and not _cx("proof").search(sentence)
        ):
            return f"research context ({m.group()!r})"

    # (d) rule-specific exception
    if rule.unless is not None:
        m = rule.unless.search(sentence)
        if m:
            return f"exception for this rule ({m.group()!r})"
    return None


# ---------------------------------------------------------------- detectors


def _pattern_matches(rule: ClaimRule, text: str) -> Iterator[tuple[int, int, str]]:
    for pattern in rule.patterns:
        for m in pattern.finditer(text):
            if m.group().strip():
                yield m.start(), m.end(), ""


def _many_diseases(ctx: _Context, rules: ClaimRules) -> Iterator[tuple[int, int, str]]:
    for s, e in ctx.sentences:
        sentence = ctx.text[s:e]
        found = {}
        for group, rx in rules.disease_groups.items():
            m = rx.search(sentence)
            if m:
                found[group] = m
        if len(found) >= 3 and rules.treat_verbs.search(sentence):
            lo = min(m.start() for m in found.values())
            hi = max(m.end() for m in found.values())
            yield s + lo, s + hi, f"{len(found)} unrelated conditions: {', '.join(sorted(found))}"


def _unapproved_indication(ctx: _Context, rules: ClaimRules) -> Iterator[tuple[int, int, str]]:
    product_rx = [
        rules.products[k]
        for k in ("nk", "stem_cell", "cord_blood", "other_unapproved", "generic_cell")
    ]
    for s, e in ctx.sentences:
        sentence = ctx.text[s:e]
        if not any(rx.search(sentence) for rx in product_rx):
            continue
        verb = rules.treat_verbs.search(sentence)
        ind = rules.unapproved_indications.search(sentence)
        if verb and ind:
            yield (
                s + ind.start(),
                s + ind.end(),
                f"offered treatment ({verb.group()!r}) for {ind.group()!r}",
            )


def _approval_products(window: str, rules: ClaimRules) -> set[str]:
    return {name for name, rx in rules.products.items() if rx.search(window)}


def _approval(
    ctx: _Context, rule: ClaimRule, rules: ClaimRules, suppressed: list[Suppressed]
) -> Iterator[tuple[int, int, str]]:
    for start, end, _ in _pattern_matches(rule, ctx.text):
        window = ctx.window(start)
        families = _approval_products(window, rules)
        if "nk" in families:
            yield start, end, "no NK-cell or CAR-NK product is approved anywhere (article E2)"
            continue
        approved = [
            use
            for use in rules.approved_uses
            if use.product in families and use.indication.search(window)
        ]
        if approved:
            suppressed.append(
                Suppressed(rule.id, ctx.text[start:end], f"approved use: {approved[0].note}")
            )
            continue
        if families or _cx("cell_context").search(ctx.text):
            named = ", ".join(sorted(families)) or "cell product"
            yield start, end, f"no approval is known for this use ({named})"


# ---------------------------------------------------------------- landscape cross-check


def _phase_claim(
    ctx: _Context,
    rule: ClaimRule,
    rules: ClaimRules,
    landscape: Landscape | None,
    cross: dict[str, Any],
) -> Iterator[tuple[int, int, str]]:
    matches = list(_pattern_matches(rule, ctx.text))
    cited = list(dict.fromkeys(m.group().upper() for m in _NCT.finditer(ctx.text)))
    if not matches and not cited:
        return
    if landscape is None:
        cross["phase"] = "no stored landscape: the claimed phase or trial was not checked"
        return
    src = landscape.source
    where = f"the stored landscape ({src.data_date or 'date not recorded'}"
    where += ", constructed data)" if src.constructed else ")"
    by_id = {c.nct_id.upper(): c for c in landscape.classifications}
    notes = []
    for nct in cited:
        c = by_id.get(nct)
        if c is None:
            notes.append(f"{nct} is not in {where}")
            continue
        rec = c.record
        phases = "|".join(rec.phases) if rec and rec.phases else "no phase"
        status = rec.overall_status if rec else "?"
        notes.append(f"{nct}: {phases}, status {status}, counted as NK therapy: {c.is_nk_therapy}")
        if matches and rec is not None and not ({"PHASE3", "PHASE4"} & set(rec.phases)):
            m = _NCT.search(ctx.text)
            assert m is not None
            yield m.start(), m.end(), f"{nct} is registered as {phases}, not phase III or IV"
    p34 = landscape.phase3_or_4()
    if matches and not cited and rules.products["nk"].search(ctx.text):
        if not p34:
            s, e, _ = matches[0]
            yield s, e, f"{where} holds no NK trial in phase III or IV"
        else:
            notes.append(
                f"{where} holds {len(p34)} NK trial(s) in phase III or IV; "
                "check the product is one of them"
            )
    cross["phase"] = "; ".join(notes) if notes else f"checked against {where}"


# ---------------------------------------------------------------- main entry


def check_claim(
    text: str,
    *,
    landscape: Landscape | None = None,
    language: str | None = None,
) -> ClaimCheck:
    """Check a marketing text for the warning signs regulators name.

    Parameters
    ----------
    text
        The claim, in English, Chinese or both.
    landscape
        A stored landscape to cross-check claimed phases, cited NCT IDs and approvals.
    language
        ``"en"`` or ``"zh"`` for the explanation (default: detected from the text).

    Returns
    -------
    ClaimCheck
        ``verdict`` is ``likely_scam`` (any high-severity flag, or flags from two or
        more different medium rules), ``caution`` (any other flag) or ``no_red_flags``.

    Notes
    -----
    Sources: FDA consumer update 2021-06-03; ISSCR Patient Handbook; China NHC press
    conference 2025-12-05; China Advertising Law art. 16 (evidence.md §4). Mentioning
    cells, NK cells or therapy is not a red flag by itself.
    """
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    rules = claim_rules()
    norm = _normalise(text)
    ctx = _Context(norm, _spans(norm, _SENTENCE_END))
    lang = language or detect_language(norm)
    if lang not in ("en", "zh"):
        raise ValueError("language must be 'en' or 'zh'")
    has_cell_context = bool(_cx("cell_context").search(norm))
    flags: list[Flag] = []
    suppressed: list[Suppressed] = []
    cross: dict[str, Any] = {}

    for rule in rules.rules:
        if rule.requires_cell_context and not has_cell_context:
            continue
        if rule.detector == "approval":
            candidates = list(_approval(ctx, rule, rules, suppressed))
        elif rule.detector == "phase_claim":
            candidates = list(_phase_claim(ctx, rule, rules, landscape, cross))
        else:
            candidates = list(_pattern_matches(rule, norm))
            if rule.detector == "many_diseases":
                candidates += list(_many_diseases(ctx, rules))
            elif rule.detector == "unapproved_indication":
                candidates += list(_unapproved_indication(ctx, rules))
        taken: list[tuple[int, int]] = []
        for start, end, detail in sorted(candidates, key=lambda c: (c[0], -c[1])):
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            span = text[start:end].strip()
            why = _why_suppressed(ctx, start, end, rule)
            if why:
                suppressed.append(Suppressed(rule.id, span, why))
                continue
            flags.append(
                Flag(
                    rule=rule.id,
                    title=rule.title_zh if lang == "zh" else rule.title_en,
                    span=span,
                    start=start,
                    end=end,
                    severity=rule.severity,
                    source=rules.source_text(rule),
                    reason=rule.reason_zh if lang == "zh" else rule.reason_en,
                    detail=detail,
                )
            )

    if landscape is not None and any(f.rule == "false_approval" for f in flags):
        sig = landscape.approval_signals()
        cross["approval"] = (
            f"{len(landscape.counted)} NK trials in the stored landscape; "
            f"{len(sig['approved_for_marketing_status'])} with status APPROVED_FOR_MARKETING. "
            "A registered trial is research, not an approval."
        )
    flags.sort(key=lambda f: (("high", "medium", "low").index(f.severity), f.start))
    verdict = _verdict(flags)
    return ClaimCheck(
        verdict=verdict,
        flags=tuple(flags),
        explanation=_explain(verdict, flags, lang),
        language=lang,
        suppressed=tuple(suppressed),
        cross_check=cross,
    )


def _verdict(flags: list[Flag]) -> str:
    if any(f.severity == "high" for f in flags):
        return "likely_scam"
    if len({f.rule for f in flags if f.severity == "medium"}) >= 2:
        return "likely_scam"
    return "caution" if flags else "no_red_flags"


_ADVICE_EN = (
    "What to do: no NK-cell or CAR-NK product is approved for sale anywhere (as far as nksim's "
    "sources go), so any offer is research at best. A real clinical trial is registered (ask for "
    "its NCT number and look it up on clinicaltrials.gov), approved by an ethics committee, "
    "explains its risks in writing and does not charge for the experimental treatment. Talk to "
    "the patient's own doctor before paying anything."
)
_ADVICE_ZH = (
    "建议：据nksim掌握的资料，目前没有任何NK细胞或CAR-NK细胞产品获批上市，任何此类项目至多只是研究。"
    "正规临床试验会公开登记（可索要登记号并在clinicaltrials.gov或国家医学研究登记备案信息系统查询）、"
    "经伦理委员会批准、书面告知风险，并且不对试验性治疗收费。付款之前，请先咨询患者自己的主治医生。"
)


def _explain(verdict: str, flags: list[Flag], lang: str) -> str:
    first: dict[str, Flag] = {}
    for f in flags:
        first.setdefault(f.rule, f)
    n = len(first)
    if lang == "zh":
        if verdict == "no_red_flags":
            return (
                "未发现监管部门列举的危险信号。"
                "这并不说明该疗法有效、安全或合法："
                "nksim只检查监管部门点名的警示特征，也可能漏判。"
            )
        head = (
            f"很可能是骗局：这段文字有{n}项监管部门点名的细胞治疗骗局特征："
            if verdict == "likely_scam"
            else f"需要警惕：这段文字有{n}项危险信号。"
            "单凭这一点不能断定是骗局，但付款前务必问清楚："
        )
        items = [f"- {f.title}：“{f.span}”。{f.reason}" for f in first.values()]
        return "\n".join([head, *items, _ADVICE_ZH])
    if verdict == "no_red_flags":
        return (
            "No red flags found. This does not mean the treatment works, is safe or is legal: "
            "nksim only looks for the warning signs that regulators name, and it can miss them."
        )
    signs = f"{n} warning sign{'s' if n != 1 else ''}"
    head = (
        f"Likely scam: this text shows {signs} that regulators link "
        "to unproven cell-therapy offers:"
        if verdict == "likely_scam"
        else f"Caution: this text shows {signs}. On its own this does not prove a scam, "
        "but ask hard questions before paying:"
    )
    items = [f"- {f.title}: \u201c{f.span}\u201d. {f.reason}" for f in first.values()]
    return "\n".join([head, *items, _ADVICE_EN])
