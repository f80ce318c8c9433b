"""A chunked run into an output folder: streamed, bounded in memory, resumable.

While a run is going on, finished chunks are written to a hidden sibling of the output
folder, ``.NAME.partial/`` (``manifest.json``, ``timecourse/part-K.parquet|csv``,
``patients/part-K.parquet``); each part file appears by an atomic rename, the status part
after the time-course part, so a chunk counts as done only when both are complete. The
output folder itself appears (as a whole, through :func:`nksim._io.atomic_output_dir`)
only when every chunk is done; a killed run leaves no ``summary.json`` anywhere.
``resume=True`` continues from the chunks already written, after checking that the run
there is of the same inputs (:func:`fingerprint`); a chunk whose part files are not whole
or not its own (:func:`_part_ok`: a Parquet footer that does not read, counts other rows
or other patients, a CSV part with other rows or patients) is computed again
(``chunks_recomputed``), never trusted; only files named as the run writes them are
kept. A run holds an exclusive lock (:class:`_RunLock`, ``.NAME.lock`` beside the output
folder) from the moment it reads the hidden folder until its output folder is in place.

Two halves, shared by ``nksim simulate`` (:func:`run_to_folder`) and ``nksim trial``
(``nksim.report.trial.run_trial_to_folder``): :func:`run_chunks` computes and writes the
chunks, :func:`finish_run` gathers them into the output folder, where a caller's
``write`` puts its own files (``summary.json`` last).

Output folder: ``timecourse.parquet/`` (a partitioned Parquet dataset, one file per
chunk; ``pandas.read_parquet`` and ``pyarrow.dataset`` read the folder as one table) or
``timecourse.csv`` (written by pyarrow's CSV writer, chunk after chunk),
``patients.parquet`` (one row per patient: status, message, steps, extinction times) and
``summary.json`` (counts, execution, scenario; the per-patient list only for runs of at
most :data:`SUMMARY_PATIENT_LIMIT` patients).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nksim import __version__
from nksim._io import _pid_alive, atomic_output_dir, check_output_dir, write_text_atomic
from nksim.engine._chunked import (
    ChunkOutput,
    Population,
    _arrow_numbers,
    count_chunks,
    default_chunk_size,
    simulate_chunks,
)
from nksim.errors import UserError
from nksim.execution._connect import DEFAULT_CONNECT_TIMEOUT_S, connect_scheduler

#: summary.json lists every patient only up to this many patients (all of them are always
#: in patients.parquet).
SUMMARY_PATIENT_LIMIT = 1000
MANIFEST = "manifest.json"
FORMATS = ("csv", "parquet")
#: Dictionary encoding only for the repetitive columns: 3x less CPU than pyarrow's default
#: (dictionary for every column) on W1 chunks, and smaller files (benchmarks/bench_scale.py).
#: The statistics (min and max in the footer) of patient, time and arm let a resumed run
#: check, from the footer alone, that a part holds its chunk's patients.
PARQUET_OPTIONS = {"use_dictionary": ["patient", "time", "arm"],
                   "write_statistics": ["patient", "time", "arm"]}


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_to_folder` did: counts, times and where the files are."""

    folder: Path
    n_patients: int
    status_counts: dict[str, int]
    chunks: int
    chunks_resumed: int
    run_time: float
    wall_time: float
    files: list[str]
    already_complete: bool = False
    #: chunks of the interrupted run whose part files were not whole (computed again)
    chunks_recomputed: int = 0


def partial_dir(out_dir: str | os.PathLike) -> Path:
    """The hidden folder holding the finished chunks of a run into ``out_dir``."""
    target = Path(out_dir).absolute()
    return target.parent / f".{target.name}.partial"


