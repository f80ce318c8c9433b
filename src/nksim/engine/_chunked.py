"""Chunked execution: a population simulated in chunks of patients, locally or as tasks on a
Dask (``dask.distributed``) cluster, each chunk handed over as soon as it is done.

Each chunk is one integration (:func:`nksim.engine.simulate` without the dataset) of a
slice of the population; a patient's result does not depend on which chunk, thread or
machine integrates it (every patient is integrated on its own lane with its own step-size
control), so a chunked run,
a one-call run and a run on a cluster give the same numbers bit for bit
(``tests/test_chunked.py``, ``tests/test_dask.py``). What a chunk hands back is two Arrow
tables (the long time course and the per-patient status table), so memory is bounded by
the chunk size, not the population.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from nksim.dosing import Dose
from nksim.engine._results import SimulationResult, status_columns
from nksim.engine._simulate import RawRun, SolverOptions, integrate
from nksim.errors import UserError
from nksim.model import Model
from nksim.model._codegen import compile_model
from nksim.model._declaration import autonomous

if TYPE_CHECKING:  # a chunk's tables are built without pandas (start-up time)
    import pandas as pd

#: Records (patients x output times x variables) aimed at per chunk by
#: :func:`default_chunk_size`: 12.5 million float64 values, about 100 MB of solver output.
TARGET_VALUES_PER_CHUNK = 12_500_000
MIN_CHUNK, MAX_CHUNK = 256, 100_000


def default_chunk_size(n_patients: int, n_times: int, n_variables: int) -> int:
    """Patients per chunk so that one chunk's records hold about 100 MB (at least 256 and
    at most 100,000 patients, never more than the population)."""
    per_patient = max(1, n_times * max(1, n_variables))
    size = int(np.clip(TARGET_VALUES_PER_CHUNK // per_patient, MIN_CHUNK, MAX_CHUNK))
    return max(1, min(size, n_patients))


@dataclass(frozen=True)
class Population:
    """A whole population, as :func:`nksim.engine.simulate` takes it, to be cut in chunks.

    ``patient_ids`` default to 0 .. n-1 over the *whole* population (a chunk keeps them).
    """

    model: Model
    times: np.ndarray
    parameters: np.ndarray
    initial: np.ndarray
    doses: Sequence[Dose] = ()
    t_start: float = 0.0
    options: SolverOptions = dataclasses.field(default_factory=SolverOptions)
    patient_ids: np.ndarray | None = None
    covariates: pd.DataFrame | None = None

    @property
    def size(self) -> int:
        return int(self.parameters.shape[0])

    def chunk_bounds(self, chunk_size: int) -> list[tuple[int, int]]:
        """``[(lo, hi), ...]``: patients lo..hi-1 in each chunk."""
        if chunk_size < 1:
            raise UserError(f"must be >= 1 (got {chunk_size})", field="chunk_size")
        return [(lo, min(lo + chunk_size, self.size))
                for lo in range(0, self.size, chunk_size)]

    def ids(self, lo: int, hi: int) -> np.ndarray:
        """The patient ids of patients ``lo`` to ``hi - 1`` (their positions if none given)."""
        return (np.arange(lo, hi) if self.patient_ids is None
                else np.asarray(self.patient_ids)[lo:hi])

    def chunk(self, lo: int, hi: int) -> ChunkTask:
        ids = self.ids(lo, hi)
        cov = None if self.covariates is None else self.covariates.iloc[lo:hi]
        doses = self.doses
        if doses and isinstance(doses[0], Sequence) and not isinstance(doses[0], Dose):
            doses = list(doses[lo:hi])  # one dose list per patient
        return ChunkTask(self.model, self.times, self.parameters[lo:hi], self.initial[lo:hi],
                         list(doses), self.t_start, self.options, ids, cov)


@dataclass(frozen=True)
class ChunkTask:
    """One chunk's inputs (picklable: sent to a Dask worker as they are)."""

    model: Model
    times: np.ndarray
    parameters: np.ndarray
    initial: np.ndarray
    doses: list
    t_start: float
    options: SolverOptions
    patient_ids: np.ndarray
    covariates: pd.DataFrame | None


