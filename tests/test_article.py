"""``nksim article``: every claim of the source article, with a verdict and its evidence.

The claims table must hold exactly the rows of the project's claim list; verdicts come
from nksim's checks (fast ones here; the slow trial-based ones are covered by their own
tests and run in ``make test-all``). Each verdict rule is fed numbers on both sides."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nksim import _article_checks as ac
from nksim.cli import cli
from nksim.evidence import assess, load_claims
from nksim.evidence._article import VERDICTS, Finding
from nksim.report.article import render_article, render_text

ARTICLE_MD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "article.md"
FAST = "B2,B4,B5,T5,S1,S5,A2,E1,E2,E3,E4,E5"


def test_claims_are_the_rows_of_the_reference_list():
    claims = load_claims()
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids))
    if not ARTICLE_MD.is_file():
        pytest.skip("../shared/reference/article.md is not beside the project")
    rows = re.findall(r"^\| ([BTSAE]\d) \| (.*?) \| .*? \|$",
                      ARTICLE_MD.read_text(encoding="utf-8"), re.M)
    assert ids == [r[0] for r in rows]
    for claim, (_, text) in zip(claims, rows, strict=True):
        # the row word for word; a bracketed verification note is kept apart
        note = re.search(r"\s*\[([^\]]*)\]\.?$", text)
        wording = text[:note.start()] + ("." if text.endswith("].") else "") if note else text
        assert claim.claim_en == wording, claim.id
        assert claim.note_en == (note.group(1) if note else None), claim.id


def test_every_claim_is_checked_or_says_why_not():
    for claim in load_claims():
        assert bool(claim.check) != bool(claim.untestable), claim.id
        assert claim.claim_zh and claim.claim_en
        assert bool(claim.untestable) == bool(claim.untestable_zh), claim.id


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


# ------------------------------------------------------------------ the verdict rules
def test_all_of_n_rule_goes_both_ways():
    assert ac.all_of_n_rule(17, 19, 20)[0] == "consistent"       # S2 as run: p = 0.23
    assert ac.all_of_n_rule(12, 20, 20)[0] == "contradicted"
    assert ac.all_of_n_rule(17, 20, 11)[0] == "consistent"       # S3 as run
    assert ac.all_of_n_rule(5, 20, 11)[0] == "contradicted"


def test_pancreatic_rule_goes_all_ways():
    assert ac.pancreatic_rule(0.722, 0.737, 6, 14, 19) == "untestable"    # as published
    assert ac.pancreatic_rule(0.316, 0.737, 6, 14, 19) == "consistent"    # 72.2 % were ORR
    assert ac.pancreatic_rule(0.722, 0.600, 6, 14, 19) == "contradicted"  # DCR disagrees


def test_the_crs_range_t3_rests_on_is_said_to_be_unverified_in_both_languages():
    n = {"car_t.crs_any_rate": 0.55, "car_t.crs_any_rate.k": 11, "car_t.crs_any_rate.n": 20,
         "car_t.peak_car_cells_ul_median": 50.0, "car_nk.peak_car_cells_ul_median": 0.5}
    _, en, zh, _ = ac._cart_toxicity(n)
    assert "60-87 % quoted for lupus series" in en and "UNVERIFIED" in en
    assert "published" not in en
    assert "60–87%" in zh and "未经核实" in zh


def test_cart_toxicity_rule_goes_both_ways():
    assert ac.cart_toxicity_rule(1192, 11, 19) == "consistent"
    assert ac.cart_toxicity_rule(1192, 1, 19) == "contradicted"    # interval below 60 %
    assert ac.cart_toxicity_rule(2, 11, 19) == "contradicted"      # no expansion
    assert ac.cart_toxicity_rule(1192, 0, 19) == "contradicted"


def test_carnk_rule_goes_both_ways():
    assert ac.carnk_rule(1192, 0, 20, 11, 19) == "consistent"
    assert ac.carnk_rule(1192, 15, 20, 11, 19) == "contradicted"
    assert ac.carnk_rule(3, 0, 20, 11, 19) == "contradicted"


def test_buffer_rule_goes_all_ways():
    assert ac.buffer_rule(5, 100, 25, 100)[0] == "consistent"
    assert ac.buffer_rule(8, 100, 10, 100)[0] == "not_yet_testable"
    assert ac.buffer_rule(12, 100, 10, 100)[0] == "contradicted"


def _lupus_numbers(**over):
    n = {"car_t.steroid_free_6m_rate": 0.85, "car_t.steroid_free_6m_rate.k": 17,
         "car_t.steroid_free_6m_rate.n": 20, "car_t.sri4_6m_rate": 0.85,
         "car_t.sri4_6m_rate.k": 17, "car_t.sri4_6m_rate.n": 20,
         "car_t.manufacturing_failure_rate.k": 1,
         "car_nk.doris_remission_6m_rate": 0.85, "car_nk.doris_remission_6m_rate.k": 17,
         "car_nk.doris_remission_6m_rate.n": 20, "car_nk.steroid_free_6m_rate": 0.85,
         "car_nk.steroid_free_6m_rate.k": 17, "car_nk.steroid_free_6m_rate.n": 20,
         "car_nk.flare_6m_rate": 0.15, "car_nk.flare_6m_rate.k": 3,
         "car_nk.flare_6m_rate.n": 20}
    n.update(over)
    return n


def test_lupus_texts_follow_the_numbers():
    v, en, zh, _ = ac._carnk_children(_lupus_numbers())
    assert v == "consistent" and "the same share as" in en and "less" not in en
    v, en, _, _ = ac._carnk_children(_lupus_numbers(**{"car_nk.steroid_free_6m_rate.k": 5}))
    assert v == "contradicted" and "a smaller share than" in en
    v, en, _, _ = ac._cart_children(_lupus_numbers())
    assert v == "consistent" and "17/19" in en and "p = 0.23" in en
    v, en, _, _ = ac._cart_children(_lupus_numbers(**{"car_t.steroid_free_6m_rate.k": 10}))
    assert v == "contradicted" and "significantly fewer" in en


# ------------------------------------------------------------------ the command line
def test_fast_claims_from_the_command_line(tmp_path):
    out = tmp_path / "article"
    res = CliRunner().invoke(cli, ["article", "--only", FAST, "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    rows = {r["id"]: r for r in data["claims"]}
    assert set(rows) == set(FAST.split(","))
    assert all(r["verdict"] in VERDICTS for r in rows.values())
    # E1: the published 2022 count already had phase III and IV trials; its numbers come
    # from the paper, and the row says so instead of naming a command that cannot give them
    assert rows["E1"]["verdict"] == "contradicted" and rows["E1"]["numbers"]["published_phase3"] > 0
    assert "Lamers-Kok" in rows["E1"]["source"]
    assert rows["E2"]["verdict"] == "untestable"
    assert rows["B2"]["verdict"] == "consistent" and rows["E3"]["verdict"] == "consistent"
    e4 = rows["E4"]["numbers"]
    assert rows["E4"]["verdict"] == "consistent" and e4["article_sentences"] == 1 \
        and e4["article_sentences_flagged"] == 1  # the checker flags the article's sentence
    assert {rows[i]["verdict"] for i in ("B5", "T5", "S1", "A2", "E5")} == {"untestable"}
    html = (out / "article.html").read_text(encoding="utf-8")
    assert "Research use only" in html and 'id="claim-E1"' in html and 'lang="en"' in html
    assert json.loads((out / "article.json").read_text(encoding="utf-8"))["claims"]


def test_plain_output_wraps_claims_and_shows_evidence_and_commands():
    res = CliRunner().invoke(cli, ["article", "--only", "B5,E4"])
    assert res.exit_code == 0, res.output
    claim = load_claims()[[c.id for c in load_claims()].index("E4")].claim_en
    text = " ".join(res.stdout.split())
    assert claim in text                                  # whole, not cut
    assert "evidence: nksim's red-flag checker" in text
    assert 'reproduce with: nksim check-claim' in text and "run on" in text
    assert all(len(line) <= 88 for line in res.stdout.splitlines()[:-1] if "nksim " not in line)


#: ASCII words allowed in Chinese output: names, journals and tools (abbreviations in
#: capitals, numbers, units, ids, paths, commands and doi are left out before the check).
_NAMES = {"Herberman", "Kiessling", "Prager", "Lamers", "Kok", "Tan", "Strati", "Baker",
          "Karin", "Sagiv", "Ovadya", "Immunity", "Ageing", "Fisher", "ClinicalTrials", "gov",
          "Python", "nksim", "numpy", "numba", "doi", "Flu", "Cy", "Mackensen", "Gao",
          "Jiang", "Ueno", "Raz", "CyTOF", "mg", "kg", "mL", "pg", "µL", "Ig", "IgG", "E", "T",
          "B", "p", "n"}  # p and n: a p value and a sample size ("p = 0.23", "n = 40")


def _english_words(text: str) -> list[str]:
    """ASCII words in ``text`` that are not names, abbreviations, units or code."""
    text = re.sub(r"\S*[./_=]\S*[A-Za-z0-9]", " ", text)  # paths, modules, files, doi
    text = re.sub(r"\bnksim [a-z][\w-]*", " ", text)  # a command named in the text
    text = re.sub(r"\d(\.\d+)?e[+-]?\d+", " ", text)  # 1e+05
    words = re.findall(r"[A-Za-z]+", text)
    return [w for w in words if not (w.isupper() or w in _NAMES)]


def _check_chinese(text: str, where: str) -> None:
    bad = _english_words(text)
    assert not bad, f"{where}: English in Chinese output: {bad[:8]} … in {text[:120]!r}"


def test_chinese_output_is_chinese(tmp_path):
    ids = "B2,B5,S5,E1,E2,E3,E4"
    res = CliRunner().invoke(cli, ["article", "--only", ids, "--lang", "zh", "--json",
                                   "--out", str(tmp_path / "zh")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    for row in data["claims"]:
        for key in ("claim", "evidence", "verdict_label", "note", "source"):
            if row.get(key):
                _check_chinese(row[key], f"{row['id']}.{key}")
        assert re.search(r"[\u4e00-\u9fff]", row["evidence"])
    _check_chinese(data["notice"], "notice")
    # the printed text, with the command lines (commands stay commands) left out
    text = render_text(data)
    for line in text.splitlines():
        if not line.strip().startswith("复现命令"):
            _check_chinese(line, "text")
    html = render_article(data)
    assert 'lang="zh-CN"' in html
    body = re.sub(r"<style>.*?</style>|<code>.*?</code>|<[^>]+>", " ", html, flags=re.S)
    _check_chinese(html_lib.unescape(body), "html")


def test_every_claim_text_in_chinese_is_chinese():
    for claim in load_claims():
        _check_chinese(claim.claim_zh, claim.id)
        for extra in (claim.note_zh, claim.untestable_zh):
            if extra:
                _check_chinese(extra, claim.id)


def test_the_english_check_catches_english():
    assert _english_words("从 60 岁起 nk_yearly: +0.1 % (+0.1 to +0.4)") == ["to"]
    assert _english_words("Research use only") == ["Research", "use", "only"]
    assert _english_words("见 docs/evidence.md 与 CD19 CAR-T,Herberman 1975") == []
    assert _english_words("(nksim power;nksim n-of-1 展示)") == []


@pytest.mark.parametrize("args, message", [
    (["--only", "Z9"], "--only: unknown claim id(s) Z9"),
    (["--only", ","], "--only: names no claim id"),
    (["--lang", "fr"], "Invalid value for '--lang'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    res = CliRunner().invoke(cli, ["article", *args])
    assert res.exit_code == 2
    assert message in res.output and len(res.output.strip().splitlines()) == 1


def test_a_shared_base_run_is_made_once_per_command(monkeypatch):
    """Several lupus claims read one virtual trial: run_checks makes it once (a counter
    stands in for the trial), and again in the next call."""
    from nksim import _article_checks as checks
    from nksim.evidence._article import Finding

    calls = []

    def base():
        calls.append(1)
        return Finding(verdict="consistent", date="2026-12-08", command="stub",
                       numbers={}, evidence_en="stub", evidence_zh="stub")

    def reader():  # a claim reading the base run, as the lupus claims do
        assert checks._base("lupus_children") is not None

    monkeypatch.setitem(checks.CHECKS, "lupus_children", base)
    names = {"probe_a", "probe_b", "probe_c"}
    for name in names:
        monkeypatch.setitem(checks.CHECKS, name, reader)
    checks.run_checks(names, use_cache=False)
    assert len(calls) == 1
    checks.run_checks(names, use_cache=False)
    assert len(calls) == 2


def test_a_cached_check_is_reused_only_by_the_code_that_computed_it(monkeypatch):
    """The key held the version number, which does not change between commits: a result
    computed by older code was shown as today's."""
    monkeypatch.setattr(ac, "_source_digest", lambda: "code A")
    a = ac._cache_key("patrol")
    monkeypatch.setattr(ac, "_source_digest", lambda: "code B")
    assert ac._cache_key("patrol") != a
