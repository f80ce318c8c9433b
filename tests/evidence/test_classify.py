"""The NK classifier: constructed API-shaped cases, the rule table's own examples, and the
22 hand-adjudicated CAR-NK look-alikes of ../shared/data (as far as their notes allow)."""

from __future__ import annotations

import csv
import random

import pytest

from nksim.evidence import INDICATIONS, PRODUCT_TYPES, classify_study, parse_study
from nksim.evidence._classify import _mask
from nksim.evidence._rules import nk_rules

from .conftest import load_fixture, make_study, shared_file

CASES = load_fixture("classification_cases.json")


def test_fixture_says_it_is_constructed():
    assert "CONSTRUCTED" in CASES["_comment"]
    assert all(s["_constructed"] for s in CASES["studies"])


@pytest.mark.parametrize(
    "study",
    CASES["studies"],
    ids=[s["protocolSection"]["identificationModule"]["nctId"] for s in CASES["studies"]],
)
def test_constructed_cases(study):
    expect = study["_expect"]
    c = classify_study(study)
    assert c.is_nk_therapy is expect["counted"], (expect["why"], c)
    if expect["exclusion_rule"]:
        assert c.exclusion_rule == expect["exclusion_rule"]
        assert c.exclusion_reason and c.exclusion_source  # every exclusion explains itself
    else:
        assert c.exclusion_rule is None
    assert set(expect["product_types_include"]) <= set(c.product_types)
    assert set(expect["indications_include"]) <= set(c.indications)
    assert bool(c.review) is expect["review"]


def _rules_with_examples():
    r = nk_rules()
    groups = [
        r.lookalikes,
        r.nk_product,
        r.summary_administration,
        tuple(r.features.values()),
        tuple(r.donors.values()),
        tuple(r.materials.values()),
        r.indications,
    ]
    return [rule for group in groups for rule in group]


@pytest.mark.parametrize("rule", _rules_with_examples(), ids=lambda r: r.id)
def test_rule_table_examples(rule):
    for text in rule.examples:
        assert rule.pattern.search(text), f"{rule.id} should match {text!r}"
    for text in rule.counterexamples:
        assert not rule.pattern.search(text), f"{rule.id} should not match {text!r}"


def test_every_lookalike_names_a_reason_and_source():
    for rule in nk_rules().lookalikes:
        assert rule.reason and rule.source, rule.id


def test_labels_come_from_the_declared_vocabularies():
    for study in CASES["studies"]:
        c = classify_study(study)
        assert set(c.product_types) <= set(PRODUCT_TYPES)
        assert set(c.indications) <= set(INDICATIONS) and c.indications


def test_mentioning_nk_activity_in_a_drug_trial_is_not_nk_therapy():
    study = make_study(
        "NCT98100001",
        title="Lenalidomide and NK Cell Function in Myeloma",
        interventions=[("DRUG", "Lenalidomide")],
        summary="NK cell counts and NK cell cytotoxicity will be measured.",
    )
    c = classify_study(study)
    assert not c.is_nk_therapy and c.exclusion_rule == "nk_measurement"


def test_car_t_typo_conflict_is_excluded_for_review():
    study = make_study(
        "NCT98100002",
        title="Anti-BCMA CAR-NK in Myeloma",
        interventions=[("BIOLOGICAL", "Anti-BCMA CAR-T cells")],
    )
    c = classify_study(study)
    assert not c.is_nk_therapy
    assert c.exclusion_rule == "car_t_with_car_nk_wording" and c.review


def test_car_nk_combined_with_car_t_is_counted():
    study = make_study(
        "NCT98100003",
        title="CD33 CAR-NK Cells Plus CD19 CAR-T Cells",
        interventions=[("BIOLOGICAL", "CD33 CAR-NK"), ("BIOLOGICAL", "CD19 CAR-T")],
    )
    c = classify_study(study)
    assert c.is_nk_therapy and c.is_car_nk


def test_mask_keeps_offsets():
    text = "iNKT cells and NK cells"
    masked, hits = _mask(text, nk_rules().lookalikes)
    assert len(masked) == len(text)
    assert masked.endswith("NK cells") and "iNKT" not in masked
    assert hits[0].rule == "nkt"


# Seeded random phrases from words the rules care about, mixed with noise. (Plain
# `random` rather than hypothesis: hypothesis writes a .hypothesis/ cache into the
# repository root, which is not ignored by git.)
_WORDS = (
    "NK NKT iNKT CIK DC-CIK CAR CAR-T CAR-NK cells cell natural killer T γδ gamma delta "
    "ITNK NKG2D CYAD-101 FT596 NK-92 haNK activity engager TriKE not non no in vivo "
    "autologous allogeneic cord blood iPSC memory-like rituximab / + , ; ( ) after "
    "细胞 自体 lymphoma leukemia lupus COVID-19 ageing cancer 2024 x"
).split()


def _phrase(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("seed", range(200))
def test_classifier_never_crashes_and_always_explains(seed):
    rng = random.Random(seed)
    study = make_study(
        "NCT98199999",
        title=_phrase(rng),
        interventions=[("BIOLOGICAL", _phrase(rng))],
        conditions=[_phrase(rng) for _ in range(rng.randint(0, 3))],
        summary=_phrase(rng),
    )
    c = classify_study(study)
    assert c.is_nk_therapy or (c.exclusion_rule and c.exclusion_reason)
    assert set(c.product_types) <= set(PRODUCT_TYPES) and c.indications
    if c.is_car_nk:
        assert c.is_nk_therapy


# ------------------------------------------------------------------ shared data


def _adjudicated_rows():
    path = shared_file("carnk_manual_adjudications.csv")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_carnk_manual_adjudications_as_far_as_notes_allow():
    """The CSV holds only each adjudicator's product note, not registry text. Each note
    becomes the intervention name of a minimal constructed record; the classifier's CAR-NK
    call must agree with the adjudication. This tests product names, codes and look-alike
    rules, not behaviour on full records."""
    rows = _adjudicated_rows()
    assert len(rows) == 22
    disagreements = []
    for row in rows:
        record = make_study(row["nct_id"], interventions=[("BIOLOGICAL", row["product_note"])])
        c = classify_study(record)
        expected = row["include_as_car_nk"] == "True"
        if c.is_car_nk != expected:
            disagreements.append((row["nct_id"], row["product_note"], c.exclusion_rule))
    assert not disagreements


def test_real_pallas_record_is_not_nk_therapy():
    import json

    raw = json.loads(shared_file("NCT02513394_v2_protocol_only.json").read_text(encoding="utf-8"))
    c = classify_study(raw)
    assert c.nct_id == "NCT02513394"
    assert not c.is_nk_therapy and c.exclusion_rule == "no_nk_product"
    assert "solid_tumour" in c.indications  # breast cancer
    rec = parse_study(raw)
    assert rec.phases == ("PHASE3",)
