"""Analysis of declared models: steady states, local and global sensitivities, estimation.

Public API::

    from nksim.analysis import steady_state, local_sensitivities, sensitivity_model
    from nksim.analysis import sobol_indices
    from nksim.analysis import PetabProblem, read_petab, fit   # PEtab problems (docs/estimation.md)
"""

from nksim.analysis._estimate import FitResult as FitResult
from nksim.analysis._estimate import multistart as multistart
from nksim.analysis._estimate import profiles as profiles
from nksim.analysis._global import sobol_indices as sobol_indices
from nksim.analysis._petab import PetabProblem as PetabProblem
from nksim.analysis._petab import read_petab as read_petab
from nksim.analysis._sensitivity import local_sensitivities as local_sensitivities
from nksim.analysis._sensitivity import sensitivity_model as sensitivity_model
from nksim.analysis._sensitivity import sensitivity_name as sensitivity_name
from nksim.analysis._steady_state import SteadyState as SteadyState
from nksim.analysis._steady_state import steady_state as steady_state
