"""``nksim article``: every claim of the source article, with a verdict and its evidence.

The claims table must hold exactly the rows of the project's claim list; verdicts come
from nksim's checks (fast ones here; the slow trial-based ones are covered by their own
tests and run in ``make test-all``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.evidence import assess, load_claims
from nksim.evidence._article import VERDICTS, Finding

ARTICLE_MD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "article.md"
FAST = "B2,B4,B5,T5,T8,S1,S5,A2,E1,E2,E3,E4,E5"


def test_claims_are_the_rows_of_the_reference_list():
    ids = [c.id for c in load_claims()]
    assert len(ids) == len(set(ids))
    if not ARTICLE_MD.is_file():
        pytest.skip("../shared/reference/article.md is not beside the project")
    expected = re.findall(r"^\| ([BTSAE]\d) \|", ARTICLE_MD.read_text(encoding="utf-8"), re.M)
    assert ids == expected


def test_every_claim_is_checked_or_says_why_not():
    for claim in load_claims():
        assert bool(claim.check) != bool(claim.untestable), claim.id
        assert claim.claim_zh and claim.claim_en


def test_a_claim_without_a_finding_is_not_yet_testable_and_labels_follow_the_language():
    claims = [c for c in load_claims() if c.id in ("B4", "B5")]
    found = {"patrol": Finding("contradicted", "en text", "中文依据", command="nksim patrol")}
    en = assess(claims, found, "en")
    assert [r["verdict"] for r in en["claims"]] == ["contradicted", "untestable"]
    assert assess(claims, {}, "en")["claims"][0]["verdict"] == "not_yet_testable"
    zh = assess(claims, found, "zh")
    assert zh["claims"][0]["evidence"] == "中文依据"
    assert all(not re.search(r"[A-Za-z]{4,}", r["verdict_label"]) for r in zh["claims"])
    assert sum(zh["counts"].values()) == 2 and set(zh["counts"]) == set(VERDICTS)


def test_fast_claims_from_the_command_line(tmp_path):
    out = tmp_path / "article"
    res = CliRunner().invoke(cli, ["article", "--only", FAST, "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    rows = {r["id"]: r for r in data["claims"]}
    assert set(rows) == set(FAST.split(","))
    assert all(r["verdict"] in VERDICTS for r in rows.values())
    # T8 against the cited trial: ORR 6/19 has the exact (Clopper-Pearson) 95 % interval
    # 0.126-0.566 (tables of the binomial distribution), which excludes the article's 72.2 %
    t8 = rows["T8"]["numbers"]
    assert t8["orr_ci_low"] == pytest.approx(0.1258, abs=5e-4)
    assert t8["orr_ci_high"] == pytest.approx(0.5655, abs=5e-4)
    assert rows["T8"]["verdict"] == "contradicted"
    # E1: the published 2022 count already had phase III and IV trials
    assert rows["E1"]["verdict"] == "contradicted" and rows["E1"]["numbers"]["published_phase3"] > 0
    assert rows["E4"]["verdict"] == "reproduced"
    assert {rows[i]["verdict"] for i in ("B5", "T5", "S1", "A2", "E5")} == {"untestable"}
    html = (out / "article.html").read_text(encoding="utf-8")
    assert "Research use only" in html and 'id="claim-T8"' in html
    assert json.loads((out / "article.json").read_text(encoding="utf-8"))["claims"]


def test_chinese_output_is_chinese():
    res = CliRunner().invoke(cli, ["article", "--only", "E1,E4", "--lang", "zh", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    for row in data["claims"]:
        assert re.search(r"[\u4e00-\u9fff]", row["evidence"])
        assert re.search(r"[\u4e00-\u9fff]", row["claim"])


@pytest.mark.parametrize("args, message", [
    (["--only", "Z9"], "--only: unknown claim id(s) Z9"),
    (["--only", ","], "--only: names no claim id"),
    (["--lang", "fr"], "Invalid value for '--lang'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    res = CliRunner().invoke(cli, ["article", *args])
    assert res.exit_code == 2
    assert message in res.output and len(res.output.strip().splitlines()) == 1
