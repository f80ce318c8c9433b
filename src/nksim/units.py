"""Units: one pint registry for all of nksim, and conversion at the edges.

Models are written in canonical units (cells, days, ...). Quantities given by a
person ("6.5e-11 1/(cell*day)", "1e6 cell/kg", "12 hour") are converted once, here,
with a clear error when the dimensions do not match.

Custom units (assumptions of convenience, not SI): ``cell`` (a count of cells,
its own dimension so that cells never silently mix with other counts), ``IU``
(international units of biological activity, e.g. of IL-2) and ``drug_unit``
(the abstract amount of chemotherapy used by de Pillis et al. 2006).
"""

from __future__ import annotations

from functools import lru_cache

import pint

from nksim.errors import UnitError

_DEFINITIONS = (
    "cell = [cell_count] = cells",
    "IU = [biological_activity]",
    "drug_unit = [drug_amount] = drug_units",
)


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared unit registry (created on first use)."""
    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS:
        reg.define(line)
    return reg


def parse_unit(unit: str, *, field: str | None = None) -> pint.Unit:
    """Parse a unit string such as ``"1/(cell*day)"``; raise :class:`UnitError` if unknown."""
    try:
        return registry().parse_units(unit or "dimensionless")
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        raise UnitError(f"unknown unit {unit!r} ({exc})", field=field) from None


def to_magnitude(value: float | str, unit: str, *, field: str | None = None) -> float:
    """Convert a number (already in ``unit``) or a ``"value unit"`` string to a float in ``unit``.

    >>> to_magnitude("12 hour", "day")
    0.5
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number or a 'value unit' string, got {value!r}", field=field)
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise UnitError(f"expected a number or a 'value unit' string, got {value!r}", field=field)
    reg = registry()
    try:
        quantity = reg.Quantity(value)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        raise UnitError(f"cannot read quantity {value!r} ({exc})", field=field) from None
    target = parse_unit(unit, field=field)
    try:
        return float(quantity.to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise UnitError(
            f"{value!r} does not convert to {unit!r} ({quantity.units:~} is not {target:~})",
            field=field,
        ) from None
