"""Virtual patients: covariates, between-patient variability, per-patient random streams.

Public API::

    from nksim.population import (
        patient_rng, patient_normals,                  # the counter-based streams
        CovariateSpec, sample_covariates, read_covariates, body_surface_area,
        population_parameters, CovariateEffect, omega_matrix, omega_from_sd,
        lognormal_parameters, read_parameters_file,
    )

See docs/population.md.
"""

from nksim.population._covariates import BSA_FORMULAS as BSA_FORMULAS
from nksim.population._covariates import COVARIATE_COLUMNS as COVARIATE_COLUMNS
from nksim.population._covariates import COVARIATE_SOURCES as COVARIATE_SOURCES
from nksim.population._covariates import CovariateSpec as CovariateSpec
from nksim.population._covariates import body_surface_area as body_surface_area
from nksim.population._covariates import check_covariates as check_covariates
from nksim.population._covariates import distribution as distribution
from nksim.population._covariates import read_covariates as read_covariates
from nksim.population._covariates import sample_covariates as sample_covariates
from nksim.population._growth import cdc_stature_lms as cdc_stature_lms
from nksim.population._growth import cdc_weight_lms as cdc_weight_lms
from nksim.population._growth import lms_value as lms_value
from nksim.population._sampling import lognormal_parameters as lognormal_parameters
from nksim.population._sampling import patient_normals as patient_normals
from nksim.population._sampling import patient_rng as patient_rng
from nksim.population._sampling import read_parameters_file as read_parameters_file
from nksim.population._variability import CovariateEffect as CovariateEffect
from nksim.population._variability import omega_from_sd as omega_from_sd
from nksim.population._variability import omega_matrix as omega_matrix
from nksim.population._variability import population_parameters as population_parameters