def fingerprint(population: Population, extra: str = "") -> str:
    """SHA-256 of everything that determines the results (model structure and values,
    output times, every patient's parameters, initial state, doses, ids and covariates,
    solver tolerances, nksim's version, and ``extra``: what a caller adds to each chunk,
    e.g. a trial's arms); chunk size, threads and scheduler excluded."""
    h = hashlib.sha256()
    m = population.model
    opts = population.options

    def add(label: str, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        h.update(label.encode() + len(raw).to_bytes(8, "little") + raw)

    add("nksim", __version__)
    add("structure", m.structure_key())
    add("values", np.ascontiguousarray(m.parameter_vector(), float).tobytes())
    add("initial_default", np.ascontiguousarray(m.initial_vector(), float).tobytes())
    add("extinction", repr([(s.name, s.extinction) for s in m.states]))
    add("times", np.ascontiguousarray(population.times, float).tobytes())
    add("t_start", repr(float(population.t_start)))
    add("parameters", np.ascontiguousarray(population.parameters, float).tobytes())
    add("initial", np.ascontiguousarray(population.initial, float).tobytes())
    add("doses", repr(list(population.doses)))
    add("options", repr((opts.rtol, sorted(opts.atol.items()) if isinstance(opts.atol, dict)
                         else opts.atol, opts.max_steps, opts.h_max)))
    if population.patient_ids is not None:
        add("ids", "\x1f".join(map(str, np.asarray(population.patient_ids).tolist())))
    if population.covariates is not None:
        import pandas as pd

        cov = population.covariates
        add("covariates", repr(list(map(str, cov.columns))) +
            pd.util.hash_pandas_object(cov, index=False).to_numpy().tobytes().hex())
    if extra:
        add("extra", extra)
    return h.hexdigest()


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _part(k: int, ext: str) -> str:
    return f"part-{k:06d}.{ext}"


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # (a read-only disk: the first error is the one)
            tmp.unlink()
        raise


class _RunLock:
    """An exclusive lock (``flock``) on ``.NAME.lock`` beside the output folder ``target``,
    held by a run from before it reads its hidden folder until its output folder is in
    place: a second run into the same folder gets a one-line :class:`UserError`. The
    kernel releases the lock when its process ends, so the lock file a killed run leaves
    never blocks a resume. A run that only reads (refused, or finding its folder complete)
    leaves such a file as it was; :meth:`claim` (the run writes) makes :meth:`release`
    remove it."""

    def __init__(self, target: Path, out_dir: str | os.PathLike) -> None:
        import fcntl

        self.path = target.parent / f".{target.name}.lock"
        self.made = [p for p in self.path.parents if not p.is_dir()]  # deepest first
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd: int | None = None
        while True:
            try:
                fd, self.created = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL,
                                           0o666), True
            except FileExistsError:
                try:
                    fd, self.created = os.open(self.path, os.O_RDWR), False
                except FileNotFoundError:  # removed meanwhile by the run that held it
                    continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    break  # a file system without locks: run unlocked, as before
                owner = os.read(fd, 200).decode(errors="replace").split()
                os.close(fd)
                self._remove_made()
                pid = int(owner[0]) if owner and owner[0].isdigit() else 0
                who = f" (process {pid})" if pid and _pid_alive(pid) else ""
                raise UserError(f"another nksim run{who} is writing {out_dir}; wait for it "
                                "or choose another folder", field="--out") from None
            try:  # the run that held it may have removed the file meanwhile: lock anew
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        if self.created:
            self.claim()

    def claim(self) -> None:
        """The run writes: its process id in the file (for the message of a run refused),
        and the file removed at the end."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()} {os.uname().nodename}\n".encode(), 0)
            self.created = True

    def release(self) -> None:
        if self.fd is None:
            return
        if self.created:
            with contextlib.suppress(OSError):
                self.path.unlink()  # before the lock goes: see the inode check above
        os.close(self.fd)
        self.fd = None
        self._remove_made()

    def _remove_made(self) -> None:
        for folder in self.made:  # parents made for this run, if it left nothing there
            with contextlib.suppress(OSError):
                folder.rmdir()


def _write_chunk(work: Path, out: ChunkOutput, fmt: str, annotate=None,
                 chunk_size: int = 0) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    k = out.index
    if annotate is not None:
        lo = k * chunk_size
        out = annotate(out, lo, lo + out.n_patients)
    tc = work / "timecourse" / _part(k, fmt)
    if fmt == "csv":
        options = pcsv.WriteOptions(include_header=(k == 0))
        _write_atomic(tc, lambda p: pcsv.write_csv(out.timecourse, p, write_options=options))
    else:
        names = out.timecourse.column_names
        parquet = {key: [c for c in columns if c in names]
                   for key, columns in PARQUET_OPTIONS.items()}
        _write_atomic(tc, lambda p: pq.write_table(out.timecourse, p, **parquet))
    # The status part last: its presence marks the chunk as done.
    _write_atomic(work / "patients" / _part(k, "parquet"),
                  lambda p: pq.write_table(out.patients, p))


@dataclass(frozen=True)
class _Expected:
    """What the parts of one chunk must hold: ``rows`` time-course rows, and the status
    part's key columns (``patient``, and ``arm`` for a trial) as written."""

    rows: int
    keys: dict[str, list]
    header: bool  # a CSV part with the header line (the first chunk's)


