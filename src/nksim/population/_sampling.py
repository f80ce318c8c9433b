"""Parameter variability across virtual patients.

Every patient has its own random stream, derived from the run's seed and the
patient's index (``SeedSequence(seed, spawn_key=(index,))``), so patient 7 gets the
same parameters whether 10 or 10,000 patients are generated, in any batch order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nksim._io import missing_file
from nksim.errors import UserError
from nksim.model import Model

if TYPE_CHECKING:
    import pandas as pd


def patient_rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """The random generator of patient ``index`` (``stream`` separates independent uses)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def patient_normals(seed: int, indices: np.ndarray, stream: int, k: int) -> np.ndarray:
    """``patient_rng(seed, i, stream).standard_normal(k)`` for every ``i`` in ``indices``
    (rows), the same numbers about 4x faster: NumPy builds a SeedSequence and a PCG64 for
    every patient (about 11 us, most of a population draw), whereas here the seed hashing is
    vectorised over patients and one PCG64 is set to each patient's state in turn."""
    indices = np.asarray(indices)
    z = np.empty((indices.size, k))
    if not (isinstance(seed, int | np.integer) and seed >= 0 and 0 <= stream <= _MASK32
            and (indices.size == 0 or (indices.min() >= 0 and indices.max() <= _MASK32))):
        for row, i in enumerate(indices.tolist()):  # the general case (and its errors)
            z[row] = patient_rng(seed, i, stream).standard_normal(k)
        return z
    bit_generator = np.random.PCG64(0)
    generator = np.random.Generator(bit_generator)
    for row, (state, inc) in enumerate(_pcg64_states(int(seed), int(stream), indices)):
        bit_generator.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                               "has_uint32": 0, "uinteger": 0}
        generator.standard_normal(out=z[row])
    return z


# NumPy's SeedSequence (numpy/random/bit_generator.pyx: mix_entropy, generate_state) and
# PCG64 seeding (pcg64_set_seed: state 0, inc = 2 initseq + 1, step, add initstate, step).
_MASK32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
_MASK128 = (1 << 128) - 1


def _uint32_words(n: int) -> list[int]:
    out = [n & _MASK32]
    n >>= 32
    while n:
        out.append(n & _MASK32)
        n >>= 32
    return out


