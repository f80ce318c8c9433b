"""The command line: one-line errors with exit status 2, JSON output, files, stdin."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

import nksim.evidence
from nksim.cli import cli
from nksim.evidence import RegistryClient

from .conftest import FakeClock, make_study, page


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def _one_line_error(result, *needles):
    assert result.exit_code == 2
    err = result.stderr.strip()
    assert err.startswith("nksim: error:") and "\n" not in err and "Traceback" not in err
    for n in needles:
        assert n in err, err


def test_report_without_store_or_snapshot(run):
    _one_line_error(run("landscape", "report"), "nksim landscape fetch", "--snapshot")


def test_report_bad_snapshot_names_file(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"studies": [')
    _one_line_error(run("landscape", "report", "--snapshot", str(bad)), str(bad), "not valid JSON")
    _one_line_error(
        run("landscape", "report", "--snapshot", str(tmp_path / "missing.json")), "missing.json"
    )


def test_report_demo_json(run):
    result = run("landscape", "report", "--demo", "--json")
    assert result.exit_code == 0
    d = json.loads(result.stdout)
    assert d["constructed_data"] is True
    assert set(d["by_phase"]) == {
        "EARLY_PHASE1",
        "PHASE1",
        "PHASE2",
        "PHASE3",
        "PHASE4",
        "NA",
        "MISSING",
    }
    assert all({"nct_id", "reason"} <= set(e) for e in d["excluded"])


def test_report_out_dir_and_text(run, tmp_path):
    out = tmp_path / "rep"
    result = run("landscape", "report", "--demo", "--out", str(out))
    assert (
        result.exit_code == 0
        and (out / "report.html").exists()
        and (out / "trials.parquet").exists()
    )
    text = run("landscape", "report", "--demo")
    assert "CONSTRUCTED DEMO DATA" in text.stdout and "By phase" in text.stdout


def test_snapshot_and_store_options_conflict(run, tmp_path):
    _one_line_error(run("landscape", "report", "--demo", "--fetch-id", "1"), "--fetch-id")


def test_import_then_report_from_store(run, tmp_path):
    snap = tmp_path / "snap.jsonl"
    snap.write_text(
        json.dumps(
            make_study("NCT98700001", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE1"])
        )
        + "\n"
        + json.dumps(make_study("NCT98700002", interventions=[("BIOLOGICAL", "CIK cells")]))
        + "\n"
    )
    store = tmp_path / "s.duckdb"
    assert (
        "imported 2 studies" in run("landscape", "import", str(snap), "--store", str(store)).stdout
    )
    d = json.loads(run("landscape", "report", "--store", str(store), "--json").stdout)
    assert d["nk_trials"] == ["NCT98700001"] and d["excluded"][0]["nct_id"] == "NCT98700002"
    assert "#1" in run("landscape", "history", "--store", str(store)).stdout


def _fake_client(monkeypatch, handler):
    clock = FakeClock()

    class Fake(RegistryClient):
        def __init__(self, base_url, **kw):
            super().__init__(
                base_url,
                transport=httpx.MockTransport(handler),
                clock=clock,
                sleep=clock.sleep,
                min_interval=kw.get("min_interval", 1.0),
            )

    monkeypatch.setattr(nksim.evidence, "RegistryClient", Fake)


def test_fetch_offline_is_one_line_exit_2(run, monkeypatch):
    def offline(request):
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution")

    _fake_client(monkeypatch, offline)
    _one_line_error(run("landscape", "fetch"), "cannot reach")


def test_fetch_then_report(run, monkeypatch, tmp_path):
    seen = []

    def api(request):
        if request.url.path.endswith("/version"):
            return httpx.Response(
                200, json={"apiVersion": "2.0.5", "dataTimestamp": "2025-02-03T00:00:00"}
            )
        seen.append(dict(request.url.params))
        if "pageToken" not in request.url.params:
            return page(
                [
                    make_study(
                        "NCT98700011", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE2"]
                    )
                ],
                "t2",
                total=2,
            )
        return page(
            [
                make_study(
                    "NCT98700012", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE3"]
                )
            ]
        )

    _fake_client(monkeypatch, api)
    store = tmp_path / "s.duckdb"
    result = run(
        "landscape",
        "fetch",
        "--store",
        str(store),
        "--term",
        "CAR-NK",
        "--param",
        "sort=LastUpdatePostDate:desc",
    )
    assert result.exit_code == 0 and "2 studies, complete" in result.stdout
    assert seen[0]["query.term"] == "CAR-NK" and seen[1]["sort"] == "LastUpdatePostDate:desc"
    d = json.loads(run("landscape", "report", "--store", str(store), "--json").stdout)
    assert d["phase3_or_4"] == ["NCT98700012"]
    assert d["answers"]["data_date"] == "2025-02-03T00:00:00"
    assert d["answers"]["query"]["query.term"] == "CAR-NK"


def test_fetch_refuses_filter_phase(run):
    _one_line_error(
        run("landscape", "fetch", "--param", "filter.phase=PHASE3"), "filter.phase", "AREA[Phase]"
    )


def test_check_claim_text_json_file_stdin(run, tmp_path):
    text = run("check-claim", "本院NK细胞回输，包治百病，绝对安全")
    assert text.exit_code == 0 and "很可能是骗局" in text.stdout and "包治百病" in text.stdout
    d = json.loads(run("check-claim", "--json", "Our stem cells are 100% safe").stdout)
    assert d["verdict"] == "likely_scam" and d["flags"][0]["span"] == "100% safe"
    f = tmp_path / "claim.txt"
    f.write_text(
        "A phase 1 trial of NK cells; risks include fever and infection.", encoding="utf-8"
    )
    assert (
        json.loads(run("check-claim", "--json", "--file", str(f)).stdout)["verdict"]
        == "no_red_flags"
    )
    assert (
        json.loads(run("check-claim", "--json", "--file", "-", input="零风险").stdout)["verdict"]
        == "likely_scam"
    )


def test_check_claim_says_what_a_span_and_its_count_stand_for(run):
    zh = run("check-claim", "美国FDA批准的干细胞疗法，延缓衰老，恢复活力。").stdout
    assert "此用途（干细胞）未见任何获批记录" in zh  # the detail, in Chinese answers too
    assert "“延缓衰老”等2处" in zh  # two different phrases, not one phrase twice
    en = run("check-claim", "Our NK cells are 100% safe, risk-free, with no side effects.")
    assert "\u201c100% safe\u201d (first of 3 matches)" in en.stdout


def test_check_claim_errors(run, tmp_path):
    _one_line_error(run("check-claim"), "TEXT or with --file")
    _one_line_error(run("check-claim", "x", "--file", str(tmp_path / "a.txt")), "not both")
    _one_line_error(run("check-claim", "--file", str(tmp_path / "nope.txt")), "nope.txt")
    _one_line_error(run("check-claim", "   "), "empty")


def test_check_claim_refuses_endless_input_and_bytes_that_are_not_utf8(run, monkeypatch):
    import nksim.cli_evidence

    monkeypatch.setattr(nksim.cli_evidence, "MAX_CLAIM_BYTES", 1000)
    _one_line_error(run("check-claim", "--file", "-", input="cures cancer " * 100),
                    "standard input", "longer than")
    _one_line_error(run("check-claim", "caf\udce9 cures cancer"), "TEXT", "not UTF-8")


def test_check_claim_from_dev_zero_is_refused_not_read_forever(run):
    if not __import__("os").path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    _one_line_error(run("check-claim", "--file", "/dev/zero"), "/dev/zero", "longer than")
    _one_line_error(run("landscape", "report", "--snapshot", "/dev/zero"), "larger than 1 GB")


def test_a_bare_group_still_shows_its_help(run):
    for args in ((), ("landscape",)):
        result = run(*args)
        assert "Usage:" in result.output and "Commands:" in result.output, args
        assert "error:" not in result.output + result.stderr


def test_click_usage_errors_are_one_line_too(run):
    result = run("check-claim", "--lang", "xx", "x")
    assert result.exit_code == 2
    err = result.stderr.strip()
    assert "check-claim: error: Invalid value for '--lang'" in err and "\n" not in err, err
    assert "--lang" in err and "Usage" not in err
    # an error click raises without a context still names the command
    err = run("check-claim", "--lang").stderr.strip()
    assert "check-claim: error: Option '--lang' requires an argument" in err, err
    assert "see 'cli check-claim --help'" in err and "\n" not in err, err
    # ... also inside the landscape group (it named 'cli landscape', not the sub-command)
    for sub in ("fetch", "report"):
        result = run("landscape", sub, "--store")
        err = result.stderr.strip()
        assert result.exit_code == 2 and "\n" not in err, err
        assert err.startswith(f"cli landscape {sub}: error: Option '--store' requires"), err


def test_trial_ids_right_after_chinese_are_checked_and_notes_are_chinese(run, tmp_path):
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps({"studies": [make_study(
        "NCT98700021", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE1"])]}))
    d = json.loads(run("check-claim", "--json", "--snapshot", str(snap),
                       "我们的NK细胞疗法正在进行三期临床试验NCT98700021。").stdout)
    assert [f["rule"] for f in d["flags"]] == ["claimed_phase"]
    assert "登记为" in d["flags"][0]["detail"]
    note = d["cross_check"]["phase"]
    assert "NCT98700021" in note and "计为NK细胞疗法" in note and "counted" not in note


def test_check_claim_uses_snapshot_for_cross_check(run, tmp_path):
    snap = tmp_path / "s.json"
    snap.write_text(
        json.dumps(
            {
                "studies": [
                    make_study(
                        "NCT98700021", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE1"]
                    )
                ]
            }
        )
    )
    d = json.loads(
        run(
            "check-claim", "--json", "--snapshot", str(snap), "Our NK cells are in phase 3 trials"
        ).stdout
    )
    assert [f["rule"] for f in d["flags"]] == ["claimed_phase"]
