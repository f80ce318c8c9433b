"""The engine: integrate virtual populations with dose records, fast and stiff-safe.

Public API::

    from nksim.engine import simulate, SolverOptions, SimulationResult
    from nksim.engine import read_netcdf, parameters_frame, initial_frame, covariates_frame
    from nksim.engine import Population, simulate_chunks  # chunked, locally or on Dask
"""

from nksim.engine._chunked import ChunkOutput as ChunkOutput  # chunked runs (docs/scale.md)
from nksim.engine._chunked import Population as Population
from nksim.engine._chunked import default_chunk_size as default_chunk_size
from nksim.engine._chunked import simulate_chunks as simulate_chunks
from nksim.engine._chunked import status_table as status_table
from nksim.engine._chunked import timecourse_table as timecourse_table
from nksim.engine._results import SimulationResult as SimulationResult
from nksim.engine._results import covariates_frame as covariates_frame
from nksim.engine._results import initial_frame as initial_frame
from nksim.engine._results import parameters_frame as parameters_frame
from nksim.engine._results import provenance as provenance
from nksim.engine._results import read_netcdf as read_netcdf
from nksim.engine._simulate import SolverOptions as SolverOptions
from nksim.engine._simulate import simulate as simulate


def __dir__() -> list[str]:
    return sorted([*globals(), "integrate_sde"])


def __getattr__(name: str) -> object:
    # the SDE engine (batched SDEs, first passage) is imported when first used: importing
    # it loads its compiled kernels, which an ODE run does not need
    if name == "integrate_sde":
        from nksim.engine._sde import integrate_sde

        return integrate_sde
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
