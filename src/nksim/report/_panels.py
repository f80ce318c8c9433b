"""What a trial report plots: the disease setting's panels (``report_panels`` of
:class:`nksim.trials.DiseaseSetting`, each with its unit, axis, detection limit and
plausible range), or one panel per model state when the setting declares none.

Detection limits are display limits: a value below the limit is not drawn (the curve
stops; it does not dive to 10⁻¹² cells). Without a declared panel, states counted in
cells get a limit of 1 (one cell, or one cell/µL: ASSUMPTION, the order of magnitude of
flow-cytometric counts) and other states none.
"""

from __future__ import annotations

import numpy as np

from nksim.trials._setting import Panel, get_setting

CELL_UNITS = ("cell", "cell/uL", "cells/µL", "cell/µL", "cells")
CELL_DETECTION_LIMIT = 1.0  # ASSUMPTION, see the module docstring


def _state(name: str):
    def series(ds) -> np.ndarray:
        return np.asarray(ds[name].values, dtype=float)
    return series


def detection_limit(panel: Panel) -> float | None:
    """The panel's detection limit; for a log panel of a cell count that declares none,
    1 (cell or cell/µL)."""
    if panel.detection_limit is not None:
        return panel.detection_limit
    if panel.log and panel.unit in CELL_UNITS:
        return CELL_DETECTION_LIMIT
    return None


def setting_of(result):
    """The trial's disease setting (the one it ran with, else the scenario's)."""
    return result.setting or get_setting(result.scenario.trial.setting)


def panels_for(result) -> tuple[Panel, ...]:
    """The panels of a trial report (see the module docstring)."""
    declared = tuple(setting_of(result).report_panels)
    if declared:
        return declared
    panels = []
    for s in result.model.states:
        cells = s.unit in CELL_UNITS
        panels.append(Panel(s.name, s.description or s.name, s.unit, _state(s.name),
                            log=cells,
                            detection_limit=CELL_DETECTION_LIMIT if cells else None,
                            plausible=s.plausible))
    return tuple(panels)
