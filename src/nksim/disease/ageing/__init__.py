"""Senescent cells, NK clearance and lifespan: stochastic SR cohorts (docs/ageing.md).

Public API::

    from nksim.disease.ageing import simulate_arm, ArmInputs, NKLayer, Senolysis
    from nksim.disease.ageing import Infusions, Cytokines, turnover_half_life
    from nksim.disease.ageing import arm_endpoints, gompertz_fit, run_scenario
"""

from nksim.disease.ageing._cohort import ArmResult as ArmResult
from nksim.disease.ageing._cohort import simulate_arm as simulate_arm
from nksim.disease.ageing._cohort import sr_drift as sr_drift
from nksim.disease.ageing._cohort import turnover_half_life as turnover_half_life
from nksim.disease.ageing._endpoints import arm_endpoints as arm_endpoints
from nksim.disease.ageing._endpoints import burden_by_age as burden_by_age
from nksim.disease.ageing._endpoints import gain_estimate as gain_estimate
from nksim.disease.ageing._endpoints import gompertz_fit as gompertz_fit
from nksim.disease.ageing._endpoints import hazard_by_age as hazard_by_age
from nksim.disease.ageing._endpoints import hazard_ratio as hazard_ratio
from nksim.disease.ageing._endpoints import survival_curve as survival_curve
from nksim.disease.ageing._endpoints import weibull_vs_gompertz as weibull_vs_gompertz
from nksim.disease.ageing._interventions import ArmInputs as ArmInputs
from nksim.disease.ageing._interventions import Cytokines as Cytokines
from nksim.disease.ageing._interventions import Infusions as Infusions
from nksim.disease.ageing._interventions import NKLayer as NKLayer
from nksim.disease.ageing._interventions import Senolysis as Senolysis
from nksim.disease.ageing._interventions import nk_capacity as nk_capacity
from nksim.disease.ageing._interventions import removal_multiplier as removal_multiplier
