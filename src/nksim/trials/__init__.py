"""Virtual clinical trials for any disease: the runner, statistics, comparisons.

Public API::

    from nksim.trials import run_trial    # the runner (scenario: nksim.config.TrialScenario)
    from nksim.trials import plan_trial, TrialPlan  # screened, allocated, not yet simulated
    from nksim.trials import DiseaseSetting, Endpoint, Panel, Baseline, register_setting
    from nksim.trials import get_setting, setting_names              # disease settings
    from nksim.trials import compare_arms, paired_difference, risk_ratio  # comparisons

    from nksim.trials import Criterion, screen, screening_summary     # who is eligible
    from nksim.trials import proportion_ci, km_median, endpoint_summary, ...  # statistics

See ``docs/trials.md`` (runner, settings, designs, comparisons) and
``docs/trials-statistics.md`` (definitions, distributions and sources).
"""

from nksim.trials._comparisons import compare_arms as compare_arms
from nksim.trials._comparisons import cox_hazard_ratio as cox_hazard_ratio
from nksim.trials._comparisons import paired_difference as paired_difference
from nksim.trials._comparisons import risk_ratio as risk_ratio
from nksim.trials._eligibility import Criteria as Criteria
from nksim.trials._eligibility import Criterion as Criterion
from nksim.trials._eligibility import RuleSet as RuleSet
from nksim.trials._eligibility import screen as screen
from nksim.trials._eligibility import screening_summary as screening_summary

# ---- statistics of evidence: designs, power, log-rank, n-of-1 (issue 11 §3)
from nksim.trials._n_of_1 import apparent_response_probability as apparent_response_probability
from nksim.trials._n_of_1 import run_n_of_1 as run_n_of_1
from nksim.trials._power import SimonDesign as SimonDesign
from nksim.trials._power import log_rank as log_rank
from nksim.trials._power import power_by_simulation as power_by_simulation
from nksim.trials._power import schoenfeld_events as schoenfeld_events
from nksim.trials._power import simon_operating as simon_operating
from nksim.trials._power import simon_two_stage as simon_two_stage
from nksim.trials._power import two_proportion_sample_size as two_proportion_sample_size
from nksim.trials._setting import Baseline as Baseline
from nksim.trials._setting import DiseaseSetting as DiseaseSetting
from nksim.trials._setting import Endpoint as Endpoint
from nksim.trials._setting import Panel as Panel
from nksim.trials._setting import get_setting as get_setting
from nksim.trials._setting import register_setting as register_setting
from nksim.trials._setting import setting_names as setting_names
from nksim.trials._statistics import Estimate as Estimate
from nksim.trials._statistics import StatisticalWarning as StatisticalWarning
from nksim.trials._statistics import bootstrap_ci as bootstrap_ci
from nksim.trials._statistics import cost_per_patient_treated as cost_per_patient_treated
from nksim.trials._statistics import cost_per_remission as cost_per_remission
from nksim.trials._statistics import difference_in_proportions as difference_in_proportions
from nksim.trials._statistics import endpoint_summary as endpoint_summary
from nksim.trials._statistics import fisher_exact_test as fisher_exact_test
from nksim.trials._statistics import kaplan_meier as kaplan_meier
from nksim.trials._statistics import km_median as km_median
from nksim.trials._statistics import median_ci as median_ci
from nksim.trials._statistics import proportion_ci as proportion_ci
from nksim.trials._statistics import summary_frame as summary_frame
from nksim.trials._statistics import wilson_ci as wilson_ci
from nksim.trials._trial import ArmPlan as ArmPlan
from nksim.trials._trial import StreamedSimulation as StreamedSimulation
from nksim.trials._trial import TrialPlan as TrialPlan
from nksim.trials._trial import TrialResult as TrialResult
from nksim.trials._trial import plan_trial as plan_trial
from nksim.trials._trial import run_trial as run_trial
from nksim.trials._trial import trial_bar as trial_bar
