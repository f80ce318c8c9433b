"""Parsing registry records: partial dates, phases (NA vs missing), countries, the real
PALLAS record (evidence.md §1.2-1.3 pitfalls)."""

from __future__ import annotations

import json
import random

import pytest

from nksim.errors import UserError
from nksim.evidence import normalize_country, parse_partial_date, parse_study

from .conftest import make_study, shared_file


@pytest.mark.parametrize(
    ("raw", "year", "month", "day", "precision"),
    [
        ("2024-08-22", 2024, 8, 22, "day"),
        ("2024-08", 2024, 8, None, "month"),
        ("2024", 2024, None, None, "year"),
        (" 2019-6 ", 2019, 6, None, "month"),
        ("2024-13", 2024, None, None, "year"),  # impossible month: keep only the year
    ],
)
def test_partial_dates(raw, year, month, day, precision):
    d = parse_partial_date(raw)
    assert (d.year, d.month, d.day, d.precision) == (year, month, day, precision)


@pytest.mark.parametrize("raw", [None, "", "n/a", 2024, "24-01"])
def test_unreadable_dates_are_none(raw):
    assert parse_partial_date(raw) is None


@pytest.mark.parametrize("seed", range(20))
def test_start_year_is_first_four_characters(seed):
    rng = random.Random(seed)
    y, m, d = rng.randint(1900, 2100), rng.randint(1, 12), rng.randint(1, 28)
    for text in (f"{y}", f"{y}-{m:02d}", f"{y}-{m:02d}-{d:02d}"):
        assert parse_partial_date(text).year == y


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Korea, Republic of", "South Korea"),
        ("United States", "United States"),
        ("USA", "United States"),
        ("  united   states of america ", "United States"),
        ("Iran, Islamic Republic of", "Iran"),
        ("Russian Federation", "Russia"),
        ("Viet Nam", "Vietnam"),
        ("Czech Republic", "Czechia"),
        ("Turkey", "Türkiye"),
        ("Hong Kong", "Hong Kong"),
        ("Taiwan", "Taiwan"),
        ("Côte D'Ivoire", "Côte d'Ivoire"),
        ("Atlantis", "Atlantis"),  # unknown names are kept, never dropped
    ],
)
def test_country_normalisation(raw, canonical):
    assert normalize_country(raw) == canonical


def test_na_phase_differs_from_missing_phase():
    na = parse_study(make_study("NCT98200001", phases=["NA"]))
    missing = parse_study(make_study("NCT98200002", phases=None))
    empty = parse_study(make_study("NCT98200003", phases=[]))
    assert na.phase_buckets == ("NA",)
    assert missing.phase_buckets == ("MISSING",) and not missing.phases_field_present
    assert empty.phase_buckets == ("MISSING",)


def test_multi_phase_and_dates_and_countries():
    rec = parse_study(
        make_study(
            "NCT98200004",
            phases=["PHASE1", "PHASE2"],
            start="2023-05",
            start_type="ESTIMATED",
            status="UNKNOWN",
            last_known_status="RECRUITING",
            countries=["Korea, Republic of", "South Korea", "United States"],
        )
    )
    assert rec.phase_buckets == ("PHASE1", "PHASE2")
    assert rec.start_year == 2023 and rec.start_date_type == "ESTIMATED"
    assert rec.overall_status == "UNKNOWN" and rec.last_known_status == "RECRUITING"
    assert rec.countries == ("South Korea", "United States")  # one entry per country


def test_record_without_nct_id_is_a_user_error():
    with pytest.raises(UserError, match="nctId"):
        parse_study({"protocolSection": {}})


def test_real_record_pallas():
    raw = json.loads(shared_file("NCT02513394_v2_protocol_only.json").read_text(encoding="utf-8"))
    rec = parse_study(raw)
    assert rec.nct_id == "NCT02513394"
    assert rec.start_date.raw == "2015-08" and rec.start_date.precision == "month"
    assert rec.start_date_type is None  # the real record's startDateStruct has no type
    assert rec.sponsor_class == "OTHER"
    # 437 sites in 21 countries (evidence.md §1.3); a trial counts once per country
    locations = raw["protocolSection"]["contactsLocationsModule"]["locations"]
    assert len(locations) == 437
    assert len(rec.countries) == len({loc["country"] for loc in locations}) == 21
    assert {"United States", "Spain", "Germany"} <= set(rec.countries)
    assert "South Korea" in rec.countries and "Korea, Republic of" not in rec.countries