def _expected_parts(population: Population, chunk_size: int, n_times: int,
                    annotate=None) -> Callable[[int], _Expected]:
    """:class:`_Expected` of chunk ``k`` of ``population`` (computed when asked: a run with
    nothing to resume asks for none): its patient ids as
    :func:`nksim.engine.simulate_chunks` writes them, then through ``annotate``."""
    import pyarrow as pa

    bounds = population.chunk_bounds(chunk_size)

    def expected(k: int) -> _Expected:
        lo, hi = bounds[k]
        # (built as the chunk's columns are: pyarrow.array would import pandas)
        column = _arrow_numbers(population.ids(lo, hi))
        if annotate is not None:  # e.g. a trial's candidate ids and arms
            stub = ChunkOutput(k, pa.table({"patient": column}), pa.table({"patient": column}),
                               0.0, 0.0)
            table = annotate(stub, lo, hi).patients
        else:
            table = pa.table({"patient": column})
        keys = {name: table.column(name).to_pylist() for name in table.column_names}
        return _Expected((hi - lo) * n_times, keys, k == 0)

    return expected


def _done_chunks(work: Path, fmt: str, n_chunks: int,
                 expected: Callable[[int], _Expected]) -> tuple[set[int], int]:
    """Chunks whose two parts are complete and their chunk's, and how many chunks had both
    parts but failed :func:`_part_ok` (to be computed again); every other file (the parts
    of other chunks, a file not named as the run names its parts) is removed."""
    done, rejected = set(), 0
    for k in range(n_chunks):
        status = work / "patients" / _part(k, "parquet")
        timecourse = work / "timecourse" / _part(k, fmt)
        if status.is_file() and timecourse.is_file():
            want = expected(k)
            if _part_ok(status, "status", want) and _part_ok(timecourse, fmt, want):
                done.add(k)
            else:
                rejected += 1
    keep = {("timecourse", _part(k, fmt)) for k in done} | \
        {("patients", _part(k, "parquet")) for k in done}
    for folder in ("timecourse", "patients"):
        for item in (work / folder).iterdir():
            if (folder, item.name) not in keep:
                if item.is_dir() and not item.is_symlink():
                    shutil.rmtree(item)
                else:
                    item.unlink()
    return done, rejected


def _part_ok(path: Path, kind: str, want: _Expected) -> bool:
    """Whether a part file left by an earlier run is whole and of its chunk, cheaply.

    ``kind`` "status": the status part's key columns (one row per patient, read whole)
    are the chunk's; "parquet": the time-course part's footer reads, counts the chunk's
    rows, and its statistics give the chunk's smallest and largest patient id (and arm);
    "csv": the part has the chunk's lines (plus the header in the first chunk) and its
    first and last rows are of the chunk's first and last patient. A file cut short (a
    crash before its data reached the disk, a copy interrupted), doubled, or of another
    chunk fails."""
    try:
        if kind == "csv":
            return _csv_part_ok(path, want)
        import pyarrow.parquet as pq

        if kind == "status":
            table = pq.ParquetFile(path).read(columns=list(want.keys))
            return all(table.column(name).to_pylist() == values
                       for name, values in want.keys.items())
        meta = pq.read_metadata(path)
        return meta.num_rows == want.rows and all(
            _footer_range(meta, name) == (min(values), max(values))
            for name, values in want.keys.items() if values)
    except Exception:  # noqa: BLE001 - OSError, ArrowInvalid, ...: not a whole part
        return False


def _footer_range(meta, name: str) -> tuple[Any, Any] | None:
    """The smallest and largest value of column ``name`` from a Parquet footer's
    statistics (``None`` when a row group has none)."""
    low = high = None
    for r in range(meta.num_row_groups):
        group = meta.row_group(r)
        column = next(group.column(i) for i in range(group.num_columns)
                      if group.column(i).path_in_schema == name)
        stats = column.statistics
        if stats is None or not stats.has_min_max:
            return None
        low = stats.min if low is None else min(low, stats.min)
        high = stats.max if high is None else max(high, stats.max)
    return low, high


