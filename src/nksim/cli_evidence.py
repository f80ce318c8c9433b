"""Command-line commands of the evidence layer: ``nksim landscape`` and ``nksim check-claim``."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from nksim.cli import OneLineGroup
from nksim.errors import UserError

_STORE_HELP = (
    "DuckDB store file (default: $NKSIM_DATA_DIR/registry.duckdb, else the user data folder)."
)


def _print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that a fetch or import records its outcome."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a fetch or import runs, SIGTERM ends it like Ctrl-C (recorded as interrupted)
    instead of killing the process with the fetch left unfinished in the store."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _set_aside(n: int) -> str:
    return f", {n} malformed record(s) set aside" if n else ""


@click.group(cls=OneLineGroup)
def landscape() -> None:
    """The ClinicalTrials.gov landscape of NK-cell-therapy trials."""


@landscape.command("fetch")
@click.option(
    "--query",
    "query_intr",
    metavar="TEXT",
    help='Intervention search (query.intr). Default: "NK cell" OR "NK cells" OR "natural killer".',
)
@click.option("--term", metavar="TEXT", help="Other-terms search (query.term).")
@click.option("--cond", metavar="TEXT", help="Condition search (query.cond).")
@click.option(
    "--param",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help=(
        "Any other /studies parameter, e.g. filter.advanced=AREA[Phase]PHASE3; "
        "replaces a default of the same key (repeatable)."
    ),
)
@click.option(
    "--all-study-types",
    is_flag=True,
    help="Do not add filter.advanced=AREA[StudyType]INTERVENTIONAL.",
)
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), help=_STORE_HELP)
@click.option("--page-size", type=click.IntRange(1, 1000), default=1000, show_default=True)
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop after this many pages.")
@click.option(
    "--min-interval",
    type=click.FloatRange(min=0.5),
    default=1.0,
    show_default=True,
    help="Seconds between requests (robots.txt asks for 1).",
)
@click.option("--base-url", default=None, hidden=True)
def fetch(
    query_intr: str | None,
    term: str | None,
    cond: str | None,
    extra: tuple[str, ...],
    all_study_types: bool,
    store: Path | None,
    page_size: int,
    max_pages: int | None,
    min_interval: float,
    base_url: str | None,
) -> None:
    """Fetch NK trials from ClinicalTrials.gov into the local store (needs the network)."""
    from nksim.evidence import (
        BASE_URL,
        DEFAULT_QUERY,
        RegistryClient,
        StudyStore,
        check_params,
        fetch_to_store,
    )

    params: dict[str, str] = {"query.intr": query_intr or DEFAULT_QUERY["query.intr"]}
    if term:
        params["query.term"] = term
    if cond:
        params["query.cond"] = cond
    if not all_study_types:
        params["filter.advanced"] = DEFAULT_QUERY["filter.advanced"]
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"expected KEY=VALUE, got {item!r}", field="--param")
        params[key.strip()] = value
    check_params(params)  # refuse known pitfalls before creating a store
    with (
        _sigterm_interrupts(),
        StudyStore(store) as db,
        RegistryClient(base_url or BASE_URL, min_interval=min_interval) as client,
    ):

        def progress(page: Any, stored: int) -> None:
            total = f" of {page.total_count}" if page.total_count is not None else ""
            click.echo(f"page {page.number}: {stored}{total} studies stored", err=True)

        info = fetch_to_store(
            db, client, params, page_size=page_size, max_pages=max_pages, progress=progress
        )
    state = "complete" if info.complete else f"INCOMPLETE ({info.error})"
    click.echo(
        f"fetch #{info.fetch_id}: {info.n_studies} studies{_set_aside(info.n_rejected)}, "
        f"{state}, stored in {db.path}\n"
        "next: nksim landscape report"
    )


@landscape.command("import")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), help=_STORE_HELP)
def import_(snapshot: Path, store: Path | None) -> None:
    """Import a snapshot file (a page {"studies": [...]} or JSON lines) into the store."""
    from nksim.evidence import StudyStore, load_snapshot

    snap = load_snapshot(snapshot)
    with _sigterm_interrupts(), StudyStore(store) as db:
        info = db.import_records(
            snap.studies,
            snapshot_path=str(snapshot),
            query=snap.query,
            data_timestamp=snap.data_timestamp or snap.fetched_at,
            constructed=snap.constructed,
            note=str(snap.meta.get("_comment") or snap.meta.get("_note") or "") or None,
        )
    label = " (CONSTRUCTED data)" if info.constructed else ""
    click.echo(f"fetch #{info.fetch_id}: imported {info.n_studies} studies{label}"
               f"{_set_aside(info.n_rejected)} into {db.path}")


@landscape.command("history")
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), help=_STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history(store: Path | None, as_json: bool) -> None:
    """List the fetches and imports kept in the store, oldest first."""
    from nksim.evidence import StudyStore

    with StudyStore(store, create=False) as db:
        fetches = db.fetches()
    if as_json:
        _print_json([f.to_dict() for f in fetches])
        return
    if not fetches:
        click.echo("the store holds no fetches")
    for f in fetches:
        flags = ("complete" if f.complete else "incomplete") + (
            ", CONSTRUCTED" if f.constructed else ""
        ) + (f", {f.n_rejected} set aside" if f.n_rejected else "")
        error = f": {_short(f.error)}" if f.error and not f.complete else ""
        click.echo(
            f"#{f.fetch_id}  {f.started_at}  {f.source:8s}  {f.n_studies:6d} studies  "
            f"({flags}){error}"
        )


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@landscape.command("report")
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path),
    help="Build from this snapshot file instead of the local store.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Use the small CONSTRUCTED demo snapshot shipped with nksim (not real data).",
)
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), help=_STORE_HELP)
@click.option("--fetch-id", type=int, help="Which stored fetch (default: the latest complete one).")
@click.option("--json", "as_json", is_flag=True, help="Print the landscape as one JSON object.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write report.html, trials.csv, trials.parquet, counts.csv and landscape.json here.",
)
def report(
    snapshot: Path | None,
    demo: bool,
    store: Path | None,
    fetch_id: int | None,
    as_json: bool,
    out: Path | None,
) -> None:
    """Count NK trials by phase, status, start year, country, product and indication."""
    from nksim.evidence import (
        StudyStore,
        demo_snapshot_path,
        landscape_from_snapshot,
        landscape_from_store,
        load_snapshot,
    )

    if snapshot is not None and demo:
        raise UserError("give --snapshot or --demo, not both")
    if (snapshot is not None or demo) and (fetch_id is not None or store is not None):
        raise UserError("--store and --fetch-id apply to the local store, not to a snapshot")
    if snapshot is not None or demo:
        land = landscape_from_snapshot(load_snapshot(demo_snapshot_path() if demo else snapshot))
    else:
        with StudyStore(store, create=False) as db:
            land = landscape_from_store(db, fetch_id)
        if land.records_skipped:
            click.echo(f"nksim: warning: {land.records_skipped} stored record(s) of fetch "
                       f"#{land.source.fetch_id} are malformed (written by an older nksim) "
                       "and were skipped", err=True)
    if out is not None:
        from nksim.report.landscape import write_report

        paths = write_report(land, out)
        click.echo(f"wrote {', '.join(p.name for p in paths)} to {out}", err=as_json)
    if as_json:
        _print_json(land.to_dict())
    elif out is None:
        click.echo(land.summary_text())


@click.command("check-claim")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the claim from a UTF-8 file ('-' for standard input).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option(
    "--lang",
    type=click.Choice(["en", "zh"]),
    help="Language of the explanation (default: detected).",
)
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path),
    help="Cross-check claimed phases and approvals against this snapshot.",
)
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), help=_STORE_HELP)
@click.option(
    "--no-landscape", is_flag=True, help="Do not cross-check against the stored landscape."
)
@click.option(
    "--url",
    "url",
    help="Address of the page the text comes from: its host (government, academic, "
    "publisher, news or clinic site) is read as evidence of who speaks.",
)
def check_claim(
    text: str | None,
    file: Path | None,
    as_json: bool,
    lang: str | None,
    snapshot: Path | None,
    store: Path | None,
    no_landscape: bool,
    url: str | None,
) -> None:
    """Check a cell-therapy marketing claim for regulators' red flags.

    TEXT is the claim (English or Chinese); or use --file. The verdict is
    likely_scam, caution or no_red_flags. Not medical or legal advice.
    With --url, the host of the page's address is read too (e.g.
    --url https://www.fda.gov/...); without it, the text alone.
    """
    from nksim.evidence import check_claim as run_check
    from nksim.evidence._claims_host import parse_host

    if url is not None and parse_host(url) is None:
        raise UserError(f"not a web address with a host name (got {url[:80]!r})", field="url")

    if (text is None) == (file is None):
        raise UserError("give the claim as TEXT or with --file, not both and not neither")
    if no_landscape and (snapshot is not None or store is not None):
        raise UserError("--snapshot and --store name a landscape to cross-check against; "
                        "--no-landscape asks for none", field="--no-landscape")
    if file is not None:
        text = _read_claim(file)
    elif any("\udc80" <= c <= "\udcff" for c in text):  # bytes the shell's locale could
        raise UserError("not UTF-8 text (binary data or another encoding?)", field="TEXT")
    assert text is not None
    if not text.strip():
        raise UserError("the claim is empty: give the text of an advert or article")
    if _looks_binary(text):
        raise UserError("the claim looks like binary data, not text")
    # the stored landscape is loaded only if the text claims a phase or an approval
    result = run_check(text, language=lang, url=url, landscape=None if no_landscape else (
        lambda: _landscape_for_claims(snapshot, store)))
    if as_json:
        _print_json(result.to_dict())
        return
    from nksim.evidence._claims import severity_label, verdict_label

    zh = result.language == "zh"
    click.echo(("结论：" if zh else "Verdict: ") + verdict_label(result.verdict, result.language))
    for f in result.flags:
        sev = severity_label(f.severity, result.language)
        span = f"：“{f.span}”" if zh and f.span else (f": \u201c{f.span}\u201d" if f.span else "")
        click.echo(f"  [{sev}] {f.title}{span}{f.count_suffix(result.language)}")
        if f.detail:
            click.echo(f"      {f.detail}")
        click.echo(("      依据：" if zh else "      source: ") + f.source)
    for key, note in result.cross_check.items():
        label = f"登记数据核对（{_CROSS_ZH.get(key, key)}）" if zh else f"registry check ({key})"
        click.echo(f"  {label}: {note}")
    if result.probability is not None:
        p = f"{result.probability:.2f}"
        click.echo(f"  学习模型概率：{p}" if zh else f"  learned-model probability: {p}")
    click.echo("")
    click.echo(result.explanation)
    click.echo("")
    click.echo(result.to_dict()["disclaimer"])


_CROSS_ZH = {"phase": "试验分期", "approval": "批准"}


def _looks_binary(text: str) -> bool:
    """More than 5 % control characters (other than whitespace) in the first 64 kB."""
    sample = text[:65536]
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r\f\v") or c == "\ufffd")
    return bad > 0.05 * len(sample)


#: the largest claim read from a file or standard input (a web page's text is far smaller;
#: an ordinary 1 MB text is checked in 0.5-0.75 s through the command line: docs/evidence.md)
MAX_CLAIM_BYTES = 8 * 2**20


def _read_claim(file: Path) -> str:
    """The claim in ``file`` (``-``: standard input), read up to :data:`MAX_CLAIM_BYTES`
    (an endless input such as /dev/zero is refused, not read until memory runs out)."""
    name = "standard input" if str(file) == "-" else str(file)
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(MAX_CLAIM_BYTES + 1)
        else:
            with open(file, "rb") as fh:
                data = fh.read(MAX_CLAIM_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_CLAIM_BYTES:
        raise UserError(f"{name}: longer than {MAX_CLAIM_BYTES // 2**20} MB; check an excerpt")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{name}: not UTF-8 text (binary data?)") from None


def _landscape_for_claims(snapshot: Path | None, store: Path | None) -> Any:
    """A landscape to cross-check against: the snapshot, else the store if it has data."""
    from nksim.evidence import (
        StudyStore,
        default_store_path,
        landscape_from_snapshot,
        landscape_from_store,
        load_snapshot,
    )

    if snapshot is not None:
        return landscape_from_snapshot(load_snapshot(snapshot))
    path = store or default_store_path()
    if not path.exists():
        if store is not None:
            raise UserError(f"no local store at {path}", field="--store")
        return None
    with StudyStore(path, create=False) as db:
        if db.latest_fetch() is None:
            return None
        return landscape_from_store(db)
