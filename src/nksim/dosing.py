"""Dose records in the NONMEM style, and their expansion into solver events.

A :class:`Dose` is one dosing record: ``AMT`` (amount) into ``CMT`` (the target
state) at ``TIME``, optionally repeated every ``II`` for ``ADDL`` additional doses,
optionally given as a zero-order infusion over a duration (``RATE = AMT / duration``).
Boluses are added to the state at their time; infusions add a constant input rate
while they run.

The amount is a number in the state's unit, or a quantity with a unit (a
``"VALUE UNIT"`` string or a pint Quantity): flat (``"5 mg"``, ``"1e9 cell"``), per kg
of body weight (``"1e6 cell/kg"``, ``"0.01 mg/kg"``) or per m² of body-surface area
(``"1000 mg/m^2"``). :func:`resolve_doses` turns them into absolute amounts in the
state's unit for each patient, from its covariates ``weight_kg`` and ``bsa_m2``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from nksim.errors import UnitError, UserError, shown
from nksim.units import parse_unit, registry

if TYPE_CHECKING:  # imported where used: a plain-number dose needs neither
    import pandas as pd
    import pint

#: How an amount scales with the patient: flat, per kg body weight, per m² body surface.
DOSE_BASES = {"flat": None, "per_kg": "weight_kg", "per_m2": "bsa_m2"}


@dataclass(frozen=True)
class Dose:
    """One dosing record (times in the model's time unit).

    Parameters
    ----------
    state : target state (NONMEM ``CMT``).
    amount : amount per dose (``AMT``), >= 0: a number in the state's unit, or a
        quantity (``"5 mg"``, ``"1e6 cell/kg"``, ``"1000 mg/m^2"`` or a pint Quantity);
        per-kg and per-m² amounts are resolved per patient by :func:`resolve_doses`.
    time : time of the first dose (``TIME``).
    every : interval between repeats (``II``); required when ``count > 1``.
    count : total number of doses (``ADDL + 1``).
    duration : infusion duration; 0 means a bolus.
    """

    state: str
    amount: float | str | pint.Quantity
    time: float
    every: float | None = None
    count: int = 1
    duration: float = 0.0
    _quantity: pint.Quantity | None = field(default=None, init=False, repr=False, compare=False)
    _basis: str = field(default="flat", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        amount_ok = True
        if isinstance(self.amount, bool):
            amount_ok = False
        elif isinstance(self.amount, int | float | np.integer | np.floating):
            object.__setattr__(self, "amount", float(self.amount))
            amount_ok = math.isfinite(self.amount) and self.amount >= 0
        else:
            quantity, basis = _parse_amount(self.amount)
            object.__setattr__(self, "_quantity", quantity)
            object.__setattr__(self, "_basis", basis)
            amount_ok = math.isfinite(quantity.magnitude) and quantity.magnitude >= 0
        checks = [
            (amount_ok, "amount", "must be a number or quantity >= 0"),
            (math.isfinite(self.time), "time", "must be a finite number"),
            (float(self.count).is_integer() and self.count >= 1, "count",
             "must be a whole number >= 1"),
            (math.isfinite(self.duration) and self.duration >= 0, "duration", "must be >= 0"),
            (
                self.count == 1 or (self.every is not None and self.every > 0),
                "every",
                "must be > 0 when count > 1",
            ),
        ]
        for ok, name, problem in checks:
            if not ok:
                raise UserError(f"{problem} (got {getattr(self, name)!r})", field=name)

    @property
    def basis(self) -> str:
        """``"flat"``, ``"per_kg"`` (body weight) or ``"per_m2"`` (body-surface area)."""
        return self._basis

    @property
    def is_resolved(self) -> bool:
        """True when ``amount`` is a plain number in the state's unit."""
        return self._quantity is None

    def absolute(self, unit: str, covariates: Mapping[str, float] | None = None, *,
                 field: str = "amount") -> float:
        """The amount per dose in ``unit`` for a patient with ``covariates``.

        A per-kg amount is multiplied by ``covariates["weight_kg"]``, a per-m² amount by
        ``covariates["bsa_m2"]``; a missing covariate raises :class:`UserError`.
        """
        if self._quantity is None:
            return float(self.amount)
        quantity = self._quantity
        key = DOSE_BASES[self._basis]
        if key is not None:
            value = None if covariates is None else covariates.get(key)
            if value is None or not np.isfinite(value) or value <= 0:
                what = "body weight (weight_kg)" if key == "weight_kg" else \
                    "body-surface area (bsa_m2, or weight_kg and height_cm)"
                raise UserError(
                    f"dose {self.amount!r} into {self.state} is {self._basis.replace('_', ' ')}"
                    f" but the population has no {what}; give the patients covariates",
                    field=field)
            per = registry().kilogram if key == "weight_kg" else registry().meter ** 2
            quantity = quantity * (float(value) * per)
        import pint

        try:
            value = float(quantity.to(parse_unit(unit, field=field)).magnitude)
        except pint.errors.DimensionalityError:
            raise UnitError(f"{self.amount!s} does not convert to {unit!r} (the unit of state "
                            f"{self.state})", field=field) from None
        if not math.isfinite(value):
            raise UserError(f"not a finite amount in {unit} (got {self.amount!s})", field=field)
        return value

    def resolved(self, unit: str, covariates: Mapping[str, float] | None = None, *,
                 field: str = "amount") -> Dose:
        """This record with ``amount`` as a number in ``unit`` (see :meth:`absolute`)."""
        if self._quantity is None:
            return self
        return replace(self, amount=self.absolute(unit, covariates, field=field))

    def times(self) -> np.ndarray:
        """Times of every administration of this record."""
        step = self.every or 0.0
        return self.time + step * np.arange(self.count)

    @property
    def rate(self) -> float:
        """Infusion rate (amount per time unit); 0 for a bolus; NaN if not yet resolved."""
        if self._quantity is not None:
            return math.nan if self.duration > 0 else 0.0
        return self.amount / self.duration if self.duration > 0 else 0.0


def _parse_amount(amount: object) -> tuple[pint.Quantity, str]:
    """A dose amount as a pint quantity and its basis (flat, per kg, per m²)."""
    reg = registry()
    import pint

    field = "amount"
    if isinstance(amount, str):
        from nksim import units

        parse = getattr(units, "parse_quantity", None)  # the safe parser, where present
        try:
            quantity = parse(amount, field=field) if parse else reg.Quantity(amount)
        except UserError:
            raise
        except Exception as exc:  # pint raises many kinds
            raise UserError(f"cannot read amount {amount!r} ({exc})", field=field) from None
    elif isinstance(amount, pint.Quantity):
        quantity = reg.Quantity(amount.magnitude, str(amount.units))
    else:
        raise UserError(f"must be a number, a 'VALUE UNIT' string or a quantity "
                        f"(got {amount!r})", field=field)
    if not isinstance(quantity, pint.Quantity) or not np.isscalar(quantity.magnitude):
        raise UserError(f"must be one quantity (got {amount!r})", field=field)
    # The basis is read from the unit as written: "0.01 mg/kg" is per kg although
    # mg/kg is dimensionless to pint.
    basis = "flat"
    for name, exponent in quantity.units._units.items():
        dim = reg.Unit(name).dimensionality
        if exponent == -1 and dim == reg.kilogram.dimensionality:
            basis = "per_kg"
        elif exponent == -2 and dim == reg.meter.dimensionality:
            basis = "per_m2"
    return quantity, basis


def resolve_doses(
    doses: Sequence[Dose] | Sequence[Sequence[Dose]],
    state_units: Mapping[str, str],
    covariates: pd.DataFrame | None = None,
    n_patients: int | None = None,
) -> list[list[Dose]]:
    """Dose records of every patient with absolute amounts in each state's unit.

    Parameters
    ----------
    doses : one list for every patient, or one list per patient.
    state_units : ``{state: unit}`` of the model.
    covariates : one row per patient (in order), with ``weight_kg`` and/or ``bsa_m2``
        where doses are per kg or per m².
    n_patients : number of patients (default: ``len(covariates)`` or the number of lists).

    Patients whose records need no covariates share one resolved list (the engine
    expands a shared list once). A per-kg dose without body weights raises
    :class:`UserError` naming the dose.
    """
    doses = list(doses)
    shared = not doses or isinstance(doses[0], Dose)
    if n_patients is None:
        n_patients = (len(covariates) if covariates is not None and shared
                      else 1 if shared else len(doses))
    if shared:
        per_patient_in = [doses] * n_patients
    else:
        if len(doses) != n_patients:
            raise UserError(f"{len(doses)} dose lists for {n_patients} patients", field="doses")
        per_patient_in = [list(d) for d in doses]
    if covariates is not None and len(covariates) != n_patients:
        raise UserError(f"{len(covariates)} covariate rows for {n_patients} patients",
                        field="covariates")
    rows = (covariates.reset_index(drop=True).to_dict(orient="records")
            if covariates is not None else None)
    cache: dict[int, list[Dose]] = {}
    out: list[list[Dose]] = []
    for i, records in enumerate(per_patient_in):
        if all(d.is_resolved for d in records):
            out.append(records)
            continue
        flat = all(d.basis == "flat" for d in records)
        if flat and id(records) in cache:
            out.append(cache[id(records)])
            continue
        resolved = []
        for k, d in enumerate(records):
            if d.state not in state_units:
                raise UserError(f"unknown state {d.state!r} (states: {', '.join(state_units)})",
                                field=f"doses[{k}].state")
            resolved.append(d.resolved(state_units[d.state], rows[i] if rows else None,
                                       field=f"doses[{k}].amount"))
        if flat:
            cache[id(records)] = resolved
        out.append(resolved)
    return out


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


#: Event times closer than this (relative to max(1, |t|)) are one time: an infusion from
#: 0.1 for 0.2 days ends at 0.30000000000000004, and a step to a bolus at 0.3 would be
#: below the solver's smallest step.
SAME_TIME = 1e-12


def _one_time(earlier: float, later: float) -> bool:
    """Whether two event times are one time (:data:`SAME_TIME`)."""
    return later - earlier <= SAME_TIME * max(1.0, abs(earlier))


def _same_times(times: np.ndarray) -> np.ndarray:
    """Sorted event times with each run of nearly equal times set to its first."""
    out = times.copy()
    for i in range(1, out.size):
        if _one_time(out[i - 1], out[i]):
            out[i] = out[i - 1]
    return out


def to_events(doses: Iterable[Dose], state_names: Sequence[str]) -> DoseEvents:
    """Expand dose records into sorted events for the solver."""
    index = {name: i for i, name in enumerate(state_names)}
    rows: list[tuple[float, int, float, float]] = []
    for dose in doses:
        if not dose.is_resolved:
            raise UserError(f"dose {dose.amount!r} into {dose.state} must be resolved to the "
                            "state's unit first (nksim.dosing.resolve_doses)",
                            field="doses")
        if dose.state not in index:
            raise UserError(
                f"unknown state {dose.state!r} (states: {', '.join(state_names)})",
                field="doses",
            )
        s = index[dose.state]
        for t in dose.times():
            # an infusion shorter than the events' time resolution is a bolus (its start
            # and end would be merged into one time and cancel)
            if not _one_time(float(t), float(t + dose.duration)):
                rows.append((float(t), s, 0.0, dose.rate))
                rows.append((float(t + dose.duration), s, 0.0, -dose.rate))
            else:
                rows.append((float(t), s, dose.amount, 0.0))
    rows.sort(key=lambda r: r[0])
    if not rows:
        return DoseEvents(np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    t, s, b, r = zip(*rows, strict=True)
    return DoseEvents(_same_times(np.array(t)), np.array(s, np.int64), np.array(b),
                      np.array(r))


NONMEM_COLUMNS = ("ID", "TIME", "EVID", "CMT", "AMT", "RATE", "II", "ADDL")


def _numbers(column: pd.Series, name: str) -> pd.Series:
    """A NONMEM column as numbers: empty cells and NONMEM's "." are missing (NaN); any other
    text is refused by name."""
    import pandas as pd

    text = column.astype(str).str.strip()
    empty = column.isna() | text.isin(["", "."])
    values = pd.to_numeric(column.where(~empty), errors="coerce")
    bad = ~empty & values.isna()
    if bad.any():
        raise UserError(f"must be a number (got {shown(column[bad].iloc[0])})",
                        field=f"doses_file.{name}")
    return values


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
                    "AMT": d.amount if d.is_resolved else str(d.amount),
                    "RATE": d.rate,
                    "II": d.every or 0.0,
                    "ADDL": d.count - 1,
                }
            )
    import pandas as pd

    return pd.DataFrame(rows, columns=list(NONMEM_COLUMNS))