def _csv_part_ok(path: Path, want: _Expected) -> bool:
    """A CSV part (pyarrow's writer: one line per row, the header in the first chunk)
    with the chunk's number of lines, ending with a line break, whose first and last rows
    are of the chunk's first and last patient. Read once, a block at a time."""
    lines, size = 0, 0
    with open(path, "rb") as f:
        if want.header:
            f.readline()
        first = f.readline()
        f.seek(0)
        for block in iter(lambda: f.read(16 << 20), b""):
            lines += block.count(b"\n")
            size += len(block)
        if size == 0 or lines != want.rows + want.header:
            return False
        f.seek(max(0, size - (1 << 16)))
        tail = f.read()
    if not tail.endswith(b"\n"):
        return False
    last = tail[:-1].rsplit(b"\n", 1)[-1] + b"\n"
    ids = want.keys["patient"]
    return bool(ids) and _first_field(first, ids) == ids[0] and \
        _first_field(last, ids) == ids[-1]


def _first_field(line: bytes, like: list) -> Any:
    """The first field of one CSV line, read as pyarrow reads the type of ``like``."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    kind = pa.array(like[:1]).type
    table = pcsv.read_csv(pa.py_buffer(line),
                          read_options=pcsv.ReadOptions(autogenerate_column_names=True),
                          convert_options=pcsv.ConvertOptions(column_types={"f0": kind}))
    return table.column(0)[0].as_py()


def _finished_damage(target: Path, fmt: str, expected: list[_Expected],
                     with_status: bool) -> str | None:
    """What is missing or damaged in a finished output folder (``--resume`` on it), or
    ``None``: the time course checked part by part as for an interrupted run (``.csv``:
    the whole file as one part), and ``patients.parquet`` (``with_status``)."""
    if fmt == "parquet":
        folder = target / "timecourse.parquet"
        names = {_part(k, fmt) for k in range(len(expected))}
        present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        if extra := sorted(present - names):
            return f"timecourse.parquet/ holds a file it did not write ({extra[0]!r})"
        for k, want in enumerate(expected):
            name = _part(k, fmt)
            if name not in present:
                return f"timecourse.parquet/{name} is missing"
            if not _part_ok(folder / name, fmt, want):
                return f"timecourse.parquet/{name} is damaged"
    else:
        keys = {name: [v for w in expected for v in w.keys[name]]
                for name in expected[0].keys} if expected else {"patient": []}
        whole = _Expected(sum(w.rows for w in expected), keys, True)
        path = target / "timecourse.csv"
        if not path.is_file():
            return "timecourse.csv is missing"
        if not _part_ok(path, "csv", whole):
            return "timecourse.csv is damaged"
    if with_status:
        path = target / "patients.parquet"
        if not path.is_file():
            return "patients.parquet is missing"
        keys = {"patient": [v for w in expected for v in w.keys["patient"]]}
        if not _part_ok(path, "status", _Expected(0, keys, False)):
            return "patients.parquet is damaged"
    return None


@dataclass
class ChunkedRun:
    """A run whose chunks are all written to its hidden folder (:func:`partial_dir`) and
    not yet gathered into the output folder (:func:`finish_run` does that, and releases
    the run's lock on the folder; a run never finished keeps it until it is collected or
    its process ends)."""

    target: Path
    work: Path
    fmt: str
    n_patients: int
    chunk_size: int
    chunks: int
    chunks_resumed: int
    run_time: float
    execution: dict[str, Any]
    started: float  # time.perf_counter() at the start
    #: chunks of the interrupted run whose part files were not whole (computed again)
    chunks_recomputed: int = 0
    lock: _RunLock | None = dataclasses.field(default=None, repr=False)

    @property
    def timecourse_parts(self) -> list[Path]:
        """The chunks' time-course files, in chunk order."""
        return [self.work / "timecourse" / _part(k, self.fmt) for k in range(self.chunks)]

    @property
    def status_parts(self) -> list[Path]:
        """The chunks' status files, in chunk order."""
        return [self.work / "patients" / _part(k, "parquet") for k in range(self.chunks)]


