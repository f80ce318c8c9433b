"""Start-up of ``nksim simulate`` (issue 13 §3, "a cached start under 1 s of overhead"):
a cached run of a plain scenario imports neither pandas nor pint (nor dask, which pint
imports), nor pyarrow.compute, nor the SDE engine; the status table built without pandas
is the one pandas built; a model's unit and dimension checks are remembered on disk only
when they pass, under a key that covers its units, formulas and exponents. (The time
itself is measured in benchmarks/, not here.)
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from nksim.engine import _rodas5p
from nksim.engine._chunked import _arrow_numbers, _status_arrow, _status_table
from nksim.engine._results import status_columns, status_frame
from nksim.engine._simulate import _check_ids
from nksim.errors import UnitError, UserError
from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State, _declaration, _dimensions
from nksim.model._dimensions import DimensionError, dimension_key

# W1 with plain numbers: the bundled depillis2006_chemo.toml gives its doses with units,
# which need pint (the point here is a scenario that does not)
W1 = """\
[model]
name = "depillis2006"
parameter_set = "patient9"

[initial]
T = 1e6
N = 1e3
L = 10
C = 6e8

[[doses]]
state = "M"
amount = 5
start = 7
every = 7
count = 10

[simulation]
t_end = 150
record_every = 1
rtol = 1e-6
atol = 1e-6
"""
POPULATION = W1 + """
[population]
size = 40
seed = 1
lognormal_sigma = 0.3
"""

#: Runs ``nksim simulate SCENARIO --out OUT`` as the command line does and prints which of
#: the heavy libraries were imported.
RUNNER = """
import sys
from nksim.cli import main
sys.argv = ["nksim", "simulate", *sys.argv[1:], "--no-progress"]
try:
    main()
except SystemExit as exc:
    if exc.code:
        raise
print("IMPORTED", ",".join(m for m in ("pandas", "pint", "dask", "xarray", "pyarrow.compute",
                                       "nksim.engine._sde") if m in sys.modules))
"""


def _simulate(tmp_path, name: str, text: str, fmt: str = "csv") -> str:
    scenario = tmp_path / f"{name}.toml"
    scenario.write_text(text)
    p = subprocess.run([sys.executable, "-c", RUNNER, str(scenario), "--out",
                        str(tmp_path / name), "--format", fmt],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / name / "patients.parquet").is_file()
    return p.stdout.rsplit("IMPORTED", 1)[1].strip()


def test_a_cached_simulate_of_a_plain_scenario_imports_neither_pandas_nor_pint(tmp_path):
    _simulate(tmp_path, "first", W1)  # compiles or loads the model, remembers its units
    assert _simulate(tmp_path, "one", W1) == ""
    assert _simulate(tmp_path, "population", POPULATION, "parquet") == ""


#: Runs ``nksim --help`` through the console-script entry point, then imports numpy and
#: prints whether numpy advises transparent huge pages for its arrays.
PAGES = """
import sys
import nksim.cli
assert "numpy" not in sys.modules, "importing nksim.cli must not import numpy"
sys.argv = ["nksim", "--help"]
try:
    nksim.cli.main()
except SystemExit:
    pass
