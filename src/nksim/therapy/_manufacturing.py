"""Getting the product to the patient: vein-to-vein time, manufacturing failure, cost.

Autologous CAR-T: each child gives T cells by apheresis (up to ``max_apheresis_attempts``
collections; a collection yields too few T cells with a probability that rises as the
child's lymphocyte count falls), the cells are manufactured, release-tested and shipped;
a product can fail its release specification. Allogeneic CAR-NK: the product is made in
batches from healthy donors, frozen and waiting; only scheduling, lymphodepletion and
thawing stand between the decision and the infusion (article claim T4).

Times are in days from the **decision to treat** (enrolment) to the first infusion
(``vein_to_vein_days``; this includes the wait for an apheresis slot, unlike the strict
industry definition leukapheresis-to-infusion, which is ``apheresis_to_infusion_days``).
Costs are in RMB. Every random draw comes from the patient's own stream
(``patient_rng(seed, patient, stream)``, one stream per purpose, see :data:`STREAMS`).

Sources and assumptions are the ``Citation`` objects below (:data:`SOURCES`); each
assumption's note gives a plausible range. Cohort summaries (median cost per patient
treated, cost per remission with a bootstrap interval) are in
:mod:`nksim.trials._statistics` (``cost_per_patient_treated``, ``cost_per_remission``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nksim._spec import spec_from_mapping
from nksim.errors import UserError
from nksim.model import Citation
from nksim.population import patient_rng

__all__ = [
    "ManufacturingSpec",
    "CostSpec",
    "simulate_manufacturing",
    "patient_costs",
    "apheresis_failure_probability",
    "MANUFACTURING_SOURCES",
]

#: Random stream of each purpose (``patient_rng(seed, patient, stream)``).
STREAMS: dict[str, int] = {
    "apheresis_wait": 201,
    "apheresis_outcome": 202,   # one uniform per attempt, in order
    "reapheresis_interval": 203,  # one normal per repeat collection, in order
    "manufacturing": 204,
    "release": 205,
    "shipping": 206,
    "out_of_spec": 207,
    "allogeneic_lead": 208,
}

# ---------------------------------------------------------------- sources
V2V_META = Citation(
    "V2V meta-analysis (EHA 2023)",
    "Systematic review and meta-analysis of vein-to-vein time in r/r LBCL, HemaSphere 2023 "
    "(EHA abstract, PMC10431072): median of medians axi-cel 30.4 d (clinical trials 25.5, "
    "real world 30.9), tisa-cel 48.4 d, liso-cel 35.9 d.",
    verified="V-src",
    note="Abstract read. Adult lymphoma, commercial products.",
)
V2V_PIVOTAL = Citation(
    "V2V pivotal trials",
    "Blood Adv 2024;8(13):3519 ('Don't keep me waiting'): median vein-to-vein time 54 d "
    "for tisa-cel (JULIET) and 24 d for axi-cel (ZUMA-1).",
    verified="V-src",
    note="Abstract read.",
)
UK_PAEDIATRIC_TISACEL = Citation(
    "UK paediatric tisa-cel",
    "Blood Cancer J 2024 (doi 10.1038/s41408-024-01038-2), Table 3: 134 children and young "
    "people with attempted harvest; satisfactory apheresis 100 %, apheresis days median 1 "
    "(range 1-4); manufacture failure 5/134 (3.7 %); screening to infusion median 60 d "
    "(IQR 50-80).",
    verified="V-src",
    doi="10.1038/s41408-024-01038-2",
    note="Table read (leukaemia, not SLE).",
)
CEPPI_2018 = Citation(
    "Ceppi 2018",
    "Ceppi F et al. Lymphocyte apheresis for CAR T-cell manufacturing in children and young "
    "adults with leukemia and neuroblastoma. Transfusion 2018;58(6):1414-1420: 99 patients "
    "aged 1.3-25.7 y, median ALC 944/uL (range 142-6944), 21.6 % below 500/uL; "
    "mononuclear-cell target reached in 100 %; CAR-T production possible from 94 %.",
    verified="V-src",
    doi="10.1111/trf.14569",
    note="Abstract read.",
)
ALLEN_APHERESIS = Citation(
    "NIH CAR-T apheresis series",
    "Allen ES et al. (NIH; Transfusion): 71 lymphapheresis collections for 3 CAR-T trials; "
    "69 (97 %) reached the minimum CD3+ yield; patients below target had lower blood "
    "lymphocytes (470 vs 1340/uL) and CD3+ counts (349 vs 914/uL).",
    verified="V-src",
    note="Abstract read on scite.ai; year and pages not confirmed.",
)
APHERESIS_FAILURE_MODEL = Citation(
    "assumption: apheresis failure vs lymphocyte count",
    "Per collection, P(too few T cells) = 1 / (1 + (ALC / ALC50)^slope): logistic in "
    "log ALC with ALC50 = 200 cells/uL and slope 2; collections of one patient fail "
    "independently given the ALC.",
    verified="assumption",
    note="Plausible ALC50 100-400/uL, slope 1-4. Gives ~4 % per collection at 1000/uL, "
    "~14 % at 500/uL, 50 % at 200/uL. Over a Ceppi-2018-like ALC distribution (median "
    "944/uL, 21.6 % < 500) ~10 % of collections fail and ~3 % of patients fail two, "
    "against 94-100 % success reported (Ceppi 2018, NIH series, UK paediatric); over the "
    "default SLE candidates ~5 % and ~0.6 %. The article reports SLE children who could "
    "not give enough cells after one or two collections (claim T5).",
)
AUTOLOGOUS_TIMES = Citation(
    "assumption: autologous process times",
    "Log-normal durations (median, log-sd): apheresis scheduling wait 7 d (0.5); repeat "
    "collection after a failed one 7 d (0.3); manufacturing 15 d (0.2); release testing "
    "8 d (0.3); shipping and receipt 2 d (0.4). Lymphodepletion runs in parallel with "
    "release and shipping.",
    verified="assumption",
    note="Apheresis-to-infusion median about 26 d, inside the published 24-54 d "
    "(V2V_PIVOTAL, V2V_META); plausible ranges: wait 3-21 d, manufacturing 7-22 d, "
    "release 5-14 d (sterility testing ~7 d), shipping 1-4 d.",
)
OUT_OF_SPEC = Citation(
    "assumption: out-of-specification rate",
    "Autologous product fails release (out of specification, no infusion): 4 %.",
    verified="assumption",
    note="Plausible 1-10 %: UK paediatric tisa-cel 3.7 % manufacture failure, Ceppi 2018 "
    "6 % of collections not producible. Allogeneic default 0 % (released lots in "
    "inventory; a failed thaw is replaced).",
)
ALLOGENEIC_LEAD = Citation(
    "assumption: off-the-shelf lead time",
    "Allogeneic CAR-NK from inventory: decision to first infusion log-normal, median 7 d, "
    "log-sd 0.3 (scheduling, lymphodepletion on days -5 to -3, thaw).",
    verified="assumption",
    note="Plausible 5-14 d; the article only says 'off the shelf', shorter wait (T4).",
)
CAR_T_PRICE = Citation(
    "article T5: CAR-T price",
    "CAR-T costs about 1.2 million RMB per dose (source newspaper feature, claim T5).",
    verified="UNVERIFIED",
    note="As reported in the newspaper article; an unverified list price, not a "
    "negotiated or reimbursed cost.",
)
CAR_NK_BATCH = Citation(
    "assumption: CAR-NK batch economics",
    "CAR-NK cost per dose = batch cost / doses per batch = 1.5 million RMB / 20 doses "
    "= 75,000 RMB.",
    verified="assumption",
    note="Plausible batch cost 0.5-5 million RMB and 5-100 doses per batch (one cord-blood "
    "unit or one iPSC lot makes many doses), i.e. about 5,000-1,000,000 RMB per dose. The "
    "price does not depend on the cells in a dose: arms at other dose levels cost the same "
    "per dose unless their doses_per_batch (or product_cost_per_dose_rmb) is set for their "
    "dose (a batch of fixed cell yield makes 12 times fewer doses of 9e9 cells than of "
    "7.5e8).",
)
CARE_COSTS = Citation(
    "assumption: care costs",
    "Per apheresis collection 10,000 RMB; per lymphodepletion course 10,000 RMB; hospital "
    "ward day 3,000 RMB; days in hospital per treated patient 14 (CAR-T) or 10 (CAR-NK). "
    "A failed product is not charged.",
    verified="assumption",
    note="Plausible: apheresis 5,000-20,000; lymphodepletion 5,000-20,000; ward day "
    "1,500-6,000 RMB (ICU more); CAR-T stay 10-28 d, CAR-NK 5-21 d.",
)

MANUFACTURING_SOURCES: tuple[Citation, ...] = (
    V2V_META, V2V_PIVOTAL, UK_PAEDIATRIC_TISACEL, CEPPI_2018, ALLEN_APHERESIS,
    APHERESIS_FAILURE_MODEL, AUTOLOGOUS_TIMES, OUT_OF_SPEC, ALLOGENEIC_LEAD, CAR_T_PRICE,
    CAR_NK_BATCH, CARE_COSTS,
)

# ---------------------------------------------------------------- spec helpers
_PRODUCTS = ("car_t", "car_nk")
_PROCESSES = ("autologous", "allogeneic")


def _q(default: Any, unit: str) -> Any:
    return field(default=default, metadata={"kind": "quantity", "unit": unit})


def _num(default: Any) -> Any:
    return field(default=default, metadata={"kind": "number"})


def _int(default: Any) -> Any:
    return field(default=default, metadata={"kind": "int"})


def _check(ok: bool, message: str, name: str) -> None:
    if not ok:
        raise UserError(message, field=name)


def _check_finite(spec: Any) -> None:
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, float):
            _check(math.isfinite(value), f"must be finite (got {value!r})", f.name)


# ---------------------------------------------------------------- manufacturing spec
@dataclass(frozen=True)
class ManufacturingSpec:
    """How one arm's product reaches its patients (scenario table ``[arms.manufacturing]``).

    Durations are log-normal: ``median * exp(sigma * z)``, ``z ~ N(0, 1)``, in days.
    Defaults and their sources: :data:`AUTOLOGOUS_TIMES`, :data:`APHERESIS_FAILURE_MODEL`,
    :data:`OUT_OF_SPEC`, :data:`ALLOGENEIC_LEAD`.

    Parameters
    ----------
    process : {"autologous", "allogeneic"}
        Autologous: apheresis, manufacture, release, shipping. Allogeneic: from
        inventory (only ``allogeneic_lead_*`` and ``out_of_spec_probability`` apply).
    apheresis_wait_median_days, apheresis_wait_sigma
        Decision to first apheresis.
    max_apheresis_attempts : int
        Collections tried before the patient counts as a manufacturing failure.
    reapheresis_interval_median_days, reapheresis_interval_sigma
        Delay added by each repeat collection.
    apheresis_alc50_per_ul : float, cells/uL
        Lymphocyte count at which a collection fails half the time.
    apheresis_failure_slope : float
        Steepness: failure odds change by ``e**slope`` per e-fold fall in ALC.
    manufacturing_median_days, manufacturing_sigma, release_median_days, release_sigma,
    shipping_median_days, shipping_sigma
        Apheresis to infusion = manufacturing + release + shipping.
    out_of_spec_probability : float, optional
        Product fails release (no infusion); ``None``: 0.04 autologous, 0 allogeneic.
    allogeneic_lead_median_days, allogeneic_lead_sigma
        Decision to first infusion for an off-the-shelf product.
    """

    process: str = field(default="autologous",
                         metadata={"kind": "choice", "choices": _PROCESSES})
    apheresis_wait_median_days: float = _q(7.0, "day")
    apheresis_wait_sigma: float = _num(0.5)
    max_apheresis_attempts: int = _int(2)
    reapheresis_interval_median_days: float = _q(7.0, "day")
    reapheresis_interval_sigma: float = _num(0.3)
    apheresis_alc50_per_ul: float = _q(200.0, "cell/uL")
    apheresis_failure_slope: float = _num(2.0)
    manufacturing_median_days: float = _q(15.0, "day")
    manufacturing_sigma: float = _num(0.2)
    release_median_days: float = _q(8.0, "day")
    release_sigma: float = _num(0.3)
    shipping_median_days: float = _q(2.0, "day")
    shipping_sigma: float = _num(0.4)
    out_of_spec_probability: float | None = _num(None)
    allogeneic_lead_median_days: float = _q(7.0, "day")
    allogeneic_lead_sigma: float = _num(0.3)

    def __post_init__(self) -> None:
        _check(self.process in _PROCESSES,
               f"must be 'autologous' or 'allogeneic' (got {self.process!r})", "process")
        _check_finite(self)
        _check(isinstance(self.max_apheresis_attempts, int)
               and not isinstance(self.max_apheresis_attempts, bool)
               and self.max_apheresis_attempts >= 1,
               f"must be an integer >= 1 (got {self.max_apheresis_attempts!r})",
               "max_apheresis_attempts")
        for name in ("apheresis_wait_median_days", "reapheresis_interval_median_days",
                     "manufacturing_median_days", "release_median_days",
                     "shipping_median_days", "allogeneic_lead_median_days",
                     "apheresis_alc50_per_ul"):
            _check(getattr(self, name) > 0, f"must be > 0 (got {getattr(self, name):g})", name)
        for name in ("apheresis_wait_sigma", "reapheresis_interval_sigma",
                     "manufacturing_sigma", "release_sigma", "shipping_sigma",
                     "allogeneic_lead_sigma", "apheresis_failure_slope"):
            _check(getattr(self, name) >= 0, f"must be >= 0 (got {getattr(self, name):g})",
                   name)
        p = self.out_of_spec_probability
        _check(p is None or 0.0 <= p <= 1.0, f"must be in [0, 1] (got {p!r})",
               "out_of_spec_probability")

    @property
    def out_of_spec(self) -> float:
        """The out-of-specification probability in effect."""
        if self.out_of_spec_probability is not None:
            return float(self.out_of_spec_probability)
        return 0.04 if self.process == "autologous" else 0.0

    @classmethod
    def for_product(cls, product: str, **overrides: Any) -> ManufacturingSpec:
        """Defaults for ``"car_t"`` (autologous) or ``"car_nk"`` (allogeneic)."""
        return cls(process=_default_process(product), **overrides)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *, product: str = "car_t",
                  field: str = "arms.manufacturing") -> ManufacturingSpec:
        """The spec of a scenario table; ``process`` defaults from ``product``.

        Unknown keys or bad values raise :class:`UserError` naming ``field.key``.
        Durations accept numbers of days or ``"value unit"`` strings (``"2 week"``).
        """
        raw = {} if raw is None else raw
        if isinstance(raw, Mapping) and "process" not in raw:
            try:
                raw = {**raw, "process": _default_process(product)}
            except ValueError as exc:
                raise UserError(str(exc), field=field) from None
        return spec_from_mapping(cls, raw, field)


def _default_process(product: str) -> str:
    if product == "car_t":
        return "autologous"
    if product == "car_nk":
        return "allogeneic"
    raise ValueError(f"product must be one of {_PRODUCTS}, got {product!r}")


def apheresis_failure_probability(alc_per_ul: float | np.ndarray,
                                  spec: ManufacturingSpec | None = None) -> np.ndarray:
    """Probability that one apheresis collects too few T cells, given the ALC (cells/uL).

    ``1 / (1 + (ALC / ALC50)**slope)``: logistic in log ALC, 0.5 at ``ALC50``, rising
    to 1 as the count falls to 0 (assumption :data:`APHERESIS_FAILURE_MODEL`).
    """
    spec = ManufacturingSpec() if spec is None else spec
    alc = np.asarray(alc_per_ul, dtype=float)
    if np.any(np.isnan(alc)):
        raise ValueError("lymphocyte count (alc_per_ul) has missing values")
    with np.errstate(divide="ignore"):
        log_ratio = np.log(np.maximum(alc, 0.0) / spec.apheresis_alc50_per_ul)
    x = np.clip(spec.apheresis_failure_slope * log_ratio, -700.0, 700.0)
    return 1.0 / (1.0 + np.exp(x))


def simulate_manufacturing(
    patients: pd.DataFrame,
    spec: ManufacturingSpec,
    seed: int,
    *,
    id_column: str = "candidate",
) -> pd.DataFrame:
    """Per-patient apheresis, manufacturing and time to infusion.

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per patient with an integer id column (``id_column``; the index of the
        patient's random streams) and, for autologous products, ``alc_per_ul``
        (absolute lymphocyte count, cells/uL).
    spec : ManufacturingSpec
    seed : int
        The trial's seed. A patient's result depends only on ``seed``, its id and
        ``spec``: not on the other patients or the batch size.

    Returns
    -------
    pandas.DataFrame
        Same row order, columns: the id, ``process``, ``p_apheresis_failure`` (per
        collection), ``apheresis_attempts`` (collections made), ``apheresis_failed``
        (every collection failed), ``out_of_spec`` (product failed release),
        ``manufacturing_failed`` (no infusion: either reason), ``failure_reason``
        (``""``, ``"apheresis"`` or ``"out_of_specification"``),
        ``vein_to_vein_days`` (decision to first infusion; NaN if no infusion) and
        ``apheresis_to_infusion_days`` (last collection to infusion; NaN if
        allogeneic or no infusion).

    Notes
    -----
    Autologous: ``vein_to_vein = wait + sum(repeat intervals) + manufacturing + release
    + shipping``; each collection fails with :func:`apheresis_failure_probability`.
    Out-of-specification is drawn for every patient from its own stream, so it does not
    depend on the apheresis outcome. Allogeneic: ``vein_to_vein`` is the lead time; no
    apheresis.
    """
    if not isinstance(patients, pd.DataFrame):
        raise TypeError("patients must be a pandas DataFrame")
    if id_column not in patients:
        raise ValueError(f"patients have no {id_column!r} column")
    ids = patients[id_column].to_numpy()
    if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0):
        raise ValueError(f"{id_column!r} must hold non-negative integers "
                         "(the patients' random-stream indices)")
    autologous = spec.process == "autologous"
    n = ids.size
    if autologous:
        if "alc_per_ul" not in patients:
            raise ValueError("autologous manufacturing needs the patients' 'alc_per_ul'")
        p_fail = apheresis_failure_probability(patients["alc_per_ul"].to_numpy(float), spec)
    else:
        p_fail = np.zeros(n)
    k = spec.max_apheresis_attempts

    def draws(stream: str, size: int, normal: bool) -> np.ndarray:
        """``size`` draws per patient from its ``stream`` (row i: patient ids[i])."""
        out = np.empty((n, size))
        for row, pid in enumerate(ids):
            rng = patient_rng(seed, int(pid), STREAMS[stream])
            out[row] = rng.standard_normal(size) if normal else rng.random(size)
        return out

    out_of_spec = draws("out_of_spec", 1, False)[:, 0] < spec.out_of_spec
    attempts = np.zeros(n, dtype=np.int64)
    apheresis_failed = np.zeros(n, dtype=bool)
    v2v = np.full(n, np.nan)
    a2i = np.full(n, np.nan)
    if not autologous:
        lead = spec.allogeneic_lead_median_days * np.exp(
            spec.allogeneic_lead_sigma * draws("allogeneic_lead", 1, True)[:, 0])
        v2v = np.where(out_of_spec, np.nan, lead)
    elif n:
        # collection j (0-based) uses the j-th uniform of the patient's outcome stream,
        # and a repeat collection the j-th normal of its interval stream, so the number
        # of attempts allowed never changes the outcome of earlier ones
        success = draws("apheresis_outcome", k, False) >= p_fail[:, None]
        collected = success.any(axis=1)
        first = np.where(collected, success.argmax(axis=1), k - 1)
        attempts = first + 1
        apheresis_failed = ~collected
        out_of_spec &= collected  # nothing was manufactured without cells
        wait = spec.apheresis_wait_median_days * np.exp(
            spec.apheresis_wait_sigma * draws("apheresis_wait", 1, True)[:, 0])
        if k > 1:
            gaps = spec.reapheresis_interval_median_days * np.exp(
                spec.reapheresis_interval_sigma * draws("reapheresis_interval", k - 1, True))
            used = np.arange(k - 1)[None, :] < first[:, None]
            wait = wait + np.sum(np.where(used, gaps, 0.0), axis=1)
        make = sum(median * np.exp(sigma * draws(stream, 1, True)[:, 0])
                   for stream, median, sigma in (
                       ("manufacturing", spec.manufacturing_median_days,
                        spec.manufacturing_sigma),
                       ("release", spec.release_median_days, spec.release_sigma),
                       ("shipping", spec.shipping_median_days, spec.shipping_sigma)))
        infused = collected & ~out_of_spec
        a2i = np.where(infused, make, np.nan)
        v2v = np.where(infused, wait + make, np.nan)
    failed = apheresis_failed | out_of_spec
    reason = np.where(apheresis_failed, "apheresis",
                      np.where(out_of_spec, "out_of_specification", ""))
    return pd.DataFrame({
        id_column: ids,
        "process": np.full(n, spec.process, dtype=object),
        "p_apheresis_failure": p_fail,
        "apheresis_attempts": attempts,
        "apheresis_failed": apheresis_failed,
        "out_of_spec": out_of_spec,
        "manufacturing_failed": failed,
        "failure_reason": reason.astype(object),
        "vein_to_vein_days": v2v,
        "apheresis_to_infusion_days": a2i,
    })


# ---------------------------------------------------------------- cost
_HOSPITAL_DAYS = {"car_t": 14.0, "car_nk": 10.0}
_CAR_T_PRICE_RMB = 1.2e6


@dataclass(frozen=True)
class CostSpec:
    """Costs of one arm, in RMB (scenario table ``[arms.cost]``).

    Parameters
    ----------
    product : {"car_t", "car_nk"}
        Sets the defaults of ``product_cost_per_dose_rmb`` and ``hospital_days``.
    product_cost_per_dose_rmb : float, optional
        Price of one dose. ``None``: CAR-T 1.2 million RMB (article T5, unverified list
        price); CAR-NK ``batch_cost_rmb / doses_per_batch``. Giving it together with
        the batch fields in a scenario is an error.
    batch_cost_rmb, doses_per_batch
        CAR-NK batch economics (assumption: 1.5 million RMB, 20 doses).
    apheresis_cost_rmb
        Per collection attempt (assumption 10,000).
    lymphodepletion_cost_rmb
        Per lymphodepletion course (assumption 10,000).
    hospital_day_cost_rmb, hospital_days
        Ward day (assumption 3,000) and days per treated patient (``None``: CAR-T 14,
        CAR-NK 10).
    charge_failed_manufacture : bool
        Whether an out-of-specification product is paid for (default no).
    """

    product: str = field(default="car_t", metadata={"kind": "choice", "choices": _PRODUCTS})
    product_cost_per_dose_rmb: float | None = _num(None)
    batch_cost_rmb: float = _num(1.5e6)
    doses_per_batch: int = _int(20)
    apheresis_cost_rmb: float = _num(10_000.0)
    lymphodepletion_cost_rmb: float = _num(10_000.0)
    hospital_day_cost_rmb: float = _num(3_000.0)
    hospital_days: float | None = _q(None, "day")
    charge_failed_manufacture: bool = field(default=False, metadata={"kind": "bool"})

    def __post_init__(self) -> None:
        _check(self.product in _PRODUCTS,
               f"must be 'car_t' or 'car_nk' (got {self.product!r})", "product")
        _check_finite(self)
        for name in ("product_cost_per_dose_rmb", "batch_cost_rmb", "apheresis_cost_rmb",
                     "lymphodepletion_cost_rmb", "hospital_day_cost_rmb", "hospital_days"):
            value = getattr(self, name)
            # upper bounds keep sums and their confidence intervals finite (assumption:
            # no cost above 1e12 RMB, no stay above ten years)
            most = 3650.0 if name == "hospital_days" else 1e12
            _check(value is None or 0 <= value <= most,
                   f"must be from 0 to {most:g} (got {value!r})", name)
        _check(isinstance(self.doses_per_batch, int) and not isinstance(self.doses_per_batch,
                                                                          bool)
               and self.doses_per_batch >= 1,
               f"must be an integer >= 1 (got {self.doses_per_batch!r})", "doses_per_batch")
        _check(isinstance(self.charge_failed_manufacture, bool),
               f"must be true or false (got {self.charge_failed_manufacture!r})",
               "charge_failed_manufacture")

    @property
    def cost_per_dose_rmb(self) -> float:
        """Price of one dose in effect (RMB)."""
        if self.product_cost_per_dose_rmb is not None:
            return float(self.product_cost_per_dose_rmb)
        if self.product == "car_t":
            return _CAR_T_PRICE_RMB
        return self.batch_cost_rmb / self.doses_per_batch

    @property
    def days_in_hospital(self) -> float:
        """Hospital days per treated patient in effect."""
        return _HOSPITAL_DAYS[self.product] if self.hospital_days is None \
            else float(self.hospital_days)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *, product: str = "car_t",
                  field: str = "arms.cost") -> CostSpec:
        """The spec of a scenario's ``[arms.cost]`` table for an arm of ``product``."""
        if isinstance(raw, Mapping) and "product_cost_per_dose_rmb" in raw:
            both = [k for k in ("batch_cost_rmb", "doses_per_batch") if k in raw]
            if both:
                raise UserError("give either product_cost_per_dose_rmb or the batch "
                                "fields, not both", field=f"{field}.{both[0]}")
        if product not in _PRODUCTS:
            raise UserError(f"product must be one of {_PRODUCTS} (got {product!r})",
                            field=field)
        return spec_from_mapping(cls, raw, field, product=product)


def patient_costs(
    manufacturing: pd.DataFrame,
    cost: CostSpec,
    *,
    doses: int | Sequence[int] | np.ndarray = 1,
    lymphodepletion_courses: int | Sequence[int] | np.ndarray = 1,
    extra_hospital_days: float | Sequence[float] | np.ndarray = 0.0,
) -> pd.DataFrame:
    """Add per-patient costs (RMB) to the output of :func:`simulate_manufacturing`.

    Parameters
    ----------
    manufacturing : pandas.DataFrame
        From :func:`simulate_manufacturing` (``apheresis_attempts``,
        ``manufacturing_failed``, ``out_of_spec``).
    cost : CostSpec
    doses : int or array
        Doses given to each treated patient (e.g. 3 CAR-NK infusions); patients with a
        failed manufacture get none.
    lymphodepletion_courses : int or array
        Courses per treated patient.
    extra_hospital_days : float or array
        Days beyond ``cost.days_in_hospital`` (e.g. for severe CRS), treated patients.

    Returns
    -------
    pandas.DataFrame
        A copy with ``cost_product_rmb``, ``cost_apheresis_rmb``,
        ``cost_lymphodepletion_rmb``, ``cost_hospital_rmb`` and ``cost_rmb`` (total).
        A patient whose manufacture failed pays the collections only (and the product
        if ``charge_failed_manufacture`` and it failed release).
    """
    out = manufacturing.copy()
    n = len(out)
    treated = ~out["manufacturing_failed"].to_numpy(dtype=bool)

    def per_patient(value: Any, name: str) -> np.ndarray:
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
        if np.any(~np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and >= 0")
        return arr

    n_doses = per_patient(doses, "doses")
    courses = per_patient(lymphodepletion_courses, "lymphodepletion_courses")
    extra = per_patient(extra_hospital_days, "extra_hospital_days")
    charged_failure = out["out_of_spec"].to_numpy(dtype=bool) & cost.charge_failed_manufacture
    out["cost_product_rmb"] = np.where(treated, n_doses, 0.0) * cost.cost_per_dose_rmb \
        + np.where(charged_failure, cost.cost_per_dose_rmb, 0.0)
    out["cost_apheresis_rmb"] = out["apheresis_attempts"].to_numpy(float) \
        * cost.apheresis_cost_rmb
    out["cost_lymphodepletion_rmb"] = np.where(treated, courses, 0.0) \
        * cost.lymphodepletion_cost_rmb
    out["cost_hospital_rmb"] = np.where(treated, cost.days_in_hospital + extra, 0.0) \
        * cost.hospital_day_cost_rmb
    out["cost_rmb"] = (out["cost_product_rmb"] + out["cost_apheresis_rmb"]
                       + out["cost_lymphodepletion_rmb"] + out["cost_hospital_rmb"])
    return out
