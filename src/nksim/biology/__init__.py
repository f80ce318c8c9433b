"""NK-cell biology: how an NK cell decides, kills and patrols, and how tumours escape.

Rate laws and small models that disease settings and therapies reuse (``docs/nk-biology.md``).
Public names are re-exported below, one block per module.
"""

# --- H4: decision, Vav1 switch (issue 9 §1) ---
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
# --- end H4 decision ---
