"""Field types of scenario files: one quantity type, bounded counts, strict sections.

Every section is a frozen pydantic model in strict mode: a boolean is not a number,
``"10"`` is not an integer, NaN and infinity are refused, unknown keys are errors.
A quantity is a number (in the unit the field states, or the model's unit) or a
``"VALUE UNIT"`` string, parsed by :func:`nksim.units.parse_quantity` without evaluating
any arithmetic.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from nksim._spec import Table
from nksim.errors import UserError
from nksim.units import format_quantity, parse_quantity, to_magnitude

if TYPE_CHECKING:
    import pint

#: Upper limits of counts (a typo such as 1e9 patients is refused before any work).
MAX_PATIENTS = 1_000_000
MAX_CANDIDATES = 1_000_000
MAX_DOSE_COUNT = 10_000
MAX_OUTPUT_TIMES = 1_000_000
MAX_SEED = 2**63 - 1

_QUANTITY_PATTERN = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*[A-Za-z_(1%\u00b5\u03bc].*$"


class Section(Table):
    """Base of every scenario section: strict, frozen, unknown keys refused."""


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("nksim", message)


def _read_quantity(value: Any) -> float | pint.Quantity:
    """A finite number, or a parsed ``"VALUE UNIT"`` string (not a quoted bare number)."""
    if isinstance(value, bool):
        raise _fail("must be a number or a 'VALUE UNIT' string")
    if not isinstance(value, int | float | str):
        # its own type, so that a union's other branch (e.g. a list) is reported instead
        raise PydanticCustomError("nksim_type", "must be a number or a 'VALUE UNIT' string")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise _fail("must be a finite number")
        return float(value)
    try:
        quantity = parse_quantity(value)
    except UserError as exc:
        raise _fail(str(exc)) from None
    if not any(c.isalpha() or c == "%" for c in value):
        raise _fail("a number must not be quoted: write 5, or '5 UNIT' with a unit")
    return quantity


def _serialize_quantity(value: float | pint.Quantity) -> float | str:
    return value if isinstance(value, float | int) else format_quantity(value)


def _quantity_schema(unit: str | None, bounds: str = "") -> dict[str, Any]:
    where = f"in {unit}" if unit else "in the model's unit"
    text = f"a number {where}, or a 'VALUE UNIT' string{bounds}"
    return {"anyOf": [{"type": "number"},
                      {"type": "string", "pattern": _QUANTITY_PATTERN}],
            "description": text, "x-unit": unit or "model unit", "x-bounds": bounds.strip(" ()")}


#: A number in the model's unit (of the state or parameter named) or a ``"VALUE UNIT"``
#: string; converted by the scenario loader once the model is known.
ModelQuantity = Annotated[
    Any, PlainValidator(_read_quantity), PlainSerializer(_serialize_quantity),
    WithJsonSchema(_quantity_schema(None)),
]


def quantity_in(unit: str, *, ge: float | None = None, gt: float | None = None,
                le: float | None = None, lt: float | None = None) -> Any:
    """A quantity converted to a float in ``unit`` at validation, with optional bounds
    (in ``unit``)."""
    def check(value: Any) -> float:
        q = _read_quantity(value)
        try:
            out = to_magnitude(q, unit)
        except UserError as exc:
            raise _fail(str(exc)) from None
        for bound, ok, sign in ((ge, lambda b: out >= b, ">="), (gt, lambda b: out > b, ">"),
                                (le, lambda b: out <= b, "<="), (lt, lambda b: out < b, "<")):
            if bound is not None and not ok(bound):
                raise _fail(f"must be {sign} {bound:g} {unit}")
        return out

    parts = [f"{s} {b:g}" for s, b in ((">=", ge), (">", gt), ("<=", le), ("<", lt))
             if b is not None]
    bounds = f" ({', '.join(parts)} {unit})" if parts else ""
    return Annotated[float, PlainValidator(check), WithJsonSchema(_quantity_schema(unit, bounds))]


def bounded_int(ge: int = 1, le: int | None = None) -> Any:
    """A strict integer count in ``[ge, le]``."""
    return Annotated[int, Field(ge=ge, le=le)]


Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="random seed, an integer >= 0")]


NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]

#: Log-normal sigma (dimensionless): one number for every parameter, or a table by name
#: (``{all = 0.2, a = 0.3}``); finite, >= 0.
Sigma = NonNegative | dict[str, NonNegative]
#: Absolute tolerance: one number for every state, or a table by state; finite, > 0.
Atol = Positive | dict[str, Positive]
