"""The lupus trials' eligibility criteria (the scenario's ``[eligibility]`` table).

The article's criteria (claim S5): diagnosed for more than six months, at least four
failed regimens, still high disease activity (SLEDAI-2K >= 8: an assumption), age 5 or
older; and, for a paediatric trial, 17 completed years or younger (an assumption).
:meth:`SleEligibility.rules` turns them into :class:`nksim.trials.Criterion` objects,
which :func:`nksim.trials.screen` applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nksim._spec import spec_from_mapping
from nksim.disease import _sle_trial_sources as src
from nksim.errors import UserError
from nksim.trials import Criterion

__all__ = ["SleEligibility"]


@dataclass(frozen=True)
class SleEligibility:
    """The settings of the scenario's ``[eligibility]`` table (``None`` turns a rule off).

    Parameters
    ----------
    min_age_years : float or None, default 5
        Age ``>=`` this (article S5: "age 5 or older").
    max_age_years : float or None, default 17
        At most this many *completed* years, i.e. age ``< max_age_years + 1``
        (assumption: paediatric trial, under 18).
    min_disease_duration_months : float or None, default 6
        Disease duration ``>`` this (article S5: "diagnosed more than six months").
    min_failed_regimens : int or None, default 4
        Failed regimens ``>=`` this (article S5: "at least four").
    min_sledai : float or None, default 8
        SLEDAI-2K ``>=`` this (assumption for "high disease activity", range 6-10).

    In a scenario file a rule is turned off with the string ``"off"``; e.g. an adult
    trial sets ``max_age_years = "off"``.
    """

    min_age_years: float | None = field(default=5.0, metadata={"unit": "year", "off": True})
    max_age_years: float | None = field(default=17.0, metadata={"unit": "year", "off": True})
    min_disease_duration_months: float | None = field(
        default=6.0, metadata={"unit": "month", "off": True})
    min_failed_regimens: int | None = field(default=4, metadata={"unit": None, "off": True,
                                                                 "max": 1000})
    min_sledai: float | None = field(default=8.0, metadata={"unit": None, "off": True})

    def __post_init__(self) -> None:
        for name in ("min_age_years", "max_age_years", "min_disease_duration_months",
                     "min_failed_regimens", "min_sledai"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise UserError(f"must be a number >= 0 or \"off\" (got {value!r})",
                                field=name)
        if (self.min_age_years is not None and self.max_age_years is not None
                and self.max_age_years + 1 <= self.min_age_years):
            raise UserError(f"must be >= min_age_years ({self.min_age_years:g}) - 1 "
                            f"(got {self.max_age_years:g})", field="max_age_years")

    def rules(self) -> tuple[Criterion, ...]:
        """The active rules, in the order they are reported."""
        out: list[Criterion] = []
        if self.min_age_years is not None:
            out.append(Criterion(
                "min_age_years", "age_years", ">=", float(self.min_age_years), "age", "y",
                f"age {self.min_age_years:g} years or older", src.ARTICLE_S5, decimals=1))
        if self.max_age_years is not None:
            out.append(Criterion(
                "max_age_years", "age_years", "<", float(self.max_age_years) + 1, "age", "y",
                f"{self.max_age_years:g} completed years or younger "
                f"(under {self.max_age_years + 1:g} y)", src.PAEDIATRIC_MAX_AGE, decimals=1))
        if self.min_disease_duration_months is not None:
            out.append(Criterion(
                "min_disease_duration_months", "disease_duration_months", ">",
                float(self.min_disease_duration_months), "diagnosed", "months",
                f"diagnosed more than {self.min_disease_duration_months:g} months ago",
                src.ARTICLE_S5, decimals=1))
        if self.min_failed_regimens is not None:
            out.append(Criterion(
                "min_failed_regimens", "failed_regimens", ">=",
                float(self.min_failed_regimens), "failed regimens", "",
                f"at least {self.min_failed_regimens:g} failed treatment regimens",
                src.ARTICLE_S5))
        if self.min_sledai is not None:
            out.append(Criterion(
                "min_sledai", "sledai", ">=", float(self.min_sledai), "SLEDAI-2K", "",
                f"high disease activity: SLEDAI-2K {self.min_sledai:g} or more",
                src.SLEDAI_HIGH_ACTIVITY))
        return tuple(out)

    def table(self) -> pd.DataFrame:
        """The active rules as a table (for reports): name, rule, source, verified."""
        return pd.DataFrame([
            {"criterion": c.name, "rule": f"{c.column} {c.operator} {c.threshold:g}",
             "description": c.description, "source": c.source.key,
             "verified": c.source.verified}
            for c in self.rules()
        ])

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *,
                  field: str = "eligibility") -> SleEligibility:
        """The criteria of a scenario's ``[eligibility]`` table.

        Keys are the field names above; values are numbers (in the unit of the key's
        suffix), ``"value unit"`` strings for ages and durations (``"6 month"``), or
        ``"off"``. Unknown keys and bad values raise :class:`UserError` naming the key.
        """
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise UserError(f"must be a table (got {raw!r})", field=field)
        values: dict[str, Any] = {}
        known = {f for f in cls.__dataclass_fields__}
        for key, value in raw.items():
            if key not in known:
                raise UserError(f"unknown field (fields: {', '.join(sorted(known))})",
                                field=f"{field}.{key}")
            values[key] = _criterion_value(value, cls.__dataclass_fields__[key].metadata,
                                           f"{field}.{key}")
        return spec_from_mapping(cls, {}, field, **values)


def _criterion_value(value: Any, meta: Mapping[str, Any], where: str) -> float | None:
    from nksim.units import to_magnitude

    if value == "off":
        return None
    if meta.get("unit") and isinstance(value, str):
        return to_magnitude(value, meta["unit"], field=where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"must be a number or \"off\" (got {value!r})", field=where)
    return value
