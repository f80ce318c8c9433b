"""Eligibility criteria as executable, readable rules, and a screening log.

The article's criteria (claim S5): diagnosed for more than six months, at least four
failed regimens, still high disease activity (SLEDAI-2K >= 8: an assumption), age 5 or
older; and, for a paediatric trial, 17 completed years or younger (an assumption).
Each rule is a :class:`Criterion` (name, column, operator, threshold, source, reason
text); :func:`screen` applies them to candidates and logs every failed rule of every
candidate, e.g. ``"age 4.2 y < 5 y"``.
"""

from __future__ import annotations

import math
import operator as _op
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nksim._spec import spec_from_mapping
from nksim.errors import UserError
from nksim.model import Citation
from nksim.trials import _sources as src

__all__ = ["Criterion", "EligibilityCriteria", "screen", "screening_summary"]

_OPERATORS = {">=": _op.ge, ">": _op.gt, "<=": _op.le, "<": _op.lt}
_NEGATION = {">=": "<", ">": "\u2264", "<=": ">", "<": "\u2265"}  # shown when a rule fails


@dataclass(frozen=True)
class Criterion:
    """One inclusion rule: a candidate is eligible only if ``column operator threshold``.

    Parameters
    ----------
    name : str
        Identifier (the scenario key that sets it, e.g. ``"min_age_years"``).
    column : str
        Candidate column tested (e.g. ``"age_years"``).
    operator : {">=", ">", "<=", "<"}
    threshold : float
        In the column's unit.
    label, unit : str
        How the value is written in reasons: ``f"{label} {value} {unit}"``.
    description : str
        The rule in words ("age 5 years or older").
    source : Citation
        Where the rule comes from (article, or an assumption with a range).
    decimals : int
        Decimals shown for values in reasons (more are used if needed to tell the value
        from the threshold, so 4.96 y is never shown as "5.0 y < 5 y").

    A missing value (NaN) fails the rule with the reason ``"<label> missing"``.
    """

    name: str
    column: str
    operator: str
    threshold: float
    label: str
    unit: str
    description: str
    source: Citation
    decimals: int = 0

    def __post_init__(self) -> None:
        if self.operator not in _OPERATORS:
            raise ValueError(f"operator must be one of {sorted(_OPERATORS)}, "
                             f"got {self.operator!r}")

    def passes(self, values: Iterable[float] | pd.Series) -> np.ndarray:
        """Boolean array: which values satisfy the rule (NaN never does)."""
        x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
        with np.errstate(invalid="ignore"):
            return _OPERATORS[self.operator](x, self.threshold) & ~np.isnan(x)

    def reason(self, value: float) -> str:
        """Why ``value`` fails the rule, e.g. ``"age 4.2 y < 5 y"``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"{self.label} missing"
        threshold = _format(self.threshold, self.decimals)
        shown = _format(value, self.decimals)
        digits = self.decimals
        while shown == threshold and digits < 6:
            digits += 1
            shown, threshold = _format(value, digits), _format(self.threshold, digits)
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label} {shown}{unit} {_NEGATION[self.operator]} {threshold}{unit}"


def _format(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped (5.0 -> "5")."""
    text = f"{float(value):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class EligibilityCriteria:
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

    min_age_years: float | None = field(default=5.0, metadata={"unit": "year"})
    max_age_years: float | None = field(default=17.0, metadata={"unit": "year"})
    min_disease_duration_months: float | None = field(default=6.0, metadata={"unit": "month"})
    min_failed_regimens: int | None = field(default=4, metadata={"unit": None})
    min_sledai: float | None = field(default=8.0, metadata={"unit": None})

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
                  field: str = "eligibility") -> EligibilityCriteria:
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