@dataclass(frozen=True)
class ChunkOutput:
    """A finished chunk: its index, the long time course and the status table (Arrow)."""

    index: int
    timecourse: object  # pyarrow.Table: patient, time, <states>, <observables>
    patients: object  # pyarrow.Table: patient, status, message, t_reached, ...
    run_time: float
    compile_time: float

    @property
    def n_patients(self) -> int:
        return self.patients.num_rows


def timecourse_table(result: SimulationResult):
    """The long time course of a result as a ``pyarrow.Table`` (same rows and columns as
    :meth:`SimulationResult.to_frame`, built from the arrays without pandas)."""
    ds = result.dataset
    names = [*result.model.state_names, *result.model.observables]
    return _long_table(ds["patient"].values, ds["time"].values,
                       {name: ds[name].values for name in names})


def _long_table(ids: np.ndarray, times: np.ndarray, columns: dict):
    """``patient, time, <columns>`` (each column patients x times) as a ``pyarrow.Table``;
    a C-contiguous column is taken without a copy."""
    import pyarrow as pa

    table = {"patient": _arrow_numbers(np.repeat(ids, times.size)),
             "time": _arrow_numbers(np.tile(times, ids.size))}
    for name, values in columns.items():
        table[name] = _arrow_numbers(np.ascontiguousarray(values).reshape(-1))
    return pa.table(table)


# pyarrow imports pandas (about 0.25 s) the first time ``pyarrow.array`` is called, to check
# whether its argument is a pandas object: a chunk's columns are built from their buffers.
def _arrow_numbers(values: np.ndarray, *, nan_is_null: bool = False):
    """A 1-d numeric array as a ``pyarrow.Array`` without a copy (as ``pyarrow.array``
    makes it; with ``nan_is_null``, NaN is null, as ``pyarrow.array(from_pandas=True)``);
    other arrays through ``pyarrow.array``."""
    import pyarrow as pa

    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iuf" or not values.dtype.isnative:
        return pa.array(values, from_pandas=nan_is_null)
    values = np.ascontiguousarray(values)
    validity, nulls = None, 0
    if nan_is_null and values.dtype.kind == "f":
        missing = np.isnan(values)
        nulls = int(missing.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.size,
                                 [validity, pa.py_buffer(values)], null_count=nulls)


