"""The DuckDB store, fetching into it page by page, and snapshot files."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from nksim.errors import OfflineError, UserError
from nksim.evidence import (
    RegistryError,
    StudyStore,
    default_store_path,
    demo_snapshot_path,
    fetch_to_store,
    landscape_from_store,
    load_snapshot,
)

from .conftest import FakeRegistry, make_study, page


def _ids(n, start=1):
    return [f"NCT983{i:05d}" for i in range(start, start + n)]


def test_default_store_follows_env(_isolated_data_dir):
    assert default_store_path() == _isolated_data_dir / "registry.duckdb"


def test_fetch_keeps_records_query_and_date(tmp_path):
    fake = FakeRegistry(
        [
            page([make_study(i) for i in _ids(2)], "t2", total=3),
            page([make_study(i) for i in _ids(1, 3)]),
        ]
    )
    with StudyStore(tmp_path / "s.duckdb") as store, fake.client() as client:
        info = fetch_to_store(store, client, {"query.intr": "NK cell"})
        assert info.complete and info.n_studies == 3 and info.total_count == 3 and info.n_pages == 2
        assert info.query == {"query.intr": "NK cell"}
        assert info.data_timestamp == "2025-01-02T03:04:05"  # from /version
        assert info.started_at.endswith("Z")
        stored = {
            s["protocolSection"]["identificationModule"]["nctId"]
            for s in store.load_studies(info.fetch_id)
        }
    assert stored == set(_ids(3))


def test_nothing_fetched_is_lost_when_a_later_page_fails(tmp_path):
    fake = FakeRegistry(
        [
            page([make_study(i) for i in _ids(2)], "t2", total=6),
            page([make_study(i) for i in _ids(2, 3)], "t3"),
        ]
        + [httpx.Response(500)] * 6
    )
    path = tmp_path / "s.duckdb"
    with StudyStore(path) as store, fake.client() as client:
        with pytest.raises(RegistryError) as err:
            fetch_to_store(store, client)
    assert "4 studies from 2 page(s) were kept as incomplete fetch #1" in str(err.value)
    with StudyStore(path, create=False) as store:
        (info,) = store.fetches()
        assert not info.complete and info.n_studies == 4 and info.total_count == 6
        assert "HTTP 500" in info.error
        land = landscape_from_store(store)
    assert not land.source.complete
    assert "lower bound" in land.to_dict()["article_claim"]["text"]


def test_offline_fetch_stores_nothing_and_records_its_failure(tmp_path):
    fake = FakeRegistry([], offline=True)
    with StudyStore(tmp_path / "s.duckdb") as store, fake.client() as client:
        with pytest.raises(OfflineError):
            fetch_to_store(store, client)
        (info,) = store.fetches()  # history shows the failed attempt
        assert info.n_studies == 0 and not info.complete
        assert info.finished_at is not None and "cannot reach" in info.error
        assert store.latest_fetch() is None  # and reports never use it


def test_failure_on_first_page_is_recorded_without_studies(tmp_path):
    fake = FakeRegistry([httpx.Response(500)] * 2)
    with StudyStore(tmp_path / "s.duckdb") as store, fake.client(max_retries=1) as client:
        with pytest.raises(RegistryError):
            fetch_to_store(store, client)
        (info,) = store.fetches()
        assert info.n_studies == 0 and not info.complete
        assert info.finished_at is not None and "HTTP 500" in info.error
        assert store.latest_fetch() is None


def test_latest_fetch_prefers_complete_ones(tmp_path):
    with StudyStore(tmp_path / "s.duckdb") as store:
        a = store.import_records([make_study("NCT98390001")])
        b = store.begin_fetch(source="api", query={"q": 1})
        store.add_page(b, 1, [make_study("NCT98390002")])
        store.finish_fetch(b, complete=False, error="boom")
        assert store.latest_fetch().fetch_id == a.fetch_id
        c = store.begin_fetch(source="api")
        store.add_page(c, 1, [make_study("NCT98390003")])
        store.finish_fetch(c, complete=True)
        assert store.latest_fetch().fetch_id == c
        assert [f.fetch_id for f in store.fetches()] == [a.fetch_id, b, c]


def test_duplicate_records_in_overlapping_pages_are_stored_once(tmp_path):
    with StudyStore(tmp_path / "s.duckdb") as store:
        f = store.begin_fetch(source="api")
        store.add_page(f, 1, [make_study("NCT98390001"), make_study("NCT98390002")])
        store.add_page(f, 2, [make_study("NCT98390002")])
        store.finish_fetch(f, complete=True)
        assert store.get_fetch(f).n_studies == 2


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="nksim landscape fetch.*--snapshot"):
        StudyStore(tmp_path / "none.duckdb", create=False)
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.parametrize(("tables", "message"), [
    ("CREATE TABLE fetches (x INTEGER)", "its table 'fetches' has columns x"),
    ("CREATE TABLE meta (a INTEGER)", "its table 'meta' has columns a"),
    ("CREATE TABLE sales (a INTEGER)", "it holds other tables (sales)"),
])
def test_a_database_that_is_not_a_store_is_refused_and_left_unchanged(tmp_path, tables,
                                                                      message):
    import duckdb

    path = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(tables)
    with pytest.raises(UserError, match=re.escape(f"not an nksim store ({message})")):
        StudyStore(path)
    with duckdb.connect(str(path)) as con:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
    assert names == [tables.split()[2]]  # nothing was added


def test_a_store_of_another_schema_version_says_so(tmp_path):
    import duckdb

    path = tmp_path / "s.duckdb"
    StudyStore(path).close()
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        con.execute("ALTER TABLE fetches ADD COLUMN later VARCHAR")  # a future column
    with pytest.raises(UserError, match=r"written by another nksim version \(store schema 2"):
        StudyStore(path)


def test_a_store_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="cannot make its folder"):
        StudyStore(tmp_path / "afile" / "s.duckdb")


def test_empty_store_is_a_clear_error(tmp_path):
    with (
        StudyStore(tmp_path / "s.duckdb") as store,
        pytest.raises(UserError, match="holds no study records"),
    ):
        landscape_from_store(store)


# ------------------------------------------------------------------ snapshots


def test_snapshot_page_json_lines_and_list(tmp_path):
    studies = [make_study(i) for i in _ids(3)]
    (tmp_path / "page.json").write_text(
        json.dumps({"studies": studies, "_meta": {"fetched_at": "2024-12-31"}})
    )
    (tmp_path / "lines.jsonl").write_text("\n".join(json.dumps(s) for s in studies) + "\n")
    (tmp_path / "list.json").write_text(json.dumps(studies))
    (tmp_path / "pages.jsonl").write_text(
        json.dumps({"studies": studies[:2], "nextPageToken": "x"})
        + "\n"
        + json.dumps({"studies": studies[2:]})
        + "\n"
    )
    for name in ("page.json", "lines.jsonl", "list.json", "pages.jsonl"):
        snap = load_snapshot(tmp_path / name)
        assert [
            s["protocolSection"]["identificationModule"]["nctId"] for s in snap.studies
        ] == _ids(3), name
        assert snap.constructed  # make_study marks every record "_constructed"
    assert load_snapshot(tmp_path / "page.json").fetched_at == "2024-12-31"


def test_demo_snapshot_is_labelled_constructed():
    snap = load_snapshot(demo_snapshot_path())
    assert snap.constructed
    assert "CONSTRUCTED" in snap.meta["_comment"]
    assert all(
        s["protocolSection"]["identificationModule"]["nctId"].startswith("NCT99")
        for s in snap.studies
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"studies": [', "not valid JSON \\(line 1"),
        ("", "empty"),
        ('{"studies": {}}', "must be a list"),
        ('{"studies": []}', "no study records"),
        ('{"studies": [{"protocolSection": {}}]}', "study #1 has no"),
        ('{"hello": 1}', "expected a page"),
        ('{"studies": []}\n{"broken"', "line 2"),
    ],
)
def test_bad_snapshots_name_the_file(tmp_path, content, message):
    path = tmp_path / "snap.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message) as err:
        load_snapshot(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_snapshot_names_the_file(tmp_path):
    with pytest.raises(UserError, match="no such snapshot file") as err:
        load_snapshot(tmp_path / "nope.json")
    assert "nope.json" in str(err.value)


def test_snapshot_duplicates_are_dropped(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(json.dumps({"studies": [make_study("NCT98390001"), make_study("NCT98390001")]}))
    snap = load_snapshot(path)
    assert len(snap.studies) == 1 and snap.duplicates == 1
