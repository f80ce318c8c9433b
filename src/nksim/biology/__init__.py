"""NK-cell biology: how an NK cell decides, kills and patrols, and how tumours escape.

Rate laws and small models that disease settings and therapies reuse (``docs/nk-biology.md``).
Public names are re-exported below, one block per module.
"""
# ruff: noqa: I001  (one re-export block per module, kept together on purpose)

# --- decision, Vav1 switch (issue 9 §1) ---
from nksim.biology._decision import DECISION_PARAMETERS as DECISION_PARAMETERS
from nksim.biology._decision import Microenvironment as Microenvironment
from nksim.biology._decision import NKReceptors as NKReceptors
from nksim.biology._decision import Signals as Signals
from nksim.biology._decision import TargetLigands as TargetLigands
from nksim.biology._decision import activation_probability as activation_probability
from nksim.biology._decision import activation_rate_law as activation_rate_law
from nksim.biology._decision import activation_threshold as activation_threshold
from nksim.biology._decision import encounter_pvav as encounter_pvav
from nksim.biology._decision import inhibitory_cutoff as inhibitory_cutoff
from nksim.biology._decision import signals as signals
from nksim.biology._decision import simulate_encounters as simulate_encounters
from nksim.biology._vav1_switch import VAV1_SWITCH_MODEL as VAV1_SWITCH_MODEL
from nksim.biology._vav1_switch import goldbeter_koshland as goldbeter_koshland
from nksim.biology._vav1_switch import vav1_dose_response as vav1_dose_response
from nksim.biology._vav1_switch import vav1_steady_state as vav1_steady_state
# --- patrol (trafficking) and the T1 reinfusion scenario (issue 9 §4, §6) ---
from nksim.biology._patrol_reinfusion import ReinfusionSpec as ReinfusionSpec
from nksim.biology._patrol_reinfusion import reinfusion_model as reinfusion_model
from nksim.biology._patrol_reinfusion import run_reinfusion as run_reinfusion
from nksim.biology._trafficking import PatrolAnswer as PatrolAnswer
from nksim.biology._trafficking import circuits_per_day as circuits_per_day
from nksim.biology._trafficking import held_to_blood_ratio as held_to_blood_ratio
from nksim.biology._trafficking import patrol_answer as patrol_answer
from nksim.biology._trafficking import patrol_model as patrol_model
from nksim.biology._trafficking import steady_state_shares as steady_state_shares
from nksim.biology._trafficking import trafficking_component as trafficking_component

# --- killing routes, serial killing, kill-count statistics (issue 9 §2) ---
from nksim.biology._kill_counts import CountFit as CountFit
from nksim.biology._kill_counts import compare_kill_count_models as compare_kill_count_models
from nksim.biology._kill_counts import counts_from_table as counts_from_table
from nksim.biology._kill_counts import fit_kill_counts as fit_kill_counts
from nksim.biology._serial_killing import DEATH_RECEPTOR as DEATH_RECEPTOR
from nksim.biology._serial_killing import GRANZYME as GRANZYME
from nksim.biology._serial_killing import KILLING_PARAMETERS as KILLING_PARAMETERS
from nksim.biology._serial_killing import KILLING_PRESETS as KILLING_PRESETS
from nksim.biology._serial_killing import KillingParameters as KillingParameters
from nksim.biology._serial_killing import KillingPreset as KillingPreset
from nksim.biology._serial_killing import SerialKillingResult as SerialKillingResult
from nksim.biology._serial_killing import simulate_serial_killing as simulate_serial_killing

# --- virtual cytotoxicity assay (issue 9 §3) ---
from nksim.biology._assay import ASSAY_PARAMETERS as ASSAY_PARAMETERS
from nksim.biology._assay import AssayCondition as AssayCondition
from nksim.biology._assay import LysisFit as LysisFit
from nksim.biology._assay import expected_killed_fraction as expected_killed_fraction
from nksim.biology._assay import fit_lysis_curve as fit_lysis_curve
from nksim.biology._assay import simulate_assay as simulate_assay

# --- tumour escape (issue 9 §5) ---
from nksim.biology._escape import ESCAPE_PARAMETERS as ESCAPE_PARAMETERS
from nksim.biology._escape import EscapeProfile as EscapeProfile
from nksim.biology._escape import apply_escape as apply_escape
from nksim.biology._escape import cd8_kill_factor as cd8_kill_factor
from nksim.biology._escape import escape_tumour_model as escape_tumour_model
from nksim.biology._escape import nk_kill_factor as nk_kill_factor
from nksim.biology._escape import tumour_after as tumour_after
