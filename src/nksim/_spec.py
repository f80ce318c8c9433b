"""Specifications built from scenario tables, with one-line errors.

:class:`Table` is the strict pydantic base of every scenario table (a disease setting
declares its own tables on it; :mod:`nksim.config` builds its sections on it). For frozen
dataclass specs, a field's ``metadata`` says what a scenario may give for it:
``quantity(unit)`` (a number in ``unit`` or a ``"value unit"`` string), ``NUMBER``,
``INT``, ``BOOL`` or ``choice(*options)``. :func:`spec_from_mapping` checks every key
and value and names the field at fault (``"cohort.age_min_years: ..."``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nksim.errors import UserError
from nksim.units import to_magnitude


class Table(BaseModel):
    """A scenario table: strict (a boolean is not a number, ``"10"`` is not an integer),
    frozen, finite numbers only, unknown keys refused. Validated by the scenario loader
    (:func:`nksim.config.validate`), which reports the first problem in one line."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              arbitrary_types_allowed=True)

NUMBER: dict[str, Any] = {"kind": "number"}
INT: dict[str, Any] = {"kind": "int"}
BOOL: dict[str, Any] = {"kind": "bool"}


def quantity(unit: str) -> dict[str, Any]:
    """Metadata of a field holding a quantity in ``unit``."""
    return {"kind": "quantity", "unit": unit}


def choice(*options: Any) -> dict[str, Any]:
    """Metadata of a field holding one of ``options``."""
    return {"kind": "choice", "choices": options}


def convert(value: Any, meta: Mapping[str, Any], where: str) -> Any:
    """One scenario value converted to the field's kind, or a :class:`UserError`."""
    kind = meta.get("kind")
    if kind == "quantity":
        return to_magnitude(value, meta["unit"], field=where)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise UserError(f"must be a finite number (got {value!r})", field=where)
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"must be an integer (got {value!r})", field=where)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise UserError(f"must be true or false (got {value!r})", field=where)
        return value
    if kind == "choice" and value not in meta["choices"]:
        raise UserError(f"must be one of {', '.join(map(repr, meta['choices']))} "
                        f"(got {value!r})", field=where)
    return value


def unknown_field_message(key: str, fields: set[str] | list[str]) -> str:
    """``"unknown field; did you mean 'rtol'?"`` (the closest valid key, by difflib), or the
    list of valid keys when none is close."""
    close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.6)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field (fields: {', '.join(sorted(fields))})"


def spec_from_mapping(cls: type, raw: Mapping[str, Any] | None, prefix: str, **fixed: Any):
    """Build the frozen dataclass ``cls`` from a scenario table (e.g. ``[cohort]``).

    Unknown keys, values of the wrong kind and out-of-range values raise one-line
    :class:`UserError` naming ``prefix.key``. ``fixed`` are keyword arguments that the
    caller supplies (e.g. the product of an arm), not read from ``raw``.
    """
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise UserError(f"must be a table (got {raw!r})", field=prefix)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in raw:
        if key not in fields or key in fixed:
            raise UserError(unknown_field_message(str(key), set(fields) - set(fixed)),
                            field=f"{prefix}.{key}")
    values = dict(fixed)
    for key, value in raw.items():
        values[key] = convert(value, fields[key].metadata, f"{prefix}.{key}")
    try:
        return cls(**values)
    except UserError as exc:
        raise UserError(exc.message, field=f"{prefix}.{exc.field}" if exc.field else prefix) \
            from None
