"""The local study store: raw registry records in an embedded DuckDB file.

Each fetch (from the API or from an imported snapshot) is one row of ``fetches``
with its query, date and completeness; its raw records go to ``studies`` keyed by
``(fetch_id, nct_id)``. Records are written page by page, so a failure on page *n*
keeps pages 1..n-1 (marked incomplete). Landscapes can then be rebuilt offline and
compared over time.

Every fetch and import ends with a recorded outcome: a finish time, whether it is
complete, and its error. A row left without a finish time by a process that ended (killed,
power cut) is marked ``interrupted (process ended)`` the next time the store is opened:
the store is locked while open, so no other process can be running it.

Default location: ``$NKSIM_DATA_DIR/registry.duckdb``, else
``platformdirs.user_data_dir("nksim")/registry.duckdb``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nksim.errors import UserError

from ._record import nct_id_of, record_problem

STORE_FILENAME = "registry.duckdb"
DATA_DIR_ENV = "NKSIM_DATA_DIR"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS fetch_id_seq START 1;
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS fetches (
    fetch_id INTEGER PRIMARY KEY DEFAULT nextval('fetch_id_seq'),
    started_at VARCHAR NOT NULL,
    finished_at VARCHAR,
    source VARCHAR NOT NULL,
    query VARCHAR,
    base_url VARCHAR,
    data_timestamp VARCHAR,
    snapshot_path VARCHAR,
    total_count INTEGER,
    n_pages INTEGER NOT NULL DEFAULT 0,
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    error VARCHAR,
    constructed BOOLEAN NOT NULL DEFAULT FALSE,
    note VARCHAR
);
CREATE TABLE IF NOT EXISTS studies (
    fetch_id INTEGER NOT NULL,
    nct_id VARCHAR NOT NULL,
    page INTEGER NOT NULL,
    record VARCHAR NOT NULL,
    PRIMARY KEY (fetch_id, nct_id)
);
CREATE TABLE IF NOT EXISTS rejected (
    fetch_id INTEGER NOT NULL,
    page INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    record VARCHAR NOT NULL
);
"""
#: Longest raw text of a rejected record kept for inspection (characters).
REJECTED_RECORD_CHARS = 10_000
#: Longest free text (a note, an error, a path) kept in the fetches table.
MAX_TEXT_CHARS = 2000
#: What a registry ``dataTimestamp`` looks like (``2025-01-02T03:04:05``, a date, with or
#: without seconds' fractions and a zone); anything else is not kept.
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?")
#: Fetches being run by this process (path, fetch id): not dead, though unfinished.
_RUNNING: set[tuple[str, int]] = set()


