"""Virtual patients: parameter variability with per-patient random streams.

Public API::

    from nksim.population import lognormal_parameters, patient_rng, read_parameters_file
"""

from nksim.population._sampling import lognormal_parameters as lognormal_parameters
from nksim.population._sampling import patient_rng as patient_rng
from nksim.population._sampling import read_parameters_file as read_parameters_file
