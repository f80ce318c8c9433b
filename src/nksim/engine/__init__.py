"""The engine: integrate virtual populations with dose records, fast and stiff-safe.

Public API::

    from nksim.engine import simulate, SolverOptions, SimulationResult
"""

from nksim.engine._results import SimulationResult as SimulationResult
from nksim.engine._simulate import SolverOptions as SolverOptions
from nksim.engine._simulate import simulate as simulate
