"""Units: one pint registry for all of nksim, and conversion at the edges.

Models are written in canonical units (cells, days, ...). Quantities given by a
person ("6.5e-11 1/(cell*day)", "1e6 cell/kg", "12 hour") are converted once, here,
with a clear error when the dimensions do not match.

Custom units (assumptions of convenience, not SI): ``cell`` (a count of cells,
its own dimension so that cells never silently mix with other counts), ``IU``
(international units of biological activity, e.g. of IL-2), ``drug_unit``
(the abstract amount of chemotherapy used by de Pillis et al. 2006) and ``RMB`` (= ``CNY``,
for costs; no other currency is defined, so nothing is converted at a guessed rate).

Text from a person is parsed by :func:`parse_quantity`/:func:`parse_unit`, which check a
small grammar first and never evaluate arithmetic.

pint is imported on first use (about 0.2 s with what it imports): a plain number in the
expected unit (:func:`to_magnitude`) needs no pint, so ``nksim simulate`` of a scenario
without units does not load it.
"""

from __future__ import annotations

import math
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

from nksim._io import cache_dir
from nksim.errors import UnitError

if TYPE_CHECKING:
    import pint

_DEFINITIONS = (
    "cell = [cell_count] = cells",
    "IU = [biological_activity]",
    "drug_unit = [drug_amount] = drug_units",
    "RMB = [currency_cny] = CNY = yuan",  # costs; no exchange rates (no other currency)
)


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared unit registry (created on first use).

    pint's parsed definitions are cached in nksim's cache folder (``pint/``): parsing them
    takes about 0.3 s, most of a cached run's start-up. Without a usable cache folder (not
    writable, or a file being written by another process) the registry is built without it.
    """
    import pint

    try:
        reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True,
                                cache_folder=cache_dir() / "pint")
    except Exception:  # noqa: BLE001 - any cache problem: parse the definitions instead
        reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS:
        reg.define(line)
    return reg


# ---------------------------------------------------------------- safe parsing
# pint evaluates unit strings as arithmetic ("9**9**9 day" never finishes, "1e200*1e200
# day" overflows), so text from a person is checked against a small grammar first:
# QUANTITY := NUMBER [UNIT]; UNIT := names joined by "*", "/" or spaces, with
# parentheses and small exponents ("**2", "^-1", "**0.5"); a "1" only as in "1/day".
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})(?:\s*(\S.*?))?\s*$")
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_\u00b5\u03bc\u00b0\u2126%][A-Za-z_0-9\u00b5\u03bc\u00b0\u2126%]*)"
    r"|(?P<pow>\*\*|\^)\s*(?P<exp>[+-]?\d{1,2}(?:\.\d{1,3})?)"
    r"|(?P<one>1)(?=\s*/)|(?P<op>[*/])|(?P<open>\()|(?P<close>\)))")
MAX_TEXT = 100  # characters in a quantity or unit string


def _check_unit_text(unit: str) -> str | None:
    """Why ``unit`` is not a plain unit expression, or ``None`` if it is."""
    if len(unit) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    pos, depth, prev = 0, 0, "start"  # prev: start, op, operand
    text = unit.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            return "arithmetic and numbers are not allowed in a unit (write e.g. '12 hour')"
        pos = m.end()
        if m["name"] or m["one"] or m["open"]:
            if m["open"]:
                depth += 1
                if depth > 3:
                    return "too many nested parentheses"
            prev = "op" if m["open"] else "operand"
        elif m["pow"]:
            if prev != "operand" or (m.start() > 0 and text[:m.start()].rstrip().endswith("^")):
                return "an exponent must follow a unit"
            prev = "exponent"
            continue
        elif m["close"]:
            depth -= 1
            if depth < 0 or prev in ("op", "start"):
                return "unbalanced parentheses"
            prev = "operand"
        else:  # * or /
            if prev not in ("operand", "exponent"):
                return "arithmetic and numbers are not allowed in a unit (write e.g. '12 hour')"
            prev = "op"
        if prev == "exponent":
            prev = "operand"
    if depth != 0:
        return "unbalanced parentheses"
    if prev == "op":
        return "a unit cannot end with an operator"
    return None


def parse_unit(unit: str, *, field: str | None = None) -> pint.Unit:
    """Parse a unit string such as ``"1/(cell*day)"``; raise :class:`UnitError` if unknown.

    The string is checked against a small grammar first, so no arithmetic is evaluated.
    """
    if not isinstance(unit, str):
        raise UnitError(f"a unit must be a string (got {unit!r})", field=field)
    if not unit.strip():
        return registry().dimensionless
    problem = _check_unit_text(unit)
    if problem:
        raise UnitError(f"cannot read unit {_short(unit)} ({problem})", field=field)
    reg = registry()
    import pint

    try:
        return reg.parse_units(unit)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError,
            KeyError) as exc:
        raise UnitError(f"unknown unit {_short(unit)} ({exc})", field=field) from None


def parse_quantity(text: str, *, field: str | None = None) -> pint.Quantity:
    """Parse ``"VALUE UNIT"`` (e.g. ``"1e7 cell/kg"``) without evaluating any arithmetic.

    The value must be a finite number; ``"9**9**9 day"`` or ``"1e200*1e200 day"`` raise a
    one-line :class:`UnitError` at once.
    """
    if not isinstance(text, str):
        raise UnitError(f"expected a 'value unit' string (got {_short(text)})", field=field)
    m = _QUANTITY_RE.match(text) if len(text) <= MAX_TEXT else None
    if m is None:
        raise UnitError(f"cannot read quantity {_short(text)} (write 'VALUE UNIT', "
                        "e.g. '12 hour' or '1e6 cell/kg')", field=field)
    value = float(m[1])
    if not math.isfinite(value):
        raise UnitError(f"not a finite number (got {_short(text)})", field=field)
    unit = m[2] or ""
    if m[2] is not None and m[1][-1:].isdigit() and text.strip()[len(m[1]):][:1] in "*/^":
        raise UnitError(f"cannot read quantity {_short(text)} (arithmetic is not allowed; "
                        "write 'VALUE UNIT', e.g. '12 hour')", field=field)
    problem = _check_unit_text(unit) if unit else None
    if problem:
        raise UnitError(f"cannot read quantity {_short(text)} ({problem})", field=field)
    return registry().Quantity(value, parse_unit(unit, field=field))


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (errors never echo long input)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "...'"


def to_magnitude(value: float | str | pint.Quantity, unit: str, *,
                 field: str | None = None) -> float:
    """Convert a number (already in ``unit``), a ``"value unit"`` string or a pint quantity
    to a float in ``unit``.

    >>> to_magnitude("12 hour", "day")
    0.5
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number or a 'value unit' string (got {value!r})",
                        field=field)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise UnitError(f"must be a finite number (got {value!r})", field=field)
        return float(value)
    if isinstance(value, str):
        quantity = parse_quantity(value, field=field)
    elif "pint" in sys.modules and isinstance(value, sys.modules["pint"].Quantity):
        quantity = value  # (a pint quantity exists only once pint is imported)
    else:
        raise UnitError(f"expected a number or a 'value unit' string (got {_short(value)})",
                        field=field)
    target = parse_unit(unit, field=field)
    import pint
    try:
        out = float(quantity.to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise UnitError(
            f"{format_quantity(quantity)!r} does not convert to {unit!r} "
            f"({quantity.units:~} is not {target:~})", field=field) from None
    if not math.isfinite(out):
        raise UnitError(f"not a finite number in {unit} (got {format_quantity(quantity)!r})",
                        field=field)
    return out


def format_quantity(quantity: pint.Quantity) -> str:
    """``"VALUE UNIT"`` text of a quantity, e.g. ``"1e+07 cell / kilogram"``."""
    return f"{quantity.magnitude:g} {quantity.units}".strip()