def run_chunks(
    population: Population,
    out_dir: str | os.PathLike,
    *,
    fmt: str = "parquet",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_chunk: Callable[[ChunkOutput, int, int], None] | None = None,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    scheduler_field: str = "--scheduler",
    annotate: Callable[[ChunkOutput, int, int], ChunkOutput] | None = None,
    fingerprint_extra: str = "",
) -> ChunkedRun | RunOutcome:
    """Simulate ``population`` in chunks into the hidden folder of ``out_dir`` (the first
    half of :func:`run_to_folder`); a :class:`RunOutcome` with ``already_complete`` when
    ``resume`` finds ``out_dir`` finished with the same inputs.

    ``annotate(chunk, lo, hi)`` returns the chunk of patients ``lo .. hi-1`` as it is
    written (e.g. with a column added; it runs in the writer thread);
    ``fingerprint_extra`` is added to the inputs' fingerprint.
    """
    if fmt not in FORMATS:
        raise UserError(f"must be one of {', '.join(FORMATS)} (got {fmt!r})", field="--format")
    start = time.perf_counter()
    target = check_output_dir(out_dir)
    lock = _RunLock(target, out_dir)  # before the hidden folder is read: one run at a time
    try:
        run = _run_chunks_locked(population, out_dir, target, start, lock, fmt=fmt,
                                 chunk_size=chunk_size, scheduler=scheduler, resume=resume,
                                 on_chunk=on_chunk, connect_timeout_s=connect_timeout_s,
                                 scheduler_field=scheduler_field, annotate=annotate,
                                 fingerprint_extra=fingerprint_extra)
    except BaseException:
        lock.release()
        raise
    if isinstance(run, RunOutcome):
        lock.release()
    else:
        run.lock = lock  # released by finish_run
    return run


