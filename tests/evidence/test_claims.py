"""The red-flag claim checker: rule-table examples, verdict logic, context handling,
landscape cross-checks, and precision/recall on the labelled (constructed) claim sets."""

from __future__ import annotations

import json
import re

import pytest

from nksim.evidence import (
    DataSource,
    build_landscape,
    check_claim,
    detect_language,
    evaluate_claims,
    load_labelled_claims,
)
from nksim.evidence._claims import _PRODUCT_NAME, Flag, _verdict
from nksim.evidence._rules import claim_rules

from .conftest import make_study

RULES = claim_rules().rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples_and_counterexamples(rule):
    for text in rule.examples:
        assert rule.id in {f.rule for f in check_claim(text).flags}, (
            f"{rule.id} should flag {text!r}"
        )
    for text in rule.counterexamples:
        assert rule.id not in {f.rule for f in check_claim(text).flags}, (
            f"{rule.id} should not flag {text!r}"
        )


def test_every_rule_names_a_source_and_both_languages():
    table = claim_rules()
    for rule in RULES:
        assert table.source_text(rule)
        assert rule.reason_en and rule.reason_zh and rule.title_en and rule.title_zh


@pytest.mark.parametrize(
    ("severities", "verdict"),
    [
        ([], "no_red_flags"),
        (["low"], "caution"),
        (["medium"], "caution"),
        (["medium", "low"], "caution"),
        (["high"], "likely_scam"),
        (["medium", "medium2"], "likely_scam"),
    ],
)
def test_verdict_logic(severities, verdict):
    flags = [
        Flag(
            rule=s, title="", span="", start=0, end=0, severity=s.rstrip("2"), source="", reason=""
        )
        for s in severities
    ]
    assert _verdict(flags) == verdict


def test_two_matches_of_one_medium_rule_stay_caution():
    result = check_claim("逆龄！NK细胞让您返老还童")
    assert [f.rule for f in result.flags] == ["anti_ageing"] and result.verdict == "caution"
    assert result.flags[0].count == 2  # one rule matched twice is reported once


def test_flags_carry_span_source_severity():
    result = check_claim("Our NK cell infusion is 100% safe.")
    (flag,) = [f for f in result.flags if f.rule == "absolute_safety"]
    assert flag.span == "100% safe" and flag.severity == "high"
    assert "ISSCR" in flag.source and "China" not in flag.source  # not about China
    about_china = check_claim("Our clinic in Shanghai, China: NK cell infusion, 100% safe.")
    china_flag = next(f for f in about_china.flags if f.rule == "absolute_safety")
    assert "China National Health Commission" in china_flag.source
    assert "Our NK cell infusion is 100% safe."[flag.start : flag.end] == flag.span


def test_full_width_text_is_normalised_but_spans_are_original():
    text = "ＮＫ细胞回输，１００％安全！"
    result = check_claim(text)
    flag = next(f for f in result.flags if f.rule == "absolute_safety")
    assert flag.span == "１００％安全" == text[flag.start : flag.end]


def test_cells_nk_or_therapy_alone_are_not_red_flags():
    for text in (
        "NK cell therapy",
        "CAR-NK细胞疗法",
        "stem cells",
        "免疫细胞治疗临床试验",
        "natural killer cells and cancer",
    ):
        assert check_claim(text).verdict == "no_red_flags", text


def test_reporting_and_negation_are_not_claims():
    warning = check_claim("凡是宣称“包治百病”“零风险”的，大概率可直接判定为骗局。")
    assert warning.verdict == "no_red_flags"
    assert {s.rule for s in warning.suppressed} >= {"cure_all", "absolute_safety"}
    assert check_claim("No therapy is risk-free.").verdict == "no_red_flags"
    # ... but a sales voice is not a warning, even with a warning word in it
    assert (
        check_claim("Unlike fraudulent clinics, our therapy is 100% safe.").verdict == "likely_scam"
    )


def test_fda_approved_car_t_for_lymphoma_in_news_is_not_flagged():
    news = "The FDA approved the CAR-T therapy Yescarta for large B-cell lymphoma in 2017."
    result = check_claim(news)
    assert result.verdict == "no_red_flags"
    assert any("approved use" in s.why for s in result.suppressed)


@pytest.mark.parametrize(
    "text",
    [
        "FDA-approved NK cell therapy for lymphoma",  # no NK product is approved anywhere
        "FDA-approved CAR-T for lupus and autism",  # CAR-T, but not for these uses
        "FDA approved stem cell injections for knee pain",
    ],
)
def test_false_approval_claims_are_high_severity(text):
    result = check_claim(text)
    flag = next(f for f in result.flags if f.rule == "false_approval")
    assert flag.severity == "high" and result.verdict == "likely_scam"


def test_approval_explanations_name_products_in_the_language_of_the_text():
    en = check_claim("FDA-approved CAR-T for lupus and autism")
    (flag,) = [f for f in en.flags if f.rule == "false_approval"]
    assert "(CAR-T cells)" in flag.detail and "car_t" not in en.explanation
    zh = check_claim("美国FDA批准的干细胞疗法，可治疗膝关节炎。")
    (flag,) = [f for f in zh.flags if f.rule == "false_approval"]
    assert flag.detail == "此用途（干细胞）未见任何获批记录"  # not the family key stem_cell
    # an approved use named in a Chinese text is explained in Chinese, note included
    news = check_claim("阿基仑赛注射液（CAR-T细胞）已获国家药监局批准上市，用于治疗大B细胞淋巴瘤。")
    (why,) = {s["why"] for s in news.to_dict()["suppressed"] if s["rule"] == "false_approval"}
    assert why.startswith("已获批的用途：") and not re.search(r"[a-z]{3}", why)


