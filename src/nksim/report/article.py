"""The article checked claim by claim, as an HTML page a journalist can read."""

from __future__ import annotations

from typing import Any

from nksim.report._render import render

_TEXT = {
    "en": {
        "title": "The article, claim by claim",
        "intro": ("Every claim of the newspaper feature “From the fight against cancer to the "
                  "search against ageing: how far has NK cell therapy come?”, with the nksim "
                  "run or published data behind it and a verdict."),
        "claim": "claim", "verdict": "verdict", "evidence": "evidence", "command": "reproduce with",
        "origins": {"live": "run", "cached": "cached run of", "data": "published data"},
        "topics": {"biology": "NK-cell biology", "therapy": "Therapies",
                   "lupus": "Childhood lupus", "ageing": "Ageing", "evidence": "Evidence and safety"},
        "legend": ("reproduced: nksim produces the claimed behaviour or number; consistent: "
                   "nksim's results agree without testing it independently; contradicted: the "
                   "evidence disagrees; untestable: no simulation can test it (reason given); "
                   "not yet testable: nksim lacks the model or the model is known to be wrong "
                   "here."),
    },
    "zh": {
        "title": "逐条核查报道中的说法",
        "intro": ("报道《从抗癌攻坚到抗衰探索——NK细胞疗法走到了哪一步》中的每一条说法,"
                  "附上 nksim 的运行结果或已发表的数据,以及结论。"),
        "claim": "说法", "verdict": "结论", "evidence": "依据", "command": "复现命令",
        "origins": {"live": "运行于", "cached": "缓存的运行结果,日期", "data": "已发表数据"},
        "topics": {"biology": "NK 细胞生物学", "therapy": "疗法", "lupus": "儿童狼疮",
                   "ageing": "衰老", "evidence": "证据与安全"},
        "legend": ("已复现:nksim 得出所述的行为或数字;一致:nksim 的结果与之相符但未独立检验;"
                   "与证据矛盾:证据与之不符;无法检验:模拟无法检验(附理由);"
                   "暂不能检验:nksim 尚无相应模型,或该处模型已知有误。"),
    },
}


def render_article(assessment: dict[str, Any]) -> str:
    """The HTML page of an :func:`nksim.evidence.assess` result."""
    lang = assessment["language"]
    from nksim.evidence._article import VERDICT_LABELS

    topics: dict[str, list[dict[str, Any]]] = {}
    for row in assessment["claims"]:
        topics.setdefault(row["topic"], []).append(row)
    return render("article.html", t=_TEXT[lang], counts=assessment["counts"],
                  labels=VERDICT_LABELS[lang], topics=list(topics.items()),
                  notice=assessment["notice"])