def _run_chunks_locked(population: Population, out_dir, target: Path, start: float,
                       lock: _RunLock, *,
                       fmt: str, chunk_size: int | None, scheduler: str | None, resume: bool,
                       on_chunk, connect_timeout_s: float, scheduler_field: str, annotate,
                       fingerprint_extra: str) -> ChunkedRun | RunOutcome:
    """:func:`run_chunks` once its lock on the folder is held."""
    work = partial_dir(target)
    key = fingerprint(population, fingerprint_extra)
    n = population.size
    n_times = population.times.size
    manifest = _read_json(work / MANIFEST) if work.is_dir() else None

    if resume and manifest is None:
        done_before = _read_json(target / "summary.json") if target.is_dir() else None
        previous = (done_before or {}).get("execution", {}).get("fingerprint")
        if previous == key:  # finished already: nothing to do, if nothing is missing
            written = done_before["execution"].get("format", fmt)
            if written != fmt:
                raise UserError(f"{out_dir} holds this run finished as {written}; run it again "
                                f"without --resume for {fmt} (got --format {fmt})",
                                field="--format")
            size_before = int(done_before["execution"]["chunk_size"])
            expect = _expected_parts(population, size_before, n_times, annotate)
            expected = [expect(k) for k in range(count_chunks(n, size_before))]
            damage = _finished_damage(target, fmt, expected, with_status=annotate is None)
            if damage is not None:
                raise UserError(f"{out_dir} holds this run finished, but {damage}; run it "
                                "again without --resume to compute it anew (got --resume)",
                                field="--resume")
            counts = done_before.get("status_counts", {})
            return RunOutcome(target, n, counts, done_before["execution"]["chunks"],
                              done_before["execution"]["chunks"], 0.0,
                              time.perf_counter() - start,
                              sorted(p.name for p in target.iterdir()), already_complete=True)
        if done_before is not None:
            raise UserError(f"{out_dir} holds the results of another scenario or population "
                            "(its inputs differ); nothing to resume there (got --resume)",
                            field="--resume")
    if manifest is not None and resume:
        if manifest.get("fingerprint") != key:
            raise UserError(f"the interrupted run in {out_dir} is of another scenario or "
                            "population (its inputs differ); run without --resume to "
                            "start again (got --resume)", field="--resume")
        if manifest.get("format") != fmt:
            raise UserError(f"the interrupted run writes {manifest.get('format')}; resume "
                            f"it with that format (got {fmt!r})", field="--format")
        if chunk_size is not None and chunk_size != manifest.get("chunk_size"):
            raise UserError(f"the interrupted run uses chunks of "
                            f"{manifest.get('chunk_size')} patients (got {chunk_size})",
                            field="--chunk-size")
        chunk_size = int(manifest["chunk_size"])
    n_vars = len(population.model.states) + len(population.model.observables)
    if chunk_size is None:
        chunk_size = default_chunk_size(n, n_times, n_vars)
    if chunk_size < 1:
        raise UserError(f"must be >= 1 (got {chunk_size})", field="--chunk-size")
    n_chunks = count_chunks(n, chunk_size)

    client = None
    if scheduler is not None:  # before anything is written: an unreachable one changes nothing
        client = connect_scheduler(scheduler, timeout_s=connect_timeout_s,
                                   field=scheduler_field)
    try:
        lock.claim()  # from here on this run writes
        if not (resume and manifest is not None):
            shutil.rmtree(work, ignore_errors=True)
        (work / "timecourse").mkdir(parents=True, exist_ok=True)
        (work / "patients").mkdir(parents=True, exist_ok=True)
        write_text_atomic(work / MANIFEST, json.dumps({
            "fingerprint": key, "format": fmt, "chunk_size": chunk_size, "chunks": n_chunks,
            "n_patients": n, "nksim_version": __version__, "pid": os.getpid(),
            "host": os.uname().nodename,
            "note": "finished chunks of an nksim run that has not completed; continue it "
                    "with the same command and --resume"}, indent=2))
        expected = _expected_parts(population, chunk_size, n_times, annotate)
        done, recomputed = _done_chunks(work, fmt, n_chunks, expected)
        resumed = len(done)
        loop_start = time.perf_counter()
        with ThreadPoolExecutor(1, thread_name_prefix="nksim-writer") as writer:
            pending = None  # the chunk being written while the next one is computed

            def finish(job) -> None:
                future, out = job
                future.result()
                done.add(out.index)
                if on_chunk is not None:
                    on_chunk(out, len(done), n_chunks)

            for out in simulate_chunks(population, chunk_size, skip=done, client=client):
                if pending is not None:
                    finish(pending)
                pending = (writer.submit(_write_chunk, work, out, fmt, annotate, chunk_size),
                           out)
                del out
            if pending is not None:
                finish(pending)
        # wall time of the chunks (they overlap: not the sum of their times)
        run_time = time.perf_counter() - loop_start
    finally:
        if client is not None:
            client.close()
    if len(done) != n_chunks:  # pragma: no cover - simulate_chunks yields every chunk
        raise RuntimeError(f"{n_chunks - len(done)} chunk(s) missing")
    execution = {"chunk_size": chunk_size, "chunks": n_chunks, "chunks_resumed": resumed,
                 "scheduler": scheduler or "local", "fingerprint": key, "format": fmt}
    if recomputed:  # parts of an earlier run that were not whole: computed again
        execution["chunks_recomputed"] = recomputed
    return ChunkedRun(target, work, fmt, n, chunk_size, n_chunks, resumed, run_time,
                      execution, start, recomputed)


def run_to_folder(
    population: Population,
    out_dir: str | os.PathLike,
    *,
    fmt: str = "parquet",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    summary: Callable[[dict[str, int], int, float, dict[str, Any]], dict[str, Any]],
    patients_in_summary: int = SUMMARY_PATIENT_LIMIT,
    on_chunk: Callable[[ChunkOutput, int, int], None] | None = None,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    scheduler_field: str = "--scheduler",
) -> RunOutcome:
    """Simulate ``population`` in chunks into ``out_dir`` (see the module docstring).

    ``summary(status_counts, n_patients, run_time_s, execution)`` returns the content of
    ``summary.json`` (a ``"patients"`` list is added for small runs); ``on_chunk(chunk,
    done, total)`` is called after each chunk is safely written (progress, tests).
    Bad input (a folder of another run, an unreachable scheduler) raises a one-line
    :class:`UserError` before anything is written or removed.
    """
    run = run_chunks(population, out_dir, fmt=fmt, chunk_size=chunk_size, scheduler=scheduler,
                     resume=resume, on_chunk=on_chunk, connect_timeout_s=connect_timeout_s,
                     scheduler_field=scheduler_field)
    if isinstance(run, RunOutcome):
        return run
    n = run.n_patients

    def write(staging: Path, patients, counts: dict[str, int]) -> None:
        import pyarrow.parquet as pq

        from nksim.report._common import to_json

        content = summary(counts, n, run.run_time, run.execution)
        if n <= patients_in_summary:
            content["patients"] = patients.to_pylist()  # (null = NaN: written as null)
        else:
            content["patients"] = (f"{n} patients: one row each in patients.parquet "
                                   "(status, message, steps, extinction times)")
        pq.write_table(patients, staging / "patients.parquet")
        write_text_atomic(staging / "summary.json", to_json(content))  # last

    return finish_run(run, write)