import numpy
print("HUGEPAGES", numpy._core.multiarray._get_madvise_hugepage())
"""


@pytest.mark.parametrize(("user_value", "expected"), [(None, "False"), ("1", "True")])
def test_the_command_line_asks_numpy_for_small_pages(user_value, expected):
    """``nksim`` sets NUMPY_MADVISE_HUGEPAGE=0 before numpy is imported (issue 13: less
    system time faulting in each chunk's memory); a value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if user_value is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = user_value
    p = subprocess.run([sys.executable, "-c", PAGES], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.rsplit("HUGEPAGES", 1)[1].strip() == expected


#: The start-up pause of the garbage collector: paused by ``main``, resumed (thresholds back,
#: start-up objects frozen) by the first collection once the budget is spent.
GC_PAUSE = """
import gc, sys
import nksim.cli
default, callbacks = gc.get_threshold(), len(gc.callbacks)
sys.argv = ["nksim", "--help"]
for _ in range(2):  # a second call while paused changes nothing
    try:
        nksim.cli.main()
    except SystemExit:
        pass
print("AFTER_HELP", gc.get_threshold()[0] == nksim.cli.START_UP_ALLOCATIONS,
      gc.get_freeze_count() == 0, len(gc.callbacks) == callbacks + 1)
junk = [[i] for i in range(nksim.cli.START_UP_ALLOCATIONS + 10_000)]  # spends the budget
# and again: the thresholds stay back (one callback, and it has done its work)
junk = [[i] for i in range(nksim.cli.START_UP_ALLOCATIONS + 10_000)]
print("RESUMED", gc.get_threshold() == default, gc.get_freeze_count() > 0)
"""


def test_the_command_line_pauses_the_garbage_collector_during_start_up():
    """Issue 13 (cached start): no collection while ``nksim`` imports its packages; the
    first collection, once the budget is spent, freezes the start-up objects and puts
    Python's thresholds back, so a long run collects as usual."""
    p = subprocess.run([sys.executable, "-c", GC_PAUSE], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "AFTER_HELP True True True" in p.stdout, p.stdout
    assert "RESUMED True True" in p.stdout, p.stdout


# ---------------------------------------------------------------- the status table
def _solver_arrays(model: Model, n: int, seed: int = 0):
    """Solver-like arrays with every status: ok, too many steps, step underflow, non-finite,
    an event loop, bad input, implausible values, extinctions (and none)."""
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 10.0, 11)
    out = rng.uniform(0.0, 1e3, (len(model.states), n, times.size))
    codes = rng.choice([_rodas5p.OK, _rodas5p.OK, _rodas5p.TOO_MANY_STEPS,
                        _rodas5p.STEP_UNDERFLOW, _rodas5p.NON_FINITE, 4], n)
    stats = np.column_stack([codes, rng.uniform(0, 10, n), rng.integers(1, 900, n),
                             rng.integers(0, 90, n)]).astype(float)
    ext_time = np.where(rng.random((n, len(model.states))) < 0.3,
                        rng.uniform(0, 10, (n, len(model.states))), np.nan)
    bad_input = rng.random(n) < 0.1
    return times, out, ext_time, stats, bad_input


@pytest.mark.parametrize("ids", [np.arange(5, 205), np.arange(200, dtype=np.uint32) * 3,
                                 np.arange(200) + 0.5, np.array([f"p{i}" for i in range(200)])])
def test_status_table_without_pandas_is_the_one_pandas_built(ids):
    model = get_model("depillis2006", "patient9")
    model = model.with_plausible({"N": (0.0, 900.0)}).with_extinction({"N": 1.0})
    arrays = _solver_arrays(model, ids.size)
    columns = status_columns(model, *arrays)
    ours = _status_table(ids, columns)
    theirs = _status_arrow(status_frame(model, *arrays, ids))
    assert ours.schema.equals(theirs.schema, check_metadata=True)
    assert ours.equals(theirs)
    statuses = set(ours.column("status").to_pylist())
    assert statuses == {"ok", "failed", "implausible"}
    assert 0 < ours.column("extinction_time_T").null_count < ids.size


def _same(a: pa.Array, b: pa.Array) -> bool:
    """Same type, nulls and values (NaN equal to NaN, which ``Array.equals`` denies)."""
    return (a.type == b.type and a.null_count == b.null_count
            and a.is_null().equals(b.is_null())
            and np.array_equal(a.fill_null(0).to_numpy(), b.fill_null(0).to_numpy(),
                               equal_nan=True))


def test_numbers_as_arrow_are_those_of_pyarrow():
    values = np.array([1.5, np.nan, -2.0, np.inf, 0.0])
    assert _same(_arrow_numbers(values), pa.array(values))
    assert _arrow_numbers(values).null_count == 0
    assert _same(_arrow_numbers(values, nan_is_null=True), pa.array(values, from_pandas=True))
    assert _arrow_numbers(values, nan_is_null=True).null_count == 1
    for v in (np.arange(7, dtype=np.int32), np.arange(3, dtype=np.uint64),
              np.arange(12.0)[::3], np.arange(4, dtype=np.float32)):
        assert _same(_arrow_numbers(v), pa.array(v))


@pytest.mark.parametrize("ids", [[3, 1, 3, 1], [0, 1, 2, 2], ["a", "b", "a"],
                                 np.array([7, 5, 5], dtype=np.uint8)])
def test_a_repeated_patient_id_is_named_as_pandas_names_it(ids):
    import pandas as pd

    from nksim.errors import shown

    index = pd.Index(np.asarray(ids))
    expected = f"patient id {shown(index[index.duplicated()][0])} appears twice"
    assert "np." not in expected
    with pytest.raises(UserError) as info:
        _check_ids(ids, len(ids))
    assert info.value.message == expected
    _check_ids(list(dict.fromkeys(ids)), len(set(map(str, ids))))  # no repeat: accepted
    with pytest.raises(UserError, match="patient ids for"):
        _check_ids(ids, len(ids) + 1)


# ---------------------------------------------------------------- remembered unit checks
SRC = Citation("toy", "A toy model for tests.", "assumption")


def toy(**changes) -> Model:
    """dx/dt = -k x (x/x0)^h, dy/dt = k x - d y; ``h`` is used as an exponent."""
    spec = dict(
        name="toy_units",
        title="Units",
        description="for the unit checks",
        states=(State("x", "cell", "x", 100.0), State("y", "cell", "y", 5.0)),
        parameters=(Parameter("k", 0.7, "1/day", "rate", SRC),
                    Parameter("x0", 50.0, "cell", "scale", SRC),
                    Parameter("h", 1.0, "dimensionless", "exponent", SRC),
                    Parameter("d", 0.2, "1/day", "decay", SRC)),
        equations={"x": "-k*x*(x/x0)**h", "y": "k*x - d*y"},
    )
    spec.update(changes)
    return Model(**spec)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache folder, and nothing remembered by this process."""
    monkeypatch.setenv("NKSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_dimensions, "_PASSED", set())
    return tmp_path / "units"


def _replace(model: Model, **params) -> Model:
    return dataclasses.replace(model, parameters=tuple(
        dataclasses.replace(p, **params[p.name]) if p.name in params else p
        for p in model.parameters))


def test_bad_units_and_dimensions_are_caught_on_a_fresh_cache(fresh_cache):
    with pytest.raises(UnitError, match=r"toy_units\.x0\.unit"):
        toy(parameters=(Parameter("k", 0.7, "1/day", "rate", SRC),
                        Parameter("x0", 50.0, "celll", "scale", SRC),
                        Parameter("h", 1.0, "dimensionless", "exponent", SRC),
                        Parameter("d", 0.2, "1/day", "decay", SRC)))
    with pytest.raises(DimensionError, match=r"dy/dt"):
        toy(equations={"x": "-k*x*(x/x0)**h", "y": "k*x - d"})
    assert not fresh_cache.exists() or not list(fresh_cache.iterdir())  # nothing remembered


def test_a_model_that_passed_is_not_checked_again_and_any_change_is(fresh_cache, monkeypatch):
    good = toy()
    assert len(list(fresh_cache.glob("*.ok"))) == 1
    with monkeypatch.context() as m:  # another process: only the file remembers the pass
        m.setattr(_dimensions, "_PASSED", set())
        calls = []
        m.setattr(_declaration, "parse_unit", lambda *a, **k: calls.append(a))
        m.setattr(_dimensions, "_check", lambda key: calls.append(key))
        toy()
        _replace(good, k={"value": 0.3})  # a value that is not an exponent: same key
        toy(name="toy_renamed")
        assert calls == []
    # every change to units, formulas or an exponent's value is checked again
    with pytest.raises(UnitError):
        toy(states=(State("x", "celll", "x", 100.0), State("y", "cell", "y", 5.0)))
    with pytest.raises(DimensionError, match=r"dx/dt"):  # 1/hour: a cell/hour term
        _replace(good, k={"unit": "1/hour"})
    with pytest.raises(DimensionError, match=r"dy/dt"):
        toy(equations={"x": "-k*x*(x/x0)**h", "y": "k*x - d"})
    with pytest.raises(DimensionError, match=r"observable"):
        toy(observables={"total": ("x + k", "cell", "x plus a rate")})
    power = toy(equations={"x": "-k*x**h", "y": "k*x - d*y"})  # h = 1: x**h in cell
    with pytest.raises(DimensionError, match=r"dx/dt"):  # h = 2: x**h in cell**2
        _replace(power, h={"value": 2.0})
    assert len(list(fresh_cache.glob("*.ok"))) == 2  # failures are never remembered


def test_the_key_covers_units_formulas_exemptions_and_exponents():
    base = dimension_key(toy())
    changed = [
        dataclasses.replace(toy(), time_unit="hour", parameters=tuple(
            dataclasses.replace(p, unit="1/hour") if p.unit == "1/day" else p
            for p in toy().parameters)),
        dataclasses.replace(toy(), states=(State("x", "mg", "x", 100.0),
                                           State("y", "mg", "y", 5.0)),
                            parameters=tuple(dataclasses.replace(p, unit="mg")
                                             if p.name == "x0" else p
                                             for p in toy().parameters)),
        _replace(toy(), h={"unit": ""}),
        _replace(toy(), h={"value": 2.0}),
        toy(equations={"x": "-k*x*(x/x0)**h", "y": "k*x - 2*d*y"}),
        toy(expressions={"kill": ("k*x", "cell/day", "a term")}),
        toy(observables={"total": ("x + y", "cell", "x plus y")}),
        toy(unit_exempt={"dy/dt": "a reason"}),
    ]
    keys = [dimension_key(m) for m in changed]
    assert base not in keys and len(set(keys)) == len(keys)
    assert dimension_key(_replace(toy(), k={"value": 0.1})) == base  # not an exponent
    assert dimension_key(toy(name="other", title="Other")) == base


def test_a_cache_folder_that_cannot_be_written_only_means_checking_again(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("NKSIM_CACHE_DIR", str(blocked))
    monkeypatch.setattr(_dimensions, "_PASSED", set())
    model = toy()
    monkeypatch.setattr(_dimensions, "_PASSED", set())  # (another process)
    assert not _dimensions.checked_before(model)
    with pytest.raises(DimensionError):
        toy(equations={"x": "-k*x*(x/x0)**h", "y": "k*x - d"})