def from_nonmem(table: pd.DataFrame) -> dict[int, list[Dose]]:
    """Read dose records (``EVID`` 1 rows; without ``EVID``, the rows whose ``AMT`` is not
    empty, ``.`` or 0, the others being observations) from a NONMEM-style table.

    ``CMT`` is a state name; ``RATE`` > 0 gives an infusion of duration ``AMT/RATE``, or
    ``DUR`` > 0 (nlmixr2, mrgsolve) one of that duration; ``II`` and ``ADDL`` give repeats
    (an empty cell is 0). Returns ``{ID: [Dose, ...]}``. What nksim does not model is
    refused by name rather than misread: ``EVID`` 3 (reset) and 4 (reset and dose),
    ``RATE`` -1 or -2 (rate or duration set by the model), a row with both ``RATE`` and
    ``DUR`` and steady-state doses (``SS`` other than 0).
    """

    missing = {"ID", "TIME", "CMT", "AMT"} - set(table.columns)
    if missing:
        raise UserError(f"missing columns {sorted(missing)}", field="doses_file")
    if "EVID" in table.columns:
        evid = _numbers(table["EVID"], "EVID")
        for code, what in ((3, "reset"), (4, "reset and dose")):
            if (evid == code).any():
                raise UserError(f"EVID {code} ({what}) is not supported",
                                field="doses_file.EVID")
        table = table[evid == 1]
    amount = _numbers(table["AMT"], "AMT")
    if "EVID" not in table.columns:  # NONMEM: an empty ("." or blank) or zero amount is
        table = table[amount.notna() & amount.ne(0)]  # an observation
        amount = amount[table.index]
    table = table.assign(AMT=amount)
    numbers = {name: _numbers(table[name], name).fillna(0.0).to_numpy()
               for name in ("RATE", "DUR", "ADDL", "II", "SS") if name in table.columns}
    if "SS" in numbers and (numbers["SS"] != 0).any():
        raise UserError("steady-state doses (SS other than 0) are not supported",
                        field="doses_file.SS")
    if "RATE" in numbers and (numbers["RATE"] < 0).any():
        raise UserError("RATE -1 or -2 (rate or duration set by the model) is not supported; "
                        "give the rate", field="doses_file.RATE")
    if "DUR" in numbers and ((numbers["DUR"] < 0).any() or (
            "RATE" in numbers and ((numbers["DUR"] > 0) & (numbers["RATE"] > 0)).any())):
        raise UserError("must be >= 0 and not given with a RATE in the same row",
                        field="doses_file.DUR")
    out: dict[int, list[Dose]] = {}
    for k, row in enumerate(table.itertuples(index=False)):
        rate = float(numbers["RATE"][k]) if "RATE" in numbers else 0.0
        dur = float(numbers["DUR"][k]) if "DUR" in numbers else 0.0
        addl = numbers["ADDL"][k] if "ADDL" in numbers else 0.0
        if not float(addl).is_integer():
            raise UserError(f"must be a whole number (got {addl})", field="doses_file.ADDL")
        addl = int(addl)
        ii = float(numbers["II"][k]) if "II" in numbers else 0.0
        out.setdefault(int(row.ID), []).append(
            Dose(
                state=str(row.CMT),
                amount=float(row.AMT),
                time=float(row.TIME),
                every=ii if addl > 0 else None,
                count=addl + 1,
                duration=float(row.AMT) / rate if rate > 0 else dur,
            )
        )
    return out
