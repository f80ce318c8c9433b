"""Dose records in the NONMEM style, and their expansion into solver events.

A :class:`Dose` is one dosing record: ``AMT`` (amount, in the target state's unit)
into ``CMT`` (the target state) at ``TIME``, optionally repeated every ``II`` for
``ADDL`` additional doses, optionally given as a zero-order infusion over a
duration (``RATE = AMT / duration``). Boluses are added to the state at their
time; infusions add a constant input rate while they run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nksim.errors import UserError


@dataclass(frozen=True)
class Dose:
    """One dosing record (times in the model's time unit).

    Parameters
    ----------
    state : target state (NONMEM ``CMT``).
    amount : amount per dose in the state's unit (``AMT``), >= 0.
    time : time of the first dose (``TIME``).
    every : interval between repeats (``II``); required when ``count > 1``.
    count : total number of doses (``ADDL + 1``).
    duration : infusion duration; 0 means a bolus.
    """

    state: str
    amount: float
    time: float
    every: float | None = None
    count: int = 1
    duration: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (math.isfinite(self.amount) and self.amount >= 0, "amount", "must be >= 0"),
            (math.isfinite(self.time), "time", "must be a finite number"),
            (self.count >= 1, "count", "must be >= 1"),
            (math.isfinite(self.duration) and self.duration >= 0, "duration", "must be >= 0"),
            (
                self.count == 1 or (self.every is not None and self.every > 0),
                "every",
                "must be > 0 when count > 1",
            ),
        ]
        for ok, name, problem in checks:
            if not ok:
                raise UserError(f"{problem} (got {getattr(self, name)!r})", field=f"doses.{name}")

    def times(self) -> np.ndarray:
        """Times of every administration of this record."""
        step = self.every or 0.0
        return self.time + step * np.arange(self.count)

    @property
    def rate(self) -> float:
        """Infusion rate (amount per time unit); 0 for a bolus."""
        return self.amount / self.duration if self.duration > 0 else 0.0


@dataclass(frozen=True)
class DoseEvents:
    """Dose records of one patient as sorted solver events.

    At each ``time``, ``bolus`` is added to state ``state`` and the state's infusion
    rate changes by ``rate`` (positive at an infusion's start, negative at its end).
    """

    time: np.ndarray
    state: np.ndarray
    bolus: np.ndarray
    rate: np.ndarray


def to_events(doses: Iterable[Dose], state_names: Sequence[str]) -> DoseEvents:
    """Expand dose records into sorted events for the solver."""
    index = {name: i for i, name in enumerate(state_names)}
    rows: list[tuple[float, int, float, float]] = []
    for dose in doses:
        if dose.state not in index:
            raise UserError(
                f"unknown state {dose.state!r} (states: {', '.join(state_names)})",
                field="doses.state",
            )
        s = index[dose.state]
        for t in dose.times():
            if dose.duration > 0:
                rows.append((float(t), s, 0.0, dose.rate))
                rows.append((float(t + dose.duration), s, 0.0, -dose.rate))
            else:
                rows.append((float(t), s, dose.amount, 0.0))
    rows.sort(key=lambda r: r[0])
    if not rows:
        return DoseEvents(np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    t, s, b, r = zip(*rows, strict=True)
    return DoseEvents(np.array(t), np.array(s, np.int64), np.array(b), np.array(r))


NONMEM_COLUMNS = ("ID", "TIME", "EVID", "CMT", "AMT", "RATE", "II", "ADDL")


def to_nonmem(doses_by_patient: Sequence[Sequence[Dose]]) -> pd.DataFrame:
    """Dose records as a NONMEM-style table (one row per record, ``CMT`` = state name)."""
    rows = []
    for pid, doses in enumerate(doses_by_patient):
        for d in doses:
            rows.append(
                {
                    "ID": pid,
                    "TIME": d.time,
                    "EVID": 1,
                    "CMT": d.state,
                    "AMT": d.amount,
                    "RATE": d.rate,
                    "II": d.every or 0.0,
                    "ADDL": d.count - 1,
                }
            )
    return pd.DataFrame(rows, columns=list(NONMEM_COLUMNS))


def from_nonmem(table: pd.DataFrame) -> dict[int, list[Dose]]:
    """Read dose records (``EVID`` 1 rows, or all rows without ``EVID``) from a NONMEM-style table.

    ``CMT`` is a state name; ``RATE`` > 0 gives an infusion of duration ``AMT/RATE``;
    ``II`` and ``ADDL`` give repeats. Returns ``{ID: [Dose, ...]}``.
    """
    missing = {"ID", "TIME", "CMT", "AMT"} - set(table.columns)
    if missing:
        raise UserError(f"missing columns {sorted(missing)}", field="doses_file")
    if "EVID" in table.columns:
        table = table[table["EVID"] == 1]
    out: dict[int, list[Dose]] = {}
    for row in table.itertuples(index=False):
        rate = float(getattr(row, "RATE", 0.0) or 0.0)
        addl = int(getattr(row, "ADDL", 0) or 0)
        ii = float(getattr(row, "II", 0.0) or 0.0)
        out.setdefault(int(row.ID), []).append(
            Dose(
                state=str(row.CMT),
                amount=float(row.AMT),
                time=float(row.TIME),
                every=ii if addl > 0 else None,
                count=addl + 1,
                duration=float(row.AMT) / rate if rate > 0 else 0.0,
            )
        )
    return out
