"""Landscape counts and answers, on constructed records whose expected counts follow
from how they were built, and on the shipped (constructed) demo snapshot."""

from __future__ import annotations

import json
from collections import Counter

from nksim.evidence import (
    PHASE_BUCKETS,
    DataSource,
    build_landscape,
    demo_snapshot_path,
    landscape_from_snapshot,
    load_snapshot,
)

from .conftest import make_study

NK = [("BIOLOGICAL", "Allogeneic NK cells")]
CIK = [("BIOLOGICAL", "CIK cells")]


def _records():
    return [
        make_study(
            "NCT98400001",
            interventions=NK,
            phases=["PHASE1", "PHASE2"],
            start="2019-03",
            start_type="ACTUAL",
            countries=["United States", "Korea, Republic of"],
            status="COMPLETED",
        ),
        make_study(
            "NCT98400002",
            interventions=NK,
            phases=["NA"],
            start="2024",
            start_type="ESTIMATED",
            countries=["South Korea"],
            status="UNKNOWN",
            last_known_status="RECRUITING",
            sponsor_class="INDUSTRY",
        ),
        make_study(
            "NCT98400003",
            interventions=NK,
            phases=None,
            start="2024-11-02",
            countries=[],
            status="RECRUITING",
        ),
        make_study(
            "NCT98400004",
            interventions=NK,
            phases=["PHASE3"],
            start=None,
            countries=["China"],
            status="ACTIVE_NOT_RECRUITING",
        ),
        make_study(
            "NCT98400005", interventions=CIK, phases=["PHASE3"], start="2015", countries=["China"]
        ),  # excluded
        make_study(
            "NCT98400006",
            interventions=NK,
            phases=["PHASE4"],
            start="2026-02",
            start_type="ESTIMATED",
            countries=["China"],
            status="APPROVED_FOR_MARKETING",
        ),
    ]


def _land(constructed=False):
    return build_landscape(
        _records(),
        source=DataSource(kind="snapshot", constructed=constructed, query={"query.intr": "NK"}),
    )


def test_counted_and_excluded():
    d = _land().to_dict()
    assert d["nk_trials"] == [
        "NCT98400001",
        "NCT98400002",
        "NCT98400003",
        "NCT98400004",
        "NCT98400006",
    ]
    assert d["excluded"] == [
        {"nct_id": "NCT98400005", "reason": d["excluded"][0]["reason"], "rule": "cik"}
    ]
    assert "CIK" in d["excluded"][0]["reason"]


def test_by_phase_counts_each_phase_and_separates_na_from_missing():
    by_phase = _land().by_phase()
    assert list(by_phase) == list(PHASE_BUCKETS)
    assert by_phase == {
        "EARLY_PHASE1": 0,
        "PHASE1": 1,
        "PHASE2": 1,
        "PHASE3": 1,
        "PHASE4": 1,
        "NA": 1,
        "MISSING": 1,
    }
    assert sum(by_phase.values()) == 6 > len(_land().counted)  # the phase 1/2 trial counts twice


def test_phase3_or_4_lists_only_counted_trials():
    assert _land().phase3_or_4() == ["NCT98400004", "NCT98400006"]  # the CIK phase 3 is excluded


def test_start_year_actual_versus_estimated():
    years = _land().by_start_year()
    assert years["2019"] == {"actual": 1, "estimated": 0, "type_not_stated": 0, "total": 1}
    assert years["2024"] == {"actual": 0, "estimated": 1, "type_not_stated": 1, "total": 2}
    assert years["2026"]["estimated"] == 1
    assert years["MISSING"]["total"] == 1 and list(years)[-1] == "MISSING"


def test_country_status_sponsor():
    land = _land()
    assert land.by_country() == {"China": 2, "South Korea": 2, "MISSING": 1, "United States": 1}
    assert land.by_status()["UNKNOWN"] == 1
    assert land.by_last_known_status() == {"RECRUITING": 1}
    assert land.by_sponsor_class() == {"OTHER": 4, "INDUSTRY": 1}


def test_started_by_and_approval_signals():
    land = _land()
    assert land.started_by(2024) == {
        "actual": 1,
        "estimated": 1,
        "type_not_stated": 1,
        "no_start_date": 1,
        "total": 3,
    }
    sig = land.approval_signals()
    assert sig["approved_for_marketing_status"] == ["NCT98400006"] and sig["phase4"] == [
        "NCT98400006"
    ]
    assert "does not record marketing approvals" in sig["note"]


def test_json_has_the_required_fields():
    d = json.loads(json.dumps(_land().to_dict()))
    for key in (
        "nk_trials",
        "excluded",
        "by_phase",
        "phase3_or_4",
        "by_status",
        "by_start_year",
        "by_country",
        "by_product_type",
        "by_indication",
        "answers",
        "article_claim",
        "data_source",
    ):
        assert key in d
    assert d["answers"]["query"] == {"query.intr": "NK"}
    assert d["answers"]["how_many_in_phase3_or_4"] == 2


def test_article_claim_assessment_is_computed_from_the_data():
    text = _land().article_claim_assessment()["text"]
    assert "Of its 6 records, 5 count" in text
    assert "779 more than the 5 counted here" in text
    assert "do not support 'none in phase III/IV'" in text
    assert "420" in text and "3 of them in phase III and 3 in phase IV" in text
    none = build_landscape(
        [
            r
            for r in _records()
            if r["protocolSection"]["identificationModule"]["nctId"]
            in ("NCT98400001", "NCT98400002")
        ]
    )
    assert "consistent with 'none in phase III/IV'" in none.article_claim_assessment()["text"]


def test_constructed_data_never_reads_as_real_counts():
    land = _land(constructed=True)
    text = land.article_claim_assessment()["text"]
    assert text.startswith("CONSTRUCTED DEMO DATA")
    assert "meaningless" in text
    assert (
        "more than the" not in text
        and "support 'none" not in text
        and "consistent with" not in text
    )
    assert land.to_dict()["constructed_data"] is True
    assert land.summary_text().startswith("*** CONSTRUCTED DEMO DATA")


def test_duplicates_are_dropped():
    recs = _records()
    land = build_landscape(recs + [recs[0]])
    assert land.duplicates_dropped == 1 and len(land.classifications) == len(recs)


def test_demo_snapshot_counts_match_an_independent_recount():
    snap = load_snapshot(demo_snapshot_path())
    land = landscape_from_snapshot(snap)
    counted = set(land.to_dict()["nk_trials"])
    raw = {s["protocolSection"]["identificationModule"]["nctId"]: s for s in snap.studies}
    recount = Counter()
    for nct in counted:
        phases = raw[nct]["protocolSection"]["designModule"].get("phases") or ["MISSING"]
        recount.update(set(phases))
    assert {k: v for k, v in land.by_phase().items() if v} == dict(recount)
    assert land.source.constructed


def test_text_report_uses_readable_labels_not_enum_names():
    """The terminal report shows the HTML tables' labels ("phase 2", "not yet recruiting",
    "donor blood NK"), never the registry's or nksim's enum names."""
    import re

    from nksim.evidence import demo_snapshot_path, landscape_from_snapshot, load_snapshot

    text = landscape_from_snapshot(load_snapshot(demo_snapshot_path())).summary_text()
    body = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("Data:", "About the article's claim:")))
    assert not re.search(r"\b[A-Z]+_[A-Z_]+\b|\bPHASE\d\b|\b[a-z]+_[a-z_]+\b", body), body
    assert "phase 2" in body and "APPROVED_FOR_MARKETING" not in text
    assert "under way at the data date" not in text  # the demo data have no data date
