"""Generate, cache and load the compiled right-hand side and Jacobian of a model.

The code is generated from the sympy form once per model structure, written to
the cache folder (``$NKSIM_CACHE_DIR``, default the user cache dir) under a name
that contains a hash of the structure, and compiled by numba with its own on-disk
cache beside it. A second run of the same model imports both without sympy and
without recompiling.

Backend contract (see :mod:`nksim.model._generate`): ``rhs(y, p, dydt)`` and
``jac(y, p, dfdy)`` for one patient; ``rhs_lanes``, ``fw_lanes``, ``lu_lanes`` and
``solve_lanes`` for :data:`LANES` patients at once in flat, lane-minor arrays.
Models are autonomous: time enters only through doses.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from numba import types

from nksim._io import write_text_atomic
from nksim.model._declaration import Model, check_extinction

CODEGEN_VERSION = 5
LANES = 32  # patients integrated together in SIMD lanes (four AVX-512 vectors of float64)
PIVOT_THRESHOLD = 0.1  # threshold partial pivoting: |pivot| >= 0.1 x largest entry below

_vec = types.float64[::1]
_mat = types.float64[:, ::1]
RHS_SIGNATURE = types.void(_vec, _vec, _vec)  # (y, p, dydt)
JAC_SIGNATURE = types.void(_vec, _vec, _mat)  # (y, p, dfdy)
RHS_LANES_SIGNATURE = types.void(_vec, _vec, _vec)  # (y, p, dydt), lane-minor
FW_LANES_SIGNATURE = types.void(_vec, _vec, _vec, _vec, _vec, _vec)  # y,p,fac,keep,f,w
LU_LANES_SIGNATURE = types.void(_vec, _vec, _vec)  # (w, dinv, bad)
SOLVE_LANES_SIGNATURE = types.void(_vec, _vec, _vec)  # (w, dinv, r)


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


def cache_dir() -> Path:
    """Folder for generated code: ``$NKSIM_CACHE_DIR`` or the platform's user cache folder."""
    env = os.environ.get("NKSIM_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nksim"))


def compile_model(model: Model) -> CompiledModel:
    """Return the compiled functions of ``model``, generating them if they are not cached."""
    module_name = (
        f"nksim_generated_{model.name}_{model.structure_key()}_v{CODEGEN_VERSION}_L{LANES}"
    )
    path = cache_dir() / "models" / f"{module_name}.py"
    if not path.exists():
        from nksim.model._generate import generate_source

        write_text_atomic(path, generate_source(model))
    module = _load(module_name, path)
    check_extinction(model, module.SOURCE_FREE)  # also when the code came from the cache
    return CompiledModel(
        module.rhs,
        module.jac,
        module.rhs_lanes,
        module.fw_lanes,
        module.lu_lanes,
        module.solve_lanes,
        path,
    )


def _load(module_name: str, path: Path) -> ModuleType:
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
