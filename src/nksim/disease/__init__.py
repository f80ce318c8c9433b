"""Disease models: systemic lupus erythematosus with glucocorticoids, and its activity readouts.

Public API::

    from nksim.disease import sle_model, sle_disease_component, steroid_component
    model = sle_model()                                  # glucocorticoids + SLE, composed
    base = sle_initial_state(model, None, sledai=[8, 16, 24])   # patients in equilibrium
    doses = steroid_taper(0, 1.0, 30.0, taper_weeks=8, maintenance_mg_per_day=5,
                          maintenance_weeks=12, final_taper_weeks=4)
    score = sledai(result.dataset)                       # SLEDAI-2K surrogate (patient x time)
    doris_remission(result.dataset, prednisone_mg_per_day(doses, times)[None], day=90)
    people = sle_candidates(200, seed=1, spec=SleCohortSpec(population="adult"))  # referred
    rules = SleEligibility(max_age_years=None)           # the article's criteria, adults

See ``docs/sle-disease.md`` for the equations, parameters and definitions.

Trial settings (``[trial] setting``; interface :class:`nksim.trials.DiseaseSetting`):
:data:`SETTINGS` maps each bundled setting's name to the module that registers it on
import (``"sle"``: :mod:`nksim.disease._sle_setting`).
"""

from nksim.disease._sle import DEFAULT_BASELINE_SLEDAI as DEFAULT_BASELINE_SLEDAI
from nksim.disease._sle import SLE_STATES as SLE_STATES
from nksim.disease._sle import SleBaseline as SleBaseline
from nksim.disease._sle import attainable_sledai as attainable_sledai
from nksim.disease._sle import severity_for_sledai as severity_for_sledai
from nksim.disease._sle import sle_disease_component as sle_disease_component
from nksim.disease._sle import sle_initial_state as sle_initial_state
from nksim.disease._sle import sle_model as sle_model
from nksim.disease._sle import sle_steady_state as sle_steady_state
from nksim.disease._sle_activity import B_CELL_MIN_DEPLETION_DAYS as B_CELL_MIN_DEPLETION_DAYS
from nksim.disease._sle_activity import B_CELL_RETURN_THRESHOLD as B_CELL_RETURN_THRESHOLD
from nksim.disease._sle_activity import DEFAULT_MAPPING as DEFAULT_MAPPING
from nksim.disease._sle_activity import FLARE_MILD_MODERATE as FLARE_MILD_MODERATE
from nksim.disease._sle_activity import FLARE_NONE as FLARE_NONE
from nksim.disease._sle_activity import FLARE_SEVERE as FLARE_SEVERE
from nksim.disease._sle_activity import READOUT_SOURCES as READOUT_SOURCES
from nksim.disease._sle_activity import SledaiMapping as SledaiMapping
from nksim.disease._sle_activity import any_flare as any_flare
from nksim.disease._sle_activity import b_cell_depleted as b_cell_depleted
from nksim.disease._sle_activity import b_cell_recovery_day as b_cell_recovery_day
from nksim.disease._sle_activity import clinical_sledai as clinical_sledai
from nksim.disease._sle_activity import doris_remission as doris_remission
from nksim.disease._sle_activity import flares as flares
from nksim.disease._sle_activity import lldas as lldas
from nksim.disease._sle_activity import pga as pga
from nksim.disease._sle_activity import sledai as sledai
from nksim.disease._sle_activity import sledai_components as sledai_components
from nksim.disease._sle_activity import sri4_response as sri4_response
from nksim.disease._sle_activity import steroid_free_at as steroid_free_at
from nksim.disease._sle_cohort import SLE_CANDIDATE_COLUMNS as SLE_CANDIDATE_COLUMNS
from nksim.disease._sle_cohort import SleCohortSpec as SleCohortSpec
from nksim.disease._sle_cohort import sle_candidates as sle_candidates
from nksim.disease._sle_eligibility import SleEligibility as SleEligibility
from nksim.disease._steroids import GC_EFFECT_STATE as GC_EFFECT_STATE
from nksim.disease._steroids import GC_STATE as GC_STATE
from nksim.disease._steroids import constant_steroid as constant_steroid
from nksim.disease._steroids import prednisone_mg_per_day as prednisone_mg_per_day
from nksim.disease._steroids import steroid_component as steroid_component
from nksim.disease._steroids import steroid_taper as steroid_taper
from nksim.disease._steroids import steroid_withdrawal as steroid_withdrawal

#: Bundled trial settings: name -> module registering it (imported by the trial runner on
#: first use).
SETTINGS = {"sle": "nksim.disease._sle_setting",
            "lymphoma": "nksim.disease._lymphoma_setting",
            "pancreatic": "nksim.disease._pancreatic_setting"}