def default_data_dir() -> Path:
    """``$NKSIM_DATA_DIR`` if set, else the platform's user data folder for nksim."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nksim"))


def default_store_path() -> Path:
    """Where the store lives unless ``--store`` says otherwise."""
    return default_data_dir() / STORE_FILENAME


def utc_now() -> str:
    """The current time in UTC as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class FetchInfo:
    """One fetch or import as recorded in the store."""

    fetch_id: int
    started_at: str
    finished_at: str | None
    source: str
    query: dict[str, Any] | None
    base_url: str | None
    data_timestamp: str | None
    snapshot_path: str | None
    total_count: int | None
    n_pages: int
    n_studies: int
    complete: bool
    error: str | None
    constructed: bool
    note: str | None

    n_rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class StudyStore:
    """Raw study records in a DuckDB file.

    Parameters
    ----------
    path
        The database file (default :func:`default_store_path`).
    create
        If False, a missing file is a :class:`~nksim.errors.UserError` telling the
        user to fetch or pass a snapshot, and nothing is created.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        import duckdb

        self.path = Path(path) if path is not None else default_store_path()
        if not self.path.exists():
            if not create:
                raise UserError(
                    f"no local store at {self.path}: run `nksim landscape fetch` or "
                    "`nksim landscape import FILE` (report and check-claim also take "
                    "--snapshot FILE)"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"{self.path}: cannot make its folder "
                                f"({exc.strerror or type(exc).__name__})") from None
        elif self.path.is_dir():
            raise UserError(f"{self.path}: is a folder; --store takes a database file path")
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise UserError(f"{self.path}: cannot open the store ({_first_line(exc)})") from None
        problem = _not_a_store(self._con)
        if problem is not None:
            self._con.close()
            raise UserError(f"{self.path}: {problem}; nothing was changed: choose another "
                            "--store")
        self._con.execute(_SCHEMA)
        self._con.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION]
        )
        self._mark_dead_runs()

    def _key(self, fetch_id: int) -> tuple[str, int]:
        return (str(self.path.resolve()), fetch_id)

    def _mark_dead_runs(self) -> None:
        """Give every unfinished fetch that no one is running an outcome."""
        rows = self._con.execute(
            "SELECT fetch_id FROM fetches WHERE finished_at IS NULL").fetchall()
        for (fetch_id,) in rows:
            if self._key(fetch_id) not in _RUNNING:
                self._con.execute(
                    """UPDATE fetches SET finished_at = ?, complete = FALSE,
                           error = coalesce(error, 'interrupted (process ended)')
                       WHERE fetch_id = ?""", [utc_now(), fetch_id])

    # -- lifecycle
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing
    def begin_fetch(
        self,
        *,
        source: str,
        query: Mapping[str, Any] | None = None,
        base_url: str | None = None,
        data_timestamp: str | None = None,
        snapshot_path: str | None = None,
        constructed: bool = False,
        note: str | None = None,
    ) -> int:
        """Record the start of a fetch or import and return its id.

        A ``data_timestamp`` that is not a short date-like string is not kept; free
        texts are kept as valid UTF-8 (unpaired surrogates escaped) and cut short.
        """
        row = self._con.execute(
            """INSERT INTO fetches (started_at, source, query, base_url, data_timestamp,
                                    snapshot_path, constructed, note)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING fetch_id""",
            [
                utc_now(),
                source,
                json.dumps(dict(query), sort_keys=True, default=str)
                if query is not None else None,
                safe_text(base_url),
                clean_timestamp(data_timestamp),
                safe_text(snapshot_path),
                constructed,
                safe_text(note),
            ],
        ).fetchone()
        assert row is not None
        _RUNNING.add(self._key(int(row[0])))
        return int(row[0])

    def set_data_timestamp(self, fetch_id: int, data_timestamp: Any) -> None:
        """Record the registry's ``dataTimestamp`` (dropped unless date-like)."""
        self._con.execute("UPDATE fetches SET data_timestamp = ? WHERE fetch_id = ?",
                          [clean_timestamp(data_timestamp), fetch_id])

    def add_page(self, fetch_id: int, page: int, studies: Iterable[Any]) -> int:
        """Store one page of raw records in one transaction; return how many were new.

        Each record is checked on arrival (:func:`record_problem`); a malformed one is
        kept aside in the ``rejected`` table with its reason, never among the studies.
        A record already stored by this fetch (same NCT ID) is replaced, not counted.
        """
        rows, rejected = {}, []
        for study in studies:
            problem = record_problem(study)
            if problem is not None:
                text = json.dumps(study, default=str)  # ASCII: keeps bad text storable
                rejected.append((fetch_id, page, safe_text(problem),
                                 text[:REJECTED_RECORD_CHARS]))
                continue
            rows[nct_id_of(study)] = json.dumps(study, ensure_ascii=False)
        self._con.execute("BEGIN TRANSACTION")
        try:
            new = 0
            if rows:
                known = {r[0] for r in self._con.execute(
                    "SELECT nct_id FROM studies WHERE fetch_id = ? AND nct_id IN "
                    f"({', '.join('?' * len(rows))})", [fetch_id, *rows]).fetchall()}
                new = len(rows.keys() - known)
                self._con.executemany("INSERT OR REPLACE INTO studies VALUES (?, ?, ?, ?)",
                                      [(fetch_id, nct, page, rec) for nct, rec in rows.items()])
            if rejected:
                self._con.executemany("INSERT INTO rejected VALUES (?, ?, ?, ?)", rejected)
            self._con.execute(
                "UPDATE fetches SET n_pages = greatest(n_pages, ?) WHERE fetch_id = ?",
                [page, fetch_id],
            )
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        return new

    def rejected(self, fetch_id: int) -> list[tuple[int, str]]:
        """``(page, reason)`` of every record of a fetch that was kept aside."""
        return [tuple(r) for r in self._con.execute(
            "SELECT page, reason FROM rejected WHERE fetch_id = ? ORDER BY page", [fetch_id]
        ).fetchall()]

    def finish_fetch(
        self,
        fetch_id: int,
        *,
        complete: bool,
        total_count: int | None = None,
        error: str | None = None,
    ) -> FetchInfo:
        """Mark a fetch finished (complete or not) and return its record."""
        self._con.execute(
            """UPDATE fetches SET finished_at = ?, complete = ?, error = ?,
                   total_count = coalesce(?, total_count) WHERE fetch_id = ?""",
            [utc_now(), complete, safe_text(error), total_count, fetch_id],
        )
        _RUNNING.discard(self._key(fetch_id))
        return self.get_fetch(fetch_id)

    def delete_fetch(self, fetch_id: int) -> None:
        """Remove a fetch and its records (used for fetches that stored nothing)."""
        self._con.execute("DELETE FROM studies WHERE fetch_id = ?", [fetch_id])
        self._con.execute("DELETE FROM rejected WHERE fetch_id = ?", [fetch_id])
        self._con.execute("DELETE FROM fetches WHERE fetch_id = ?", [fetch_id])

    def import_records(
        self,
        studies: list[dict[str, Any]],
        *,
        snapshot_path: str | None = None,
        query: Mapping[str, Any] | None = None,
        data_timestamp: str | None = None,
        constructed: bool = False,
        note: str | None = None,
    ) -> FetchInfo:
        """Store records read from a snapshot file as one complete fetch (an import that
        fails or is interrupted is recorded incomplete, with its error)."""
        fetch_id = self.begin_fetch(
            source="snapshot",
            query=query,
            snapshot_path=snapshot_path,
            data_timestamp=data_timestamp,
            constructed=constructed,
            note=note,
        )
        try:
            self.add_page(fetch_id, 1, studies)
        except BaseException as exc:
            reason = str(exc) if isinstance(exc, UserError) else (
                f"interrupted ({type(exc).__name__})" if not isinstance(exc, Exception)
                else f"failed ({type(exc).__name__}: {exc})")
            self.finish_fetch(fetch_id, complete=False, error=reason)
            raise
        return self.finish_fetch(fetch_id, complete=True, total_count=len(studies))

    # -- reading
    _SELECT = """SELECT f.fetch_id, f.started_at, f.finished_at, f.source, f.query, f.base_url,
                        f.data_timestamp, f.snapshot_path, f.total_count, f.n_pages,
                        (SELECT count(*) FROM studies s WHERE s.fetch_id = f.fetch_id),
                        f.complete, f.error, f.constructed, f.note,
                        (SELECT count(*) FROM rejected r WHERE r.fetch_id = f.fetch_id)
                 FROM fetches f"""

    def _info(self, row: tuple[Any, ...]) -> FetchInfo:
        return FetchInfo(
            fetch_id=row[0],
            started_at=row[1],
            finished_at=row[2],
            source=row[3],
            query=json.loads(row[4]) if row[4] else None,
            base_url=row[5],
            data_timestamp=row[6],
            snapshot_path=row[7],
            total_count=row[8],
            n_pages=row[9],
            n_studies=row[10],
            complete=bool(row[11]),
            error=row[12],
            constructed=bool(row[13]),
            note=row[14],
            n_rejected=row[15],
        )

    def fetches(self) -> list[FetchInfo]:
        """All fetches, oldest first."""
        rows = self._con.execute(self._SELECT + " ORDER BY f.fetch_id").fetchall()
        return [self._info(r) for r in rows]

    def get_fetch(self, fetch_id: int) -> FetchInfo:
        row = self._con.execute(self._SELECT + " WHERE f.fetch_id = ?", [fetch_id]).fetchone()
        if row is None:
            raise UserError(f"no fetch #{fetch_id} in {self.path}", field="--fetch-id")
        return self._info(row)

    def latest_fetch(self) -> FetchInfo | None:
        """The newest complete fetch; else the newest incomplete one holding records."""
        usable = [f for f in self.fetches() if f.n_studies > 0]
        complete = [f for f in usable if f.complete]
        if complete:
            return complete[-1]
        return usable[-1] if usable else None

    def load_studies(self, fetch_id: int) -> list[dict[str, Any]]:
        """The raw records of one fetch, in page then NCT-ID order (see
        :meth:`load_valid_studies` for records of stores written before arrival checks)."""
        rows = self._con.execute(
            "SELECT record FROM studies WHERE fetch_id = ? ORDER BY page, nct_id", [fetch_id]
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def load_valid_studies(self, fetch_id: int) -> tuple[list[dict[str, Any]], int]:
        """The records of one fetch that pass today's arrival check, and how many did not
        (a store written by an older nksim may hold records never checked)."""
        good, skipped = [], 0
        for rec in self.load_studies(fetch_id):
            if record_problem(rec) is None:
                good.append(rec)
            else:
                skipped += 1
        return good, skipped


def clean_timestamp(value: Any) -> str | None:
    """``value`` if it is a short date-like string (a registry ``dataTimestamp``), else
    None: a list, an object or megabytes of text from a server are not kept."""
    if isinstance(value, str) and len(value) <= 40 and _TIMESTAMP.fullmatch(value.strip()):
        return value.strip()
    return None


def safe_text(value: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    """``value`` as storable UTF-8 (unpaired surrogates and NULs escaped), cut to ``limit``."""
    if value is None:
        return None
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\0")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _tables(con: Any) -> dict[str, list[str]]:
    rows = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                       "ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


@functools.lru_cache(maxsize=1)
def _store_tables() -> dict[str, list[str]]:
    """The tables and columns of :data:`_SCHEMA` (made in an in-memory database)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(_SCHEMA)
        return _tables(con)


def _not_a_store(con: Any) -> str | None:
    """Why an opened database cannot be used as this nksim's store (None if it can, or it is
    empty): another schema version, a table of nksim's with other columns, or other tables
    and none of nksim's. Checked before
    anything is written, so that a foreign DuckDB file is never changed."""
    found = _tables(con)
    ours = _store_tables()
    if found.get("meta") == ours["meta"]:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            return (f"written by another nksim version (store schema {row[0]}; this nksim "
                    f"reads schema {SCHEMA_VERSION})")
    for table, columns in ours.items():
        if table in found and found[table] != columns:
            return (f"not an nksim store (its table {table!r} has columns "
                    f"{', '.join(found[table])})")
    if found and not set(found) & set(ours):
        return f"not an nksim store (it holds other tables ({', '.join(sorted(found)[:5])}))"
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