def test_every_product_family_has_a_name_in_both_languages():
    families = set(claim_rules().products)
    assert set(_PRODUCT_NAME["en"]) == set(_PRODUCT_NAME["zh"]) == families
    assert all(use.note_zh for use in claim_rules().approved_uses)


def test_language_detection_and_explanations():
    assert detect_language("包治百病") == "zh" and detect_language("cures all diseases") == "en"
    assert detect_language("NK细胞回输") == "zh"
    zh = check_claim("包治百病")
    assert zh.language == "zh" and "很可能是骗局" in zh.explanation and "包治百病" in zh.explanation
    en = check_claim("Cures all diseases!", language="en")
    assert en.explanation.startswith("Likely scam") and "clinicaltrials.gov" in en.explanation
    assert "does not mean the treatment works" in check_claim("hello").explanation


def test_json_shape():
    d = json.loads(json.dumps(check_claim("绝对安全，一针见效").to_dict()))
    assert d["verdict"] in ("likely_scam", "caution", "no_red_flags")
    for f in d["flags"]:
        assert {"rule", "span", "source", "severity"} <= set(f)
    assert isinstance(d["explanation"], str) and d["explanation"]


# ------------------------------------------------------------ landscape cross-check


def _landscape(phase3: bool):
    nk = [("BIOLOGICAL", "Allogeneic NK cells")]
    records = [
        make_study("NCT98500001", interventions=nk, phases=["PHASE1"]),
        make_study("NCT98500002", interventions=nk, phases=["PHASE3" if phase3 else "PHASE2"]),
    ]
    return build_landscape(records, source=DataSource(kind="snapshot", data_timestamp="2025-01-01"))


def test_claimed_phase_is_checked_against_the_landscape():
    text = "Our NK cell therapy is already in phase III trials."
    assert check_claim(text).verdict == "no_red_flags"  # nothing to check against
    assert "not checked" in check_claim(text).cross_check["phase"]
    flagged = check_claim(text, landscape=_landscape(phase3=False))
    assert [f.rule for f in flagged.flags] == ["claimed_phase"] and flagged.verdict == "caution"
    assert "holds no NK trial in phase III or IV" in flagged.flags[0].detail
    ok = check_claim(text, landscape=_landscape(phase3=True))
    assert ok.verdict == "no_red_flags" and "holds 1 NK trial" in ok.cross_check["phase"]


def test_cited_trial_is_looked_up():
    land = _landscape(phase3=False)
    result = check_claim("Our NK therapy (NCT98500001) is a phase 3 trial.", landscape=land)
    assert any(f.rule == "claimed_phase" and "NCT98500001" in f.detail for f in result.flags)
    assert "phase 1, status recruiting" in result.cross_check["phase"]  # labels, not enums
    zh = check_claim("本院NK细胞疗法（NCT98500001）已进入III期临床试验。", landscape=land)
    assert "I期" in zh.cross_check["phase"] and "PHASE" not in zh.cross_check["phase"]
    unknown = check_claim("See trial NCT98599999, phase 3.", landscape=land)
    assert "not in the stored landscape" in unknown.cross_check["phase"]


def test_approval_claims_report_the_landscape():
    result = check_claim("FDA-approved NK cell infusions", landscape=_landscape(phase3=False))
    assert "'approved for marketing'" in result.cross_check["approval"]


def test_a_landscape_loader_is_called_once_and_only_when_needed():
    """``landscape`` may be a function that loads one (the command line's stored
    landscape): the result is the one the landscape itself gives, and the loader is not
    called for a text that claims no phase, cites no trial and claims no approval."""
    calls = []

    def load():
        calls.append(1)
        return _landscape(phase3=False)

    for text in ("Our NK therapy (NCT98500001) is a phase 3 trial.",
                 "FDA-approved NK cell infusions"):
        calls.clear()
        lazy = check_claim(text, landscape=load)
        assert lazy.to_dict() == check_claim(text, landscape=_landscape(phase3=False)).to_dict()
        assert calls == [1]
    calls.clear()
    assert check_claim("NK cells patrol the blood.", landscape=load).verdict == "no_red_flags"
    assert calls == []


# ------------------------------------------------------------ precision / recall


def test_labelled_sets_are_constructed_balanced_and_bilingual():
    for name in ("dev", "heldout1", "heldout2", "heldout3"):
        claims = load_labelled_claims(name)
        assert {c.lang for c in claims} == {"en", "zh"}
        assert {c.label for c in claims} == {"red_flag", "legitimate"}
        assert len({c.id for c in claims}) == len(claims)
    total = sum(len(load_labelled_claims(n)) for n in ("dev", "heldout1", "heldout2", "heldout3"))
    assert total >= 60


@pytest.mark.parametrize("name", ["dev", "heldout1", "heldout2"])
def test_development_sets(name):
    """Sets the rules were tuned on: high scores are expected, not evidence of quality."""
    ev = evaluate_claims(name)
    assert ev.precision >= 0.95 and ev.recall >= 0.95, ev.to_dict()


def test_heldout_set_floor():
    """Held-out set 3 was written after the rules were frozen. Measured for rules v2025.3:
    precision 0.86, recall 0.30 (see docs/evidence.md). This floor only guards against
    regressions; it is not a claim of quality."""
    ev = evaluate_claims("heldout3")
    assert ev.precision >= 0.8 and ev.recall >= 0.25, ev.to_dict()
