"""Generate, cache and load the compiled right-hand side and Jacobian of a model.

The code is generated from the sympy form once per model structure and written to the
cache folder (``$NKSIM_CACHE_DIR``, default the user cache dir) as
``nksim_<model>_<hash>.py``, where the hash is that of the generated source together
with the versions of nksim, numba, llvmlite and Python: a change to any of them gives a
new file (no hand-bumped version number). numba compiles the file with its own on-disk
cache beside it. So that a warm run needs neither sympy nor the code generator, an index
file maps the model's structure key plus a hash of the code generator's own source files
(and the same versions) to the generated file. A run that compiles says so on standard
error; :attr:`CompiledModel.seconds` is the time spent generating, compiling or loading.

Backend contract (see :mod:`nksim.model._generate`): ``rhs(y, p, dydt)`` and
``jac(y, p, dfdy)`` for one patient; ``rhs_lanes``, ``fw_lanes``, ``lu_lanes`` and
``solve_lanes`` for up to :data:`LANES` patients at once in flat, lane-minor arrays (their
last argument ``nl``: lanes 0 .. nl-1 are computed).
A model that uses the time ``t`` is compiled in its autonomous form (``t`` as a last,
hidden state with d t/dt = 1; see :func:`nksim.model._declaration.autonomous`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import ModuleType

from numba import types

from nksim._io import cache_dir, cache_writable, write_text_atomic
from nksim.model._declaration import Model, check_extinction

LANES = 32  # patients integrated together in SIMD lanes (four AVX-512 vectors of float64)
PIVOT_THRESHOLD = 0.1  # threshold partial pivoting: |pivot| >= 0.1 x largest entry below

_vec = types.float64[::1]
_mat = types.float64[:, ::1]
RHS_SIGNATURE = types.void(_vec, _vec, _vec)  # (y, p, dydt)
JAC_SIGNATURE = types.void(_vec, _vec, _mat)  # (y, p, dfdy)
# the lane functions compute lanes 0 .. nl-1 (nl <= LANES: fewer patients than lanes)
_nl = types.int64
RHS_LANES_SIGNATURE = types.void(_vec, _vec, _vec, _nl)  # (y, p, dydt, nl), lane-minor
FW_LANES_SIGNATURE = types.void(_vec, _vec, _vec, _vec, _vec, _vec, _nl)  # y,p,fac,keep,f,w,nl
LU_LANES_SIGNATURE = types.void(_vec, _vec, _vec, _nl)  # (w, dinv, bad, nl)
SOLVE_LANES_SIGNATURE = types.void(_vec, _vec, _vec, _nl)  # (w, dinv, r, nl)


@dataclass(frozen=True)
class CompiledModel:
    """The compiled functions of one model structure (see the backend contract above)."""

    rhs: object
    jac: object
    rhs_lanes: object
    fw_lanes: object
    lu_lanes: object
    solve_lanes: object
    path: Path
    compiled: bool = False  # True if this call generated or compiled the code
    seconds: float = 0.0  # time this call spent generating, compiling or loading

    @cached_property
    def kernels(self) -> tuple:
        """The six functions as the solver takes them (rhs, jac, rhs_lanes, fw_lanes,
        lu_lanes, solve_lanes), each bound to its compiled address once: given the
        dispatchers, numba looks their addresses up at every solver call (~0.2 ms for the
        six, most of the cost of a short call, as in PEtab objectives and event segments)."""
        from numba.core.types.function_type import CompileResultWAP

        pairs = ((self.rhs, RHS_SIGNATURE), (self.jac, JAC_SIGNATURE),
                 (self.rhs_lanes, RHS_LANES_SIGNATURE), (self.fw_lanes, FW_LANES_SIGNATURE),
                 (self.lu_lanes, LU_LANES_SIGNATURE), (self.solve_lanes, SOLVE_LANES_SIGNATURE))
        return tuple(CompileResultWAP(f.get_compile_result(sig)) for f, sig in pairs)


# Files whose source decides what code is generated and how it is compiled.
_GENERATOR_FILES = ("_codegen.py", "_generate.py", "_symbolic.py", "_vmath.py", "_vselect.py")


@lru_cache(maxsize=1)
def toolchain_key() -> str:
    """Versions that invalidate compiled code: nksim, numba, llvmlite, Python, lane count."""
    import llvmlite
    import numba

    from nksim import __version__

    return (f"nksim {__version__}; numba {numba.__version__}; llvmlite {llvmlite.__version__};"
            f" python {sys.version_info[0]}.{sys.version_info[1]}; lanes {LANES}")


@lru_cache(maxsize=1)
def _generator_hash() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _GENERATOR_FILES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def source_key(source: str) -> str:
    """The cache key of generated code: hash of the source and of :func:`toolchain_key`."""
    return hashlib.sha256(f"{toolchain_key()}\n{source}".encode()).hexdigest()[:20]


def compile_model(model: Model) -> CompiledModel:
    """Return the compiled functions of ``model``, generating them if they are not cached.

    A non-autonomous model (one that uses ``t``) is compiled in its autonomous form, whose
    functions take one more state (the time, last).
    """
    t0 = time.perf_counter()
    if model.uses_time or not model.states:
        from nksim.model._declaration import autonomous

        model = autonomous(model)
    lookup = hashlib.sha256(
        f"{model.structure_key()}\n{_generator_hash()}\n{toolchain_key()}".encode()
    ).hexdigest()[:20]
    folder = cache_dir() / "models"
    found = _cached(folder, model.name, lookup)
    if found is None and not cache_writable():
        folder = _scratch_folder()
        found = _cached(folder, model.name, lookup)
    if found is None:
        from nksim.model._generate import generate_source

        source = generate_source(model)
        module_name = f"nksim_{model.name}_{source_key(source)}"
        path = folder / f"{module_name}.py"
        if _cached_source(module_name, path) is None:  # absent or damaged: (re)written
            write_text_atomic(path, source)
        write_text_atomic(folder / "index" / f"{model.name}_{lookup}.txt", module_name + "\n")
    else:
        module_name, path = found
    # a model error first, before any compiling (also when the code came from the cache)
    loaded = sys.modules.get(module_name)
    check_extinction(model, loaded.SOURCE_FREE if loaded else _source_free(path))
    marker = path.with_suffix(".compiled")
    fresh = loaded is None and not marker.exists()
    if fresh:
        print(f"compiling model {model.name} (first run only, a few seconds to a minute, by size; "
              f"cached in {folder})", file=sys.stderr, flush=True)
    module = _load(module_name, path)
    if fresh:
        write_text_atomic(marker, toolchain_key() + "\n")
    return CompiledModel(
        module.rhs,
        module.jac,
        module.rhs_lanes,
        module.fw_lanes,
        module.lu_lanes,
        module.solve_lanes,
        path,
        compiled=fresh,
        seconds=time.perf_counter() - t0,
    )


def _cached(folder: Path, name: str, lookup: str) -> tuple[str, Path] | None:
    """``(module name, path)`` of the cached code of a model structure, or None when the
    index has no entry or the code it names is missing or damaged."""
    index = folder / "index" / f"{name}_{lookup}.txt"
    try:
        module_name = index.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    path = folder / f"{module_name}.py"
    return None if _cached_source(module_name, path) is None else (module_name, path)


def _cached_source(module_name: str, path: Path) -> str | None:
    """The cached source of ``module_name`` if ``path`` holds it intact (its hash is the
    name's: a truncated or overwritten file is taken for missing), else None. A module
    already loaded in this process is taken as it is."""
    if module_name in sys.modules:
        return ""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return source if module_name.endswith(f"_{source_key(source)}") else None


@lru_cache(maxsize=1)
def _scratch_folder() -> Path:
    """A temporary folder for compiled models when the cache folder cannot be written,
    removed when the process ends; said once on standard error."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="nksim-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    print(f"nksim: the cache folder {cache_dir()} cannot be written: models are compiled in "
          "a temporary folder for this run only (set NKSIM_CACHE_DIR to a writable folder "
          "to keep them)", file=sys.stderr, flush=True)
    return folder


def _source_free(path: Path) -> tuple[str, ...]:
    """``SOURCE_FREE`` of a generated module, read from its source without running it."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("SOURCE_FREE = "):
            return ast.literal_eval(line.partition("=")[2].partition("#")[0].strip())
    raise RuntimeError(f"generated model code without SOURCE_FREE: {path}")


def _load(module_name: str, path: Path) -> ModuleType:
    """The generated module, compiled by numba or loaded from numba's cache beside it. A
    damaged numba cache (numba raises, e.g. an unpickling error) is deleted and the module
    compiled again, once."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    try:
        return _exec(module_name, path)
    except Exception:
        stale = list((path.parent / "__pycache__").glob(f"{module_name}.*"))
        if not stale:
            raise
        for f in stale:
            f.unlink(missing_ok=True)
        return _exec(module_name, path)


def _exec(module_name: str, path: Path) -> ModuleType:
    from nksim.model._typing_memo import typing_memo

    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with typing_memo():  # numba compiles (or loads) the functions as the module runs
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