def _pcg64_states(seed: int, stream: int, indices: np.ndarray) -> list[tuple[int, int]]:
    """(state, inc) of ``PCG64(SeedSequence(seed, spawn_key=(stream, i)))`` for each index
    ``i < 2**32`` (one 32-bit word of entropy each), the hashing vectorised over indices."""
    run = _uint32_words(seed)
    run += [0] * (4 - len(run))  # SeedSequence pads the seed's words to its pool size
    words = [np.full(indices.size, w, dtype=np.uint32) for w in run + _uint32_words(stream)]
    words.append(indices.astype(np.uint32))
    const = _INIT_A

    def hashmix(v):
        nonlocal const
        v = v ^ np.uint32(const)
        const = (const * _MULT_A) & _MASK32
        v = v * np.uint32(const)
        return v ^ (v >> np.uint32(16))

    def mix(x, y):
        r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return r ^ (r >> np.uint32(16))

    pool = [hashmix(words[i]) for i in range(4)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(4, len(words)):
        for dst in range(4):
            pool[dst] = mix(pool[dst], hashmix(words[src]))
    const = _INIT_B
    state32 = []
    for i in range(8):  # generate_state(4, uint64): 8 words, little-endian pairs
        v = pool[i % 4] ^ np.uint32(const)
        const = (const * _MULT_B) & _MASK32
        v = v * np.uint32(const)
        state32.append((v ^ (v >> np.uint32(16))).astype(np.uint64))
    s64 = [(state32[2 * i] | (state32[2 * i + 1] << np.uint64(32))).tolist() for i in range(4)]
    out = []
    for a, b, c, d in zip(*s64, strict=True):
        inc = ((((c << 64) | d) << 1) | 1) & _MASK128
        out.append(((((((a << 64) | b) + inc) * _PCG_MULT + inc) & _MASK128), inc))
    return out


def stream_keys(ids: np.ndarray) -> np.ndarray:
    """The random-stream key of each patient id: a whole number >= 0 is its own key (as
    in generated populations and trials), any other id (text, a negative number) the first
    63 bits of the SHA-256 of its text, so that a patient's draws follow its id, not its
    row in a file."""
    import hashlib

    ids = np.asarray(ids)
    if ids.dtype.kind in "iu" and (ids.size == 0 or ids.min() >= 0):
        return ids.astype(np.int64)
    return np.array([int(v) if isinstance(v, int | np.integer) and v >= 0 else
                     int.from_bytes(hashlib.sha256(str(v).encode()).digest()[:8], "big") >> 1
                     for v in ids.tolist()], dtype=np.int64)


def lognormal_parameters(
    model: Model,
    size: int,
    seed: int,
    sigma: float | Mapping[str, float],
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """Parameters (size x n_parameters) log-normal around the model's values.

    ``value_i = typical * exp(sigma * z_i)`` with ``z_i ~ N(0, 1)``; ``sigma`` is one
    number for every parameter (``{"all": 0.2}`` in scenario files) or per parameter.
    One normal draw is made per parameter in declaration order whatever ``sigma``
    says, so giving one parameter variability does not change the others' draws.
    Values outside a parameter's bounds are clipped to them. Patient ``i`` draws from its
    own stream, keyed by ``ids[i]`` (:func:`stream_keys`; default ``0 .. size-1``).
    """
    if size < 1:
        raise UserError(f"must be >= 1, got {size}", field="size")
    sig = _sigma_vector(model, sigma)
    typical = model.parameter_vector()
    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    keys = np.arange(size) if ids is None else stream_keys(ids)
    z = patient_normals(seed, keys, 0, typical.size)
    return np.clip(typical * np.exp(sig * z), lo, hi)


def _sigma_vector(model: Model, sigma: float | Mapping[str, float]) -> np.ndarray:
    if not isinstance(sigma, Mapping):
        sigma = {"all": float(sigma)}
    unknown = set(sigma) - {"all"} - set(model.parameter_names)
    if unknown:
        raise UserError(f"unknown parameter(s) {sorted(unknown)} "
                        f"(parameters: {', '.join(model.parameter_names)})",
                        field="sigma")
    default = float(sigma.get("all", 0.0))
    vec = np.array([float(sigma.get(name, default)) for name in model.parameter_names])
    if not np.all(np.isfinite(vec)) or np.any(vec < 0):
        raise UserError("every sigma must be a finite number >= 0",
                        field="sigma")
    return vec


_PLAIN_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def read_patient_table(path: Path, *, field: str) -> pd.DataFrame:
    """A table of one row per patient from a CSV or Parquet file (a one-line error if it
    cannot be read). A CSV ``patient`` column keeps its ids as written: "007" stays
    "007", and only a column of plain whole numbers ("7", "-12") is read as integers."""
    import pandas as pd

    if not path.is_file():
        raise UserError(missing_file(path), field=field)
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        table = pd.read_csv(path, dtype={"patient": str})
    except Exception as exc:  # pandas raises many kinds; report them all the same way
        raise UserError(f"cannot read {path.name}: {exc}".splitlines()[0], field=field) from None
    _no_repeated_columns(path, field)
    ids = table.get("patient")
    if ids is not None and ids.notna().all() and ids.str.fullmatch(_PLAIN_INTEGER).all():
        as_int = pd.to_numeric(ids, errors="coerce")  # beyond 64 bits: float, refused later
        table["patient"] = as_int if as_int.dtype.kind == "i" else ids
    return table


def _no_repeated_columns(path: Path, field: str) -> None:
    """A CSV header naming a column twice is an error (pandas renames the second ``a.1``,
    which then read as an unknown column); blank header cells are not names."""
    import csv

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f), [])
    seen: set[str] = set()
    for name in header:
        if not name:  # blank cells (a spreadsheet's trailing columns): pandas names them
            continue
        if name in seen:
            # (a name is shown only if it looks like one: a file's content is not echoed)
            shown = repr(name) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", name) \
                else "a column name"
            raise UserError(f"{shown} appears twice in the header", field=field)
        seen.add(name)


def read_parameters_file(model: Model, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one row per patient, one column per parameter (model units) from CSV/Parquet.

    Columns not named keep the model's value; an optional ``patient`` column gives
    patient ids. Returns ``(parameters, patient_ids)``.
    """
    import pandas as pd

    path = Path(path)
    field = "population.parameters_file"
    table = read_patient_table(path, field=field)
    ids = table.pop("patient").to_numpy() if "patient" in table else np.arange(len(table))
    unknown = set(table.columns) - set(model.parameter_names)
    if unknown:
        raise UserError(f"unknown parameter column(s) {sorted(unknown)}", field=field)
    if len(table) == 0:
        raise UserError(f"{path} has no rows", field=field)
    params = np.tile(model.parameter_vector(), (len(table), 1))
    for j, name in enumerate(model.parameter_names):
        if name in table:
            col = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(col)
            if bad.any():
                raise UserError(f"column {name!r} row {int(np.argmax(bad)) + 1}: not a number",
                                field=field)
            lo, hi = model.parameter(name).bounds
            if np.any((col < lo) | (col > hi)):
                raise UserError(f"column {name!r} has values outside [{lo:g}, {hi:g}]",
                                field=field)
            params[:, j] = col
    return params, ids


