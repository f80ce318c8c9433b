"""Scenario configuration: one schema, one quantity type, one error format.

Only the command line and the scenario loaders import this package; the engine and the
models raise plain exceptions that the loaders map to scenario fields.

Public API::

    from nksim.config import read_toml, validate, Scenario          # simulate scenarios
    from nksim.config import TrialScenario, ArmSection               # trial scenarios
    from nksim.config import json_schema, reference_markdown         # published schema
    from nksim.config import Section, ModelQuantity, quantity_in     # building sections

See ``docs/scenarios.md`` (how to write one) and ``docs/schema.md`` (every field).
"""

from nksim.config._errors import fields_of as fields_of
from nksim.config._errors import user_error as user_error
from nksim.config._load import parse_toml as parse_toml
from nksim.config._load import read_toml as read_toml
from nksim.config._load import validate as validate
from nksim.config._reference import json_schema as json_schema
from nksim.config._reference import reference_markdown as reference_markdown
from nksim.config._simulate import DoseSection as DoseSection
from nksim.config._simulate import ModelSection as ModelSection
from nksim.config._simulate import PopulationSection as PopulationSection
from nksim.config._simulate import Scenario as Scenario
from nksim.config._simulate import SimulationSection as SimulationSection
from nksim.config._types import MAX_CANDIDATES as MAX_CANDIDATES
from nksim.config._types import MAX_DOSE_COUNT as MAX_DOSE_COUNT
from nksim.config._types import MAX_OUTPUT_TIMES as MAX_OUTPUT_TIMES
from nksim.config._types import MAX_PATIENTS as MAX_PATIENTS
from nksim.config._types import Atol as Atol
from nksim.config._types import ModelQuantity as ModelQuantity
from nksim.config._types import Section as Section
from nksim.config._types import Seed as Seed
from nksim.config._types import Sigma as Sigma
from nksim.config._types import bounded_int as bounded_int
from nksim.config._types import quantity_in as quantity_in

#: Built on first use (building its sections takes ~0.1-0.2 s, which ``nksim simulate``
#: does not need): ``TrialScenario``, ``ArmSection``, ``TrialSection``.
_TRIAL_NAMES = ("TrialScenario", "ArmSection", "TrialSection")


def __getattr__(name: str):
    if name in _TRIAL_NAMES:
        from nksim.config import _trial

        return getattr(_trial, name)
    raise AttributeError(f"module 'nksim.config' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_TRIAL_NAMES])