def finish_run(run: ChunkedRun, write: Callable[[Path, Any, dict[str, int]], None], *,
               key: tuple[str, ...] = ("patient",)) -> RunOutcome:
    """Gather the chunks of ``run`` into its output folder, which appears as a whole.

    The time course goes first (``timecourse.parquet/``: the part files, hard-linked so
    that the hidden folder keeps them until the end and a run killed here still resumes;
    ``timecourse.csv``: the parts one after the other); then ``write(staging,
    patients, status_counts)`` writes the other files (``summary.json`` last);
    ``patients`` is the status parts as one ``pyarrow.Table``, checked to hold one row per
    patient (distinct ``key`` columns). The run's lock on the folder is released at the
    end, whether the output folder appeared or not.
    """
    try:
        return _finish_run(run, write, key)
    finally:
        if run.lock is not None:
            run.lock.release()


def _finish_run(run: ChunkedRun, write: Callable[[Path, Any, dict[str, int]], None],
                key: tuple[str, ...]) -> RunOutcome:
    import pyarrow as pa
    import pyarrow.parquet as pq

    work, target, n = run.work, run.target, run.n_patients
    parts = run.status_parts
    # one file at a time: pyarrow.dataset (ParquetDataset) imports pandas (start-up time)
    patients = pa.concat_tables([pq.ParquetFile(p).read() for p in parts]) if parts else None
    # counted in Python, not with pyarrow.compute (whose import and kernels cost every run
    # 0.04 s, 0.2-0.3 s when its library has left the page cache; 0.2 s at 10^6
    # patients) nor to_numpy (which imports pandas): the cached start of issue 13
    distinct = 0 if patients is None else (
        len(set(patients[key[0]].to_pylist())) if len(key) == 1
        else patients.group_by(list(key)).aggregate([]).num_rows)
    rows = 0 if patients is None else patients.num_rows
    if rows != n or distinct != n:  # never: each chunk's parts are checked as its own
        raise RuntimeError(f"the status parts hold {rows} rows of {distinct} distinct "
                           f"patients for {n} patients")
    counts = Counter(patients["status"].to_pylist())
    order = {"ok": 0, "implausible": 1, "failed": 2}
    counts = dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])))

    moved = []
    with atomic_output_dir(target) as staging:
        try:
            if run.fmt == "parquet":
                moved = _place_parts(run.timecourse_parts,
                                     staging / "timecourse.parquet")
            else:
                with open(staging / "timecourse.csv", "wb") as dst:
                    for part in run.timecourse_parts:
                        with open(part, "rb") as src:
                            shutil.copyfileobj(src, dst, 16 << 20)
            write(staging, patients, counts)
            files = sorted(p.name for p in staging.iterdir())
        except BaseException:
            for src, dst in moved:  # keep the finished chunks for --resume
                with contextlib.suppress(OSError):
                    os.replace(src, dst)
            raise
    shutil.rmtree(work, ignore_errors=True)
    return RunOutcome(target, n, counts, run.chunks, run.chunks_resumed, run.run_time,
                      time.perf_counter() - run.started, files,
                      chunks_recomputed=run.chunks_recomputed)


def _place_parts(parts: list[Path], folder: Path) -> list[tuple[Path, Path]]:
    """The part files ``parts`` (all in one folder) into ``folder``: hard links (the
    originals stay, for --resume, until the run is complete), else (another file system)
    their folder moved; returns what was moved, to be put back on an error."""
    folder.mkdir()
    try:
        for part in parts:
            os.link(part, folder / part.name)
        return []
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        source = parts[0].parent
        os.replace(source, folder)
        return [(folder, source)]
