"""Published models by name.

>>> from nksim.library import get_model, model_names
>>> model = get_model("depillis2006", parameter_set="patient9")
"""

from __future__ import annotations

import importlib

from nksim.errors import UserError
from nksim.model import Model

_MODULES = {
    "depillis2005": "nksim.library._depillis2005",
    "depillis2006": "nksim.library._depillis2006",
    "depillis2009": "nksim.library._depillis2009",
    "karin2019": "nksim.library._karin2019",  # SR model; stochastic cohorts: disease.ageing
    # composed models (not a single publication): docs/design-sle.md
    "sle_cd19": "nksim.disease._sle_cd19",
}


def model_names() -> list[str]:
    """Names of the models in the library."""
    return sorted(_MODULES)


def get_model(name: str, parameter_set: str | None = None) -> Model:
    """The library model ``name``, with ``parameter_set`` applied if given."""
    if name not in _MODULES:
        raise UserError(f"unknown model {name!r} (known: {', '.join(model_names())})",
                        field="model.name")
    model: Model = importlib.import_module(_MODULES[name]).MODEL
    return model.with_parameter_set(parameter_set) if parameter_set else model
