"""The source article, claim by claim: the claims (bundled), verdicts and their evidence.

This module only knows the claims and the shape of a verdict. The runs that produce the
evidence (patrol, assays, trials, ageing cohorts, the registry) are done elsewhere
(``nksim._article_checks``) and handed in as :class:`Finding` objects, so that the
evidence layer stays independent of the simulation.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from nksim.errors import UserError

VERDICTS = ("reproduced", "consistent", "contradicted", "untestable", "not_yet_testable")
VERDICT_LABELS = {
    "en": {"reproduced": "reproduced", "consistent": "consistent", "contradicted": "contradicted",
           "untestable": "untestable", "not_yet_testable": "not yet testable"},
    "zh": {"reproduced": "已复现", "consistent": "一致", "contradicted": "与证据矛盾",
           "untestable": "无法检验", "not_yet_testable": "暂不能检验"},
}


@dataclass(frozen=True)
class Claim:
    """One claim of the article: its id (``B1`` … ``E5``), text and how it is tested."""

    id: str
    topic: str
    claim_en: str
    claim_zh: str
    check: str | None = None
    untestable: str | None = None
    untestable_zh: str | None = None
    note_en: str | None = None
    note_zh: str | None = None

    def text(self, lang: str) -> str:
        return self.claim_zh if lang == "zh" else self.claim_en

    def note(self, lang: str) -> str | None:
        """The claim list's verification note (e.g. UNVERIFIED), if it has one."""
        return self.note_zh if lang == "zh" else self.note_en


@dataclass(frozen=True)
class Finding:
    """What one nksim check found: a verdict, the evidence in both languages, the command
    that reproduces it, its key numbers and where the numbers came from.

    ``origin`` is ``"live"`` (computed now), ``"cached"`` (an earlier run, dated) or
    ``"data"`` (published numbers bundled with nksim, no simulation). ``source_en`` and
    ``source_zh`` say, in words, where numbers that no command recomputes come from (a
    paper) or what the command needs; ``command`` itself holds only commands.
    """

    verdict: str
    evidence_en: str
    evidence_zh: str
    command: str | None = None
    numbers: Mapping[str, Any] = field(default_factory=dict)
    origin: str = "live"
    date: str | None = None
    source_en: str | None = None
    source_zh: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


def load_claims() -> list[Claim]:
    """The bundled claims of the source article, in the article's order."""
    text = resources.files("nksim.evidence").joinpath("data/article_claims.toml").read_text(
        encoding="utf-8")
    return [Claim(**row) for row in tomllib.loads(text)["claims"]]


def assess(claims: list[Claim], findings: Mapping[str, Finding], lang: str = "en"
           ) -> dict[str, Any]:
    """The ``nksim article --json`` object: ``{"claims": [{"id", "claim", "verdict", …}]}``.

    ``findings`` maps a check name to its :class:`Finding`; a claim whose check found
    nothing is ``not_yet_testable``; a claim with a stated reason is ``untestable``.
    """
    if lang not in ("en", "zh"):
        raise UserError(f"must be 'en' or 'zh' (got {lang!r})", field="--lang")
    rows = []
    for claim in claims:
        row: dict[str, Any] = {"id": claim.id, "topic": claim.topic, "claim": claim.text(lang),
                               "note": claim.note(lang)}
        if claim.untestable:
            row.update(verdict="untestable", evidence=_untestable(claim, lang), command=None,
                       numbers={}, origin="data", date=None, source=None)
        else:
            found = findings.get(claim.check or "")
            if found is None:
                row.update(verdict="not_yet_testable", command=None, numbers={},
                           origin=None, date=None, source=None,
                           evidence=("nksim 尚无可检验此说法的模型或运行结果" if lang == "zh" else
                                     "nksim has no model or run that tests this claim yet"))
            else:
                row.update(verdict=found.verdict, command=found.command,
                           numbers=dict(found.numbers), origin=found.origin, date=found.date,
                           evidence=found.evidence_zh if lang == "zh" else found.evidence_en,
                           source=found.source_zh if lang == "zh" else found.source_en)
        row["verdict_label"] = VERDICT_LABELS[lang][row["verdict"]]
        rows.append(row)
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return {"language": lang, "counts": counts, "claims": rows,
            "notice": ("仅供研究使用:nksim 是模拟工具,不提供医疗建议。" if lang == "zh" else
                       "Research use only: nksim simulates; it does not advise patients.")}


def _untestable(claim: Claim, lang: str) -> str:
    if lang == "zh":
        return claim.untestable_zh or "无法用模拟检验"
    return claim.untestable or "no simulation can test this claim"
