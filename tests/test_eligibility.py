"""Eligibility rules and the screening log."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from nksim.disease import SleCohortSpec, SleEligibility, sle_candidates
from nksim.errors import UserError
from nksim.model import Citation
from nksim.trials import Criterion, screen, screening_summary

LUPUS = SleEligibility()  # the article's criteria (the lupus setting's defaults)


def _people(**columns):
    base = {"candidate": [0], "age_years": [10.0], "disease_duration_months": [24.0],
            "failed_regimens": [5], "sledai": [12]}
    n = max(len(v) for v in columns.values()) if columns else 1
    frame = {k: (v * n if len(v) == 1 else v) for k, v in base.items()}
    frame["candidate"] = list(range(n))
    frame.update(columns)
    return pd.DataFrame(frame)


def test_article_criteria_are_the_defaults_with_sources():
    rules = {r.name: r for r in SleEligibility().rules()}
    assert (rules["min_age_years"].operator, rules["min_age_years"].threshold) == (">=", 5.0)
    assert (rules["max_age_years"].operator, rules["max_age_years"].threshold) == ("<", 18.0)
    assert (rules["min_disease_duration_months"].operator,
            rules["min_disease_duration_months"].threshold) == (">", 6.0)
    assert rules["min_failed_regimens"].threshold == 4 and rules["min_sledai"].threshold == 8
    assert rules["min_sledai"].source.verified == "assumption"
    assert rules["min_age_years"].source.key == "article S5"
    table = SleEligibility().table()
    assert list(table["criterion"]) == list(rules)


def test_boundaries():
    people = _people(age_years=[4.99, 5.0, 17.99, 18.0, 10.0, 10.0, 10.0, 10.0],
                     disease_duration_months=[24, 24, 24, 24, 6.0, 6.01, 24, 24],
                     failed_regimens=[5, 5, 5, 5, 5, 5, 3, 4],
                     sledai=[12] * 8)
    _, log = screen(people, LUPUS)
    assert log["eligible"].tolist() == [False, True, True, False, False, True, False, True]


def test_reasons_are_readable_and_list_every_failed_rule():
    people = _people(age_years=[4.2, 4.96, 18.3, 10.0, 12.0],
                     disease_duration_months=[24.0, 24.0, 24.0, 4.1, 36.0],
                     failed_regimens=[3, 5, 5, 5, 6],
                     sledai=[12, 12, 6, np.nan, 9])
    eligible, log = screen(people, LUPUS)
    assert log["reasons"].tolist() == [
        "age 4.2 y < 5 y; failed regimens 3 < 4",
        "age 4.96 y < 5 y",
        "age 18.3 y \u2265 18 y; SLEDAI-2K 6 < 8",
        "diagnosed 4.1 months \u2264 6 months; SLEDAI-2K missing",
        "",
    ]
    assert log["n_failed"].tolist() == [2, 1, 2, 2, 0]
    assert log["failed_criteria"][0] == "min_age_years,min_failed_regimens"
    assert list(log["candidate"]) == [0, 1, 2, 3, 4]
    assert eligible["candidate"].tolist() == [4]
    assert list(eligible.columns) == list(people.columns)


def test_screening_generated_candidates_agrees_with_a_direct_query():
    candidates = sle_candidates(400, seed=3, spec=SleCohortSpec(age_max_years=19.5))
    eligible, log = screen(candidates, LUPUS)
    expected = candidates.query(
        "age_years >= 5 and age_years < 18 and disease_duration_months > 6 "
        "and failed_regimens >= 4 and sledai >= 8")
    assert eligible["candidate"].tolist() == expected["candidate"].tolist()
    assert len(log) == len(candidates)
    assert (log["reasons"] != "").tolist() == (~log["eligible"]).tolist()
    summary = screening_summary(log, LUPUS)
    assert summary.loc["screened", "n"] == 400
    assert summary.loc["eligible", "n"] == len(expected)
    assert summary.loc["min_sledai", "n"] == int((candidates["sledai"] < 8).sum())
    assert summary.loc["max_age_years", "n"] == int((candidates["age_years"] >= 18).sum()) > 0


def test_criteria_from_a_scenario_table():
    c = SleEligibility.from_dict({"min_age_years": 6, "max_age_years": "off",
                                       "min_disease_duration_months": "1 year",
                                       "min_sledai": 10})
    assert c.min_age_years == 6 and c.max_age_years is None
    assert c.min_disease_duration_months == pytest.approx(12.0)
    assert [r.name for r in c.rules()] == ["min_age_years", "min_disease_duration_months",
                                           "min_failed_regimens", "min_sledai"]
    _, log = screen(_people(age_years=[30.0], sledai=[9]),
                    SleEligibility.from_dict({"max_age_years": "off"}))
    assert log["eligible"][0]
    _, log = screen(_people(age_years=[30.0], sledai=[9]), c)
    assert log["reasons"][0] == "SLEDAI-2K 9 < 10"
    assert SleEligibility.from_dict(None) == SleEligibility()
    assert SleEligibility(**dataclasses.asdict(c)) == c  # rebuildable


@pytest.mark.parametrize("raw, field", [
    ({"min_age": 5}, "eligibility.min_age"),
    ({"min_sledai": "high"}, "eligibility.min_sledai"),
    ({"min_sledai": True}, "eligibility.min_sledai"),
    ({"min_failed_regimens": -1}, "eligibility.min_failed_regimens"),
    ({"min_age_years": "5 kg"}, "eligibility.min_age_years"),
    ({"min_age_years": 10, "max_age_years": 8}, "eligibility.max_age_years"),
])
def test_bad_eligibility_tables_name_the_field(raw, field):
    with pytest.raises(UserError) as info:
        SleEligibility.from_dict(raw)
    assert info.value.field == field
    assert str(info.value).startswith(field + ": ")


def test_custom_criteria_and_missing_columns():
    rule = Criterion("min_alc", "alc_per_ul", ">=", 500.0, "lymphocytes", "cells/uL",
                     "lymphocytes 500/uL or more",
                     Citation("x", "test rule", verified="assumption"))
    people = pd.DataFrame({"candidate": [0, 1], "alc_per_ul": [450.0, 800.0]})
    eligible, log = screen(people, [rule])
    assert eligible["candidate"].tolist() == [1]
    assert log["reasons"][0] == "lymphocytes 450 cells/uL < 500 cells/uL"
    with pytest.raises(UserError, match="no column"):
        screen(people, LUPUS)
    with pytest.raises(TypeError, match="rules"):
        screen(people, {"min_age_years": 5})  # a raw table is the setting's to read
    with pytest.raises(ValueError):
        Criterion("x", "y", "==", 1.0, "y", "", "", rule.source)
