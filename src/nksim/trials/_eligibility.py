"""Eligibility as executable, readable rules, and a screening log (any disease).

Each rule is a :class:`Criterion` (name, column, operator, threshold, source, reason
text); a disease setting supplies its rules (e.g. the lupus criteria of
:class:`nksim.disease.SleEligibility`); :func:`screen` applies them to candidates and
logs every failed rule of every candidate, e.g. ``"age 4.2 y < 5 y"``.
"""

from __future__ import annotations

import math
import operator as _op
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from nksim.errors import UserError
from nksim.model import Citation

__all__ = ["Criterion", "Criteria", "RuleSet", "screen", "screening_summary"]

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


@runtime_checkable
class RuleSet(Protocol):
    """A setting's eligibility table that turns into rules (e.g. ``SleEligibility``)."""

    def rules(self) -> tuple[Criterion, ...]: ...


Criteria = RuleSet | Sequence[Criterion]


def _as_rules(criteria: Criteria) -> tuple[Criterion, ...]:
    if isinstance(criteria, RuleSet):
        return tuple(criteria.rules())
    rules = tuple(criteria)
    if not all(isinstance(c, Criterion) for c in rules):
        raise TypeError("criteria must be Criterion objects or have a rules() method")
    return rules


def screen(
    candidates: pd.DataFrame,
    criteria: Criteria,
    *,
    id_column: str = "candidate",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the eligibility rules to every candidate.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per candidate (e.g. from a setting's
        :meth:`~nksim.trials.DiseaseSetting.candidates`), with the columns the rules test
        and an id column.
    criteria : sequence of Criterion, or an object with a ``rules()`` method
        The rules (a disease setting's :meth:`~nksim.trials.DiseaseSetting.criteria`).
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
    criteria: Criteria,
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
