"""Cell products and regimens: per-kg or flat doses, repeated infusions, cells/uL.

A dose of cells becomes a bolus into ``CART`` or ``CARNK`` in cells per microlitre of
blood::

    cells/uL = dose_cells * fraction_in_blood / (weight_kg * blood_ml_per_kg * 1000 uL/mL)

``fraction_in_blood`` is the share of the infused cells that forms the circulating
(blood-equivalent) pool of the model:

* CAR-NK: 0.02, the share of the body's lymphocytes found in blood (Westermann &
  Pabst 1992); infused NK cells peak in blood at day 1 (FT596) and do not expand.
* CAR-T: 0.004, calibrated with the CAR-T kinetics to the shape of Stein 2019 (a fold
  expansion of ~3900 from the initial blood level at 1e6 cells/kg in the reference
  setting). Stein's back-extrapolated initial level R0 = Cmax/foldx is far below
  dose/blood volume: infused T cells home to marrow, spleen and nodes and only a small
  effective share starts the circulating expansion. Assumption, range 0.001-0.02.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from nksim.dosing import Dose
from nksim.model import Citation
from nksim.therapy._sources import (
    BLOOD_VOLUME,
    GAO2025,
    MACKENSEN2022,
    NCT06421701,
    NKSIM_CALIBRATION,
    WESTERMANN1992,
)

ProductKind = Literal["car_t", "car_nk"]

#: Blood volume per kg (mL/kg): children (< 18 years) and adults (assumption, see BLOOD_VOLUME).
CHILD_BLOOD_ML_PER_KG = 75.0
ADULT_BLOOD_ML_PER_KG = 70.0
#: Share of infused cells in the model's circulating pool (see the module docstring).
CAR_T_FRACTION_IN_BLOOD = 0.004
CAR_NK_FRACTION_IN_BLOOD = 0.02
#: Default interval between CAR-NK infusions of a cycle (days 0, 3, 6: NCT06421701).
CAR_NK_INTERVAL_DAYS = 3.0

_STATE = {"car_t": "CART", "car_nk": "CARNK"}
_FRACTION = {"car_t": CAR_T_FRACTION_IN_BLOOD, "car_nk": CAR_NK_FRACTION_IN_BLOOD}
_FRACTION_SOURCE = {"car_t": NKSIM_CALIBRATION, "car_nk": WESTERMANN1992}


def blood_volume_ml_per_kg(age_years: float | None = None) -> float:
    """Blood volume per kg body weight (mL/kg): 75 below 18 years, 70 from 18 (or unknown).

    Assumption (docs/design-sle.md): adults ~70 mL/kg, children 75-80 mL/kg.
    """
    if age_years is not None and not (math.isfinite(age_years) and age_years >= 0):
        raise ValueError(f"age_years must be a finite number >= 0, got {age_years!r}")
    if age_years is not None and age_years < 18:
        return CHILD_BLOOD_ML_PER_KG
    return ADULT_BLOOD_ML_PER_KG


def cells_per_ul(
    dose_cells: float,
    weight_kg: float,
    blood_ml_per_kg: float | None = None,
    *,
    age_years: float | None = None,
    fraction_in_blood: float = 1.0,
) -> float:
    """Convert a number of cells into cells per microlitre of blood.

    Parameters
    ----------
    dose_cells : cells given (total, not per kg).
    weight_kg : body weight (kg).
    blood_ml_per_kg : blood volume per kg; default :func:`blood_volume_ml_per_kg` of
        ``age_years`` (70 mL/kg when the age is not given).
    age_years : patient's age, used only for the default blood volume.
    fraction_in_blood : share of the cells in the circulating pool (default 1: plain
        unit conversion). :class:`CellProduct` applies the product's share.

    Returns
    -------
    float
        ``dose_cells * fraction_in_blood / (weight_kg * blood_ml_per_kg * 1000)`` cell/uL.
    """
    bv = blood_volume_ml_per_kg(age_years) if blood_ml_per_kg is None else blood_ml_per_kg
    checks = (("dose_cells", dose_cells, 0.0), ("weight_kg", weight_kg, None),
              ("blood_ml_per_kg", bv, None), ("fraction_in_blood", fraction_in_blood, 0.0))
    for name, value, lowest in checks:
        ok = math.isfinite(value) and (value >= lowest if lowest is not None else value > 0)
        if not ok:
            raise ValueError(f"{name} must be a finite number "
                             f"{'>= 0' if lowest is not None else '> 0'}, got {value!r}")
    if fraction_in_blood > 1:
        raise ValueError(f"fraction_in_blood must be <= 1, got {fraction_in_blood!r}")
    return dose_cells * fraction_in_blood / (weight_kg * bv * 1000.0)


@dataclass(frozen=True)
class CellProduct:
    """A CD19 cell product and its regimen (one cycle).

    Parameters
    ----------
    name : label for reports.
    kind : ``"car_t"`` (dosed into ``CART``) or ``"car_nk"`` (dosed into ``CARNK``).
    dose_per_kg : cells per kg body weight per infusion; or
    flat_dose : cells per infusion regardless of weight (exactly one of the two).
    infusions : number of infusions in the cycle.
    interval_days : days between infusions (required when ``infusions > 1``).
    fraction_in_blood : share of the cells in the model's circulating pool; default
        :data:`CAR_T_FRACTION_IN_BLOOD` or :data:`CAR_NK_FRACTION_IN_BLOOD`.
    max_cells : optional cap on the cells of one infusion (e.g. a flat maximum for heavy
        patients).
    source : where the regimen comes from.

    The CD19+ targets are the disease states ``B`` and ``PB`` (:attr:`targets`).
    """

    name: str
    kind: ProductKind
    dose_per_kg: float | None = None
    flat_dose: float | None = None
    infusions: int = 1
    interval_days: float | None = None
    fraction_in_blood: float | None = None
    max_cells: float | None = None
    source: Citation | None = None

    targets = ("B", "PB")

    def __post_init__(self) -> None:
        if self.kind not in _STATE:
            raise ValueError(f"{self.name}: kind must be 'car_t' or 'car_nk', got {self.kind!r}")
        if (self.dose_per_kg is None) == (self.flat_dose is None):
            raise ValueError(f"{self.name}: give exactly one of dose_per_kg and flat_dose")
        dose = self.dose_per_kg if self.dose_per_kg is not None else self.flat_dose
        if not (math.isfinite(dose) and dose >= 0):
            raise ValueError(f"{self.name}: the dose must be a finite number >= 0, got {dose!r}")
        if self.infusions < 1:
            raise ValueError(f"{self.name}: infusions must be >= 1, got {self.infusions!r}")
        if self.infusions > 1 and not (self.interval_days and self.interval_days > 0):
            raise ValueError(f"{self.name}: interval_days must be > 0 for repeated infusions")
        f = self.fraction_in_blood
        if f is not None and not (0 < f <= 1):
            raise ValueError(f"{self.name}: fraction_in_blood must be in (0, 1], got {f!r}")
        if self.max_cells is not None and not self.max_cells > 0:
            raise ValueError(f"{self.name}: max_cells must be > 0, got {self.max_cells!r}")

    @property
    def state(self) -> str:
        """The dosed state: ``"CART"`` or ``"CARNK"``."""
        return _STATE[self.kind]

    @property
    def blood_fraction(self) -> float:
        """The share of infused cells in the circulating pool actually used."""
        if self.fraction_in_blood is not None:
            return self.fraction_in_blood
        return _FRACTION[self.kind]

    @property
    def blood_fraction_source(self) -> Citation:
        """Citation of the default blood fraction of this kind of product."""
        return _FRACTION_SOURCE[self.kind]

    def cells_per_infusion(self, weight_kg: float) -> float:
        """Cells given per infusion to a patient of ``weight_kg`` (kg)."""
        if not (math.isfinite(weight_kg) and weight_kg > 0):
            raise ValueError(f"weight_kg must be a finite number > 0, got {weight_kg!r}")
        cells = self.dose_per_kg * weight_kg if self.dose_per_kg is not None else self.flat_dose
        return min(cells, self.max_cells) if self.max_cells is not None else cells

    def infusion_days(self, first_day: float = 0.0) -> list[float]:
        """Days of the infusions of the cycle."""
        step = self.interval_days or 0.0
        return [float(first_day) + i * step for i in range(self.infusions)]

    def doses_for(
        self,
        weight_kg: float,
        first_day: float = 0.0,
        *,
        age_years: float | None = None,
        blood_ml_per_kg: float | None = None,
    ) -> list[Dose]:
        """Dose records (boluses in cell/uL) of one cycle for a patient.

        Parameters
        ----------
        weight_kg : body weight (kg), for per-kg dosing and the blood volume.
        first_day : day of the first infusion.
        age_years : age, for the default blood volume (children 75, adults 70 mL/kg).
        blood_ml_per_kg : explicit blood volume per kg (overrides the age default).

        Returns
        -------
        list of Dose
            One record (repeated ``infusions`` times every ``interval_days``) into
            :attr:`state`.
        """
        amount = cells_per_ul(
            self.cells_per_infusion(weight_kg), weight_kg, blood_ml_per_kg,
            age_years=age_years, fraction_in_blood=self.blood_fraction,
        )
        return [Dose(self.state, amount, float(first_day),
                     every=self.interval_days if self.infusions > 1 else None,
                     count=self.infusions)]


#: One infusion of 1e6 CD19 CAR-T cells/kg (Mackensen 2022; the issue's car_t arm).
CAR_T_MACKENSEN2022 = CellProduct(
    "CD19 CAR-T 1e6/kg x 1 (Mackensen 2022)", "car_t", dose_per_kg=1e6, source=MACKENSEN2022,
)
#: Three equal infusions of 0.75e9 CD19 CAR-NK cells (Gao 2025 starting dose) on days 0, 3, 6
#: (interval from NCT06421701; Gao 2025's interval was not in the sources seen).
CAR_NK_GAO2025 = CellProduct(
    "CD19 CAR-NK 0.75e9 x 3 (Gao 2025 starting dose)", "car_nk", flat_dose=0.75e9,
    infusions=3, interval_days=CAR_NK_INTERVAL_DAYS, source=GAO2025,
)
_PER_KG = Citation(
    "nksim per-kg CAR-NK dose",
    "Gao 2025 starting dose 0.75e9 cells per infusion divided by a 60 kg reference adult: "
    "1.25e7 cells/kg per infusion, three infusions on days 0, 3, 6 (NCT06421701 interval).",
    verified="assumption",
    note="For weight-based (paediatric) dosing; the source article says children receive "
    "higher per-kg doses (article.md T6) but gives no number.",
)
#: Per-kg version of the Gao 2025 starting dose, for children (assumption).
CAR_NK_PER_KG = CellProduct(
    "CD19 CAR-NK 1.25e7/kg x 3", "car_nk", dose_per_kg=0.75e9 / 60.0, infusions=3,
    interval_days=CAR_NK_INTERVAL_DAYS, source=_PER_KG,
)

PRODUCT_SOURCES = (MACKENSEN2022, GAO2025, NCT06421701, WESTERMANN1992, BLOOD_VOLUME, _PER_KG)
