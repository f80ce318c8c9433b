"""The article checked claim by claim: an HTML page a journalist can read, and the plain
text ``nksim article`` prints. Both come from one :func:`nksim.evidence.assess` result."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from nksim.report._render import render

_TEXT = {
    "en": {
        "lang": "en",
        "title": "The article, claim by claim",
        "intro": ("Every claim of the newspaper feature “From the fight against cancer to the "
                  "search against ageing: how far has NK cell therapy come?”, with the nksim "
                  "run or published data behind it and a verdict."),
        "claim": "claim", "verdict": "verdict", "evidence": "evidence", "command": "reproduce with",
        "note": "note", "source": "source",
        "origins": {"live": "run on", "cached": "cached run of", "data": "published data"},
        "topics": {"biology": "NK-cell biology", "therapy": "Therapies",
                   "lupus": "Childhood lupus", "ageing": "Ageing", "evidence": "Evidence and safety"},
        "legend": ("reproduced: nksim produces the claimed behaviour or number without having "
                   "been built or calibrated to it; consistent: nksim's results or the "
                   "published data agree, by a stated rule, but not as an independent test; "
                   "contradicted: the evidence disagrees; untestable: no simulation or data "
                   "nksim holds can test it (reason given); not yet testable: nksim lacks the "
                   "model, the model is known to be wrong here, or its virtual trial is too "
                   "small to decide."),
        "footer": "Made by nksim {nksim} (Python {python}, numpy {numpy}, numba {numba}).",
    },
    "zh": {
        "lang": "zh-CN",
        "title": "逐条核查报道中的说法",
        "intro": ("报道《从抗癌攻坚到抗衰探索——NK细胞疗法走到了哪一步》中的每一条说法,"
                  "附上 nksim 的运行结果或已发表的数据,以及结论。"),
        "claim": "说法", "verdict": "结论", "evidence": "依据", "command": "复现命令",
        "note": "注", "source": "来源",
        "origins": {"live": "运行于", "cached": "缓存的运行结果,日期", "data": "已发表数据"},
        "topics": {"biology": "NK 细胞生物学", "therapy": "疗法", "lupus": "儿童狼疮",
                   "ageing": "衰老", "evidence": "证据与安全"},
        "legend": ("已复现:nksim 得出所述的行为或数字,且模型并非据此构建或校准;一致:按所述规则,"
                   "nksim 的结果或已发表数据与之相符,但不构成独立检验;与证据矛盾:证据与之不符;"
                   "无法检验:模拟或 nksim 所持数据都无法检验(附理由);暂不能检验:nksim 尚无相应模型、"
                   "该处模型已知有误,或虚拟试验规模太小而无法判定。"),
        "footer": "由 nksim {nksim} 生成(Python {python},numpy {numpy},numba {numba})。",
    },
}


def render_article(assessment: dict[str, Any]) -> str:
    """The HTML page of an :func:`nksim.evidence.assess` result."""
    from nksim.evidence._article import VERDICT_LABELS
    from nksim.report._common import versions

    lang = assessment["language"]
    topics: dict[str, list[dict[str, Any]]] = {}
    for row in assessment["claims"]:
        topics.setdefault(row["topic"], []).append(row)
    t = _TEXT[lang]
    return render("article.html", t=t, counts=assessment["counts"],
                  labels=VERDICT_LABELS[lang], topics=list(topics.items()),
                  notice=assessment["notice"], footer=t["footer"].format(**versions()),
                  lang=t["lang"])


def _origin(row: dict[str, Any], lang: str) -> str:
    t = _TEXT[lang]
    if row.get("origin") is None:
        return ""
    words = t["origins"][row["origin"]]
    return f"{words} {row['date']}" if row.get("date") else words


def _key_evidence(text: str, lang: str, limit: int) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters; a first sentence
    longer than that is cut at a word (English) and marked with an ellipsis."""
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z'(])|(?<=。)", text.strip())
    out = ""
    for s in sentences:
        if not s:
            continue
        joined = (out + ("" if lang == "zh" or not out else " ") + s) if out else s
        if len(joined) > limit:
            break
        out = joined
    if out:
        return out
    if lang == "zh":
        return _wrap_wide(text, 2 * limit)[0] + "…"
    return textwrap.shorten(text, width=limit, placeholder=" …")


def _wrap_wide(text: str, width: int) -> list[str]:
    """Lines of ``text`` at most ``width`` terminal columns wide (a Chinese character
    takes two), never breaking inside a run of Latin letters, digits or a command."""
    import unicodedata

    tokens = re.findall(r"[A-Za-z0-9][\w./:%+×⁹–-]*|\s+|.", text)
    lines, line, used = [], "", 0
    for tok in tokens:
        w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in tok)
        if used + w > width and line.strip():
            lines.append(line.rstrip())
            line, used = ("", 0) if tok.isspace() else (tok, w)
            continue
        line, used = line + tok, used + w
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def render_text(assessment: dict[str, Any], width: int = 88) -> str:
    """What plain ``nksim article`` prints: per claim the verdict, the claim (wrapped),
    its note, the key evidence in a line or two, and the command with its origin."""
    lang = assessment["language"]
    t = _TEXT[lang]
    zh = lang == "zh"
    indent = "    "
    # a Chinese character takes two columns in a terminal
    cols = (width - len(indent)) // 2 if zh else width - len(indent)
    lines: list[str] = []

    def wrap(text: str) -> None:
        if zh:
            lines.extend(indent + c for c in _wrap_wide(text, width - len(indent)))
        else:
            lines.extend(textwrap.wrap(text, width=width, initial_indent=indent,
                                       subsequent_indent=indent, break_on_hyphens=False))

    sep = ":" if zh else ": "
    for row in assessment["claims"]:
        lines.append(f"{row['id']}  [{row['verdict_label']}]")
        wrap(row["claim"])
        if row.get("note"):
            wrap(f"({t['note']}{sep}{row['note']})")
        wrap(f"{t['evidence']}{sep}{_key_evidence(row['evidence'], lang, 2 * cols)}")
        if row.get("command"):
            lines.append(f"{indent}{t['command']}{sep}{row['command']}")
        origin = _origin(row, lang)
        if row.get("origin") == "data" and row.get("source"):
            origin = ""  # the source says which published data
        if row.get("source") or origin:
            parts = [p for p in (origin, row.get("source")) if p]
            wrap(("（" if zh else "(") + ("；" if zh else "; ").join(parts) + ("）" if zh else ")"))
        lines.append("")
    lines.append(assessment["notice"])
    return "\n".join(lines)