def _as_rules(criteria: EligibilityCriteria | Sequence[Criterion] | Mapping | None
              ) -> tuple[Criterion, ...]:
    if criteria is None:
        return EligibilityCriteria().rules()
    if isinstance(criteria, EligibilityCriteria):
        return criteria.rules()
    if isinstance(criteria, Mapping):
        return EligibilityCriteria.from_dict(criteria).rules()
    rules = tuple(criteria)
    if not all(isinstance(c, Criterion) for c in rules):
        raise TypeError("criteria must be EligibilityCriteria, a mapping or Criterion objects")
    return rules


def screen(
    candidates: pd.DataFrame,
    criteria: EligibilityCriteria | Sequence[Criterion] | Mapping[str, Any] | None = None,
    *,
    id_column: str = "candidate",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the eligibility rules to every candidate.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per candidate (e.g. from :func:`generate_candidates`), with the columns
        the rules test and an id column.
    criteria : EligibilityCriteria, sequence of Criterion, or mapping, optional
        The rules (default: the article's, :class:`EligibilityCriteria()`); a mapping is
        read like a scenario's ``[eligibility]`` table.
    id_column : str
        Column identifying candidates (kept in both outputs).

    Returns
    -------
    eligible : pandas.DataFrame
        The candidates that pass every rule (same columns, original order, fresh index).
    log : pandas.DataFrame
        One row per candidate: ``candidate`` (the id), ``eligible`` (bool),
        ``n_failed`` (number of failed rules), ``failed_criteria`` (rule names,
        comma-separated) and ``reasons`` (every failed rule in words, ``"; "``-separated,
        e.g. ``"age 4.2 y < 5 y; failed regimens 3 < 4"``; empty if eligible).
    """
    rules = _as_rules(criteria)
    if not isinstance(candidates, pd.DataFrame):
        raise TypeError("candidates must be a pandas DataFrame")
    needed = [id_column] + [c.column for c in rules]
    missing = [c for c in dict.fromkeys(needed) if c not in candidates.columns]
    if missing:
        raise UserError(f"candidates have no column(s) {missing} "
                        f"(columns: {', '.join(map(str, candidates.columns))})",
                        field="eligibility")
    n = len(candidates)
    passed = np.ones(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    names: list[list[str]] = [[] for _ in range(n)]
    for rule in rules:
        column = pd.to_numeric(candidates[rule.column], errors="coerce").to_numpy(dtype=float)
        ok = rule.passes(column)
        passed &= ok
        for i in np.flatnonzero(~ok):
            reasons[i].append(rule.reason(column[i]))
            names[i].append(rule.name)
    log = pd.DataFrame({
        "candidate": candidates[id_column].to_numpy(),
        "eligible": passed,
        "n_failed": np.array([len(r) for r in reasons], dtype=np.int64),
        "failed_criteria": [",".join(x) for x in names],
        "reasons": ["; ".join(x) for x in reasons],
    })
    if id_column != "candidate":
        log = log.rename(columns={"candidate": id_column})
    eligible = candidates.loc[passed].reset_index(drop=True)
    return eligible, log


def screening_summary(
    log: pd.DataFrame,
    criteria: EligibilityCriteria | Sequence[Criterion] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Counts for a CONSORT-style flow: candidates failing each rule, and the totals.

    Returns a table indexed by rule name (plus ``"screened"`` and ``"eligible"`` rows)
    with ``n`` and ``description``. A candidate failing several rules is counted under
    each of them, so the rule counts can add up to more than the excluded total.
    """
    rules = _as_rules(criteria)
    failed = log["failed_criteria"].fillna("").str.split(",")
    rows = [{"item": "screened", "n": len(log), "description": "candidates screened"}]
    for rule in rules:
        count = int(sum(rule.name in names for names in failed))
        rows.append({"item": rule.name, "n": count,
                     "description": f"excluded: not {rule.description}"})
    rows.append({"item": "eligible", "n": int(log["eligible"].sum()),
                 "description": "eligible candidates"})
    return pd.DataFrame(rows).set_index("item")