def _arrow_text(values) -> object:
    """Strings as a ``pyarrow`` ``large_string`` array (pandas' ``str`` columns), built
    from their UTF-8 bytes."""
    import pyarrow as pa

    encoded = [str(v).encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def status_table(result: SimulationResult):
    """The per-patient status table of a result as a ``pyarrow.Table``."""
    return _status_arrow(result.patients)


def _status_arrow(patients: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(patients.reset_index(), preserve_index=False)


def _status_table(ids: np.ndarray, columns: dict):
    """The status table ``patient, <status columns>`` as a ``pyarrow.Table`` built from the
    arrays, without pandas, identical (types, values and the schema's pandas metadata) to
    :func:`_status_arrow` of the same table as a DataFrame (``tests/test_start_up.py``):
    text as ``large_string`` (pandas' ``str``), NaN as null in float columns. Patient ids
    other than numbers go through pandas, as they always did."""
    import pyarrow as pa

    ids = np.asarray(ids)
    version = _pandas_version()
    if ids.ndim != 1 or ids.dtype.kind not in "iuf" or version is None:
        import pandas as pd

        return _status_arrow(pd.DataFrame({"patient": ids, **columns}).set_index("patient"))
    arrays = [_arrow_numbers(ids, nan_is_null=True)]
    kinds = [(ids.dtype.name, ids.dtype.name)]
    for values in columns.values():
        if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
            arrays.append(_arrow_numbers(values, nan_is_null=True))
            kinds.append((values.dtype.name, values.dtype.name))
        else:  # text (status, message)
            arrays.append(_arrow_text(values))
            kinds.append(("object", "str"))
    names = ["patient", *columns]
    meta = {"index_columns": [], "column_indexes": [],
            "columns": [{"name": n, "field_name": n, "pandas_type": p, "numpy_type": t,
                         "metadata": None} for n, (p, t) in zip(names, kinds, strict=True)],
            "attributes": {}, "creator": {"library": "pyarrow", "version": pa.__version__},
            "pandas_version": version}
    return pa.Table.from_arrays(arrays, names=names,
                                metadata={b"pandas": json.dumps(meta).encode()})


@lru_cache(maxsize=1)
def _pandas_version() -> str | None:
    """pandas' version, read without importing it (``None`` if it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("pandas")
    except metadata.PackageNotFoundError:
        return None


def _raw_tables(raw: RawRun):
    """The two tables of a chunk straight from the solver's arrays (no dataset built,
    no pandas)."""
    model = raw.model
    ids = np.asarray(raw.patient_ids)
    columns = {s: raw.out[i] for i, s in enumerate(model.state_names)}
    if model.observables:
        from nksim.model._evaluate import observables

        columns.update(observables(model, raw.times, np.moveaxis(raw.out, 0, -1),
                                   np.asarray(raw.parameters, float)))
    status = status_columns(model, raw.times, raw.out, raw.ext_time, raw.stats,
                            raw.bad_input)
    return _long_table(ids, raw.times, columns), _status_table(ids, status)


#: Loading a model's compiled module is not safe from two threads at once (chunks run
#: concurrently here and in a Dask worker with several threads): the first chunk loads it.
_LOAD_LOCK = threading.Lock()


def run_chunk(index: int, task: ChunkTask) -> ChunkOutput:
    """Simulate one chunk (on this machine or on a Dask worker) and tabulate it."""
    with _LOAD_LOCK:
        compile_model(autonomous(task.model))  # loaded once per process, then found at once
    options = dataclasses.replace(task.options, progress=False)
    extra = {} if task.covariates is None else {"covariates": task.covariates}
    raw = integrate(task.model, task.times, parameters=task.parameters,
                    initial=task.initial, doses=task.doses, t_start=task.t_start,
                    options=options, patient_ids=task.patient_ids, **extra)
    timecourse, patients = _raw_tables(raw)
    return ChunkOutput(index, timecourse, patients, raw.run_time, raw.compile_time)


def simulate_chunks(
    population: Population,
    chunk_size: int,
    *,
    skip: Iterable[int] = (),
    client=None,
    in_flight: int | None = None,
) -> Iterator[ChunkOutput]:
    """Simulate ``population`` in chunks of ``chunk_size`` patients and yield each chunk as
    soon as it is finished (locally in chunk order; on a Dask ``client`` in the order the
    workers finish them, with at most ``in_flight`` chunks submitted at once).

    ``skip``: chunk indices already done (a resumed run).
    """
    bounds = population.chunk_bounds(chunk_size)
    skip = set(skip)
    todo = [k for k in range(len(bounds)) if k not in skip]
    if client is None:
        yield from _local_chunks(population, bounds, todo)
        return
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = in_flight or max(2, 2 * workers)
    pending = iter(todo)

    def submit(k: int):
        return client.submit(run_chunk, k, population.chunk(*bounds[k]), pure=False,
                             key=f"nksim-chunk-{k}-{time.time_ns()}")

    first = [submit(k) for k in itertools.islice(pending, limit)]
    with client.as_current():
        queue = as_completed(first)
        try:
            for future in queue:
                out = future.result()
                future.release()
                nxt = next(pending, None)
                if nxt is not None:
                    queue.add(submit(nxt))
                yield out
        finally:
            for future in list(getattr(queue, "futures", ())):
                future.cancel()


def _local_chunks(population: Population, bounds, todo: list[int]) -> Iterator[ChunkOutput]:
    """Chunks in order on this machine, the next one started while the current one
    finishes: the solver threads of a chunk run out of work one after the other near its
    end, and the next chunk fills those cores (two chunks in memory at most, plus the one
    handed over)."""
    if len(todo) < 2:
        for k in todo:
            yield run_chunk(k, population.chunk(*bounds[k]))
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="nksim-chunk") as pool:
        queue = iter(todo)
        running = [pool.submit(run_chunk, k, population.chunk(*bounds[k]))
                   for k in itertools.islice(queue, 2)]
        try:
            while running:
                out = running.pop(0).result()
                nxt = next(queue, None)
                if nxt is not None:
                    running.append(pool.submit(run_chunk, nxt, population.chunk(*bounds[nxt])))
                yield out
                del out
        finally:
            for future in running:
                future.cancel()


def count_chunks(n_patients: int, chunk_size: int) -> int:
    """Number of chunks of ``chunk_size`` patients in ``n_patients``."""
    return math.ceil(n_patients / chunk_size)


ChunkHook = Callable[[ChunkOutput, int, int], None]
"""Called after each chunk is written: ``hook(chunk, chunks_done, chunks_total)``."""
