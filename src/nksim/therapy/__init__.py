"""Cell products, lymphodepletion, cytokines and toxicity for the SLE CD19 model (issue 3).

Research use only. Components to compose with the disease component
(``docs/design-sle.md``; order matters for expressions: products before cytokines)::

    from nksim.model import compose
    from nksim import therapy
    model = compose("sle_cd19", ..., [disease, *therapy.therapy_components()])

Public API
----------
Components
    :func:`lymphodepletion_component` (``LD``, ``TH``), :func:`car_t_component`
    (``CART``, ``CARTM``; expression ``kill_cart``), :func:`car_nk_component`
    (``CARNK``; expression ``kill_carnk``), :func:`cytokine_component` (``IL6``,
    ``IFNG``), :func:`therapy_components` (all four, in order).
Regimens
    :class:`CellProduct` (``doses_for(weight_kg, first_day)``), :func:`cells_per_ul`,
    :func:`blood_volume_ml_per_kg`, :func:`lymphodepletion_doses`,
    :func:`ld_exposure_units`; presets :data:`CAR_T_MACKENSEN2022`,
    :data:`CAR_NK_GAO2025`, :data:`CAR_NK_PER_KG`.
Toxicity
    :func:`crs_grade`, :func:`icans_grade`, :func:`crs_index`, :func:`icans_index`,
    :func:`toxicity_table`, :class:`CRSMapping`, :class:`ICANSMapping`.

Manufacturing and cost
    :class:`ManufacturingSpec`, :class:`CostSpec`, :func:`simulate_manufacturing`,
    :func:`patient_costs`, :func:`apheresis_failure_probability`.
"""

from __future__ import annotations

from nksim.model import Component
from nksim.therapy._car_nk import CARNK_EXTINCTION as CARNK_EXTINCTION
from nksim.therapy._car_nk import car_nk_component as car_nk_component
from nksim.therapy._car_nk import carnk_half_life as carnk_half_life
from nksim.therapy._car_t import STEIN2019_TYPICAL as STEIN2019_TYPICAL
from nksim.therapy._car_t import car_t_component as car_t_component
from nksim.therapy._cytokines import IFNG_BASELINE as IFNG_BASELINE
from nksim.therapy._cytokines import IL6_BASELINE as IL6_BASELINE
from nksim.therapy._cytokines import cytokine_component as cytokine_component
from nksim.therapy._lymphodepletion import (
    GAO2025_CYCLOPHOSPHAMIDE_MG_M2 as GAO2025_CYCLOPHOSPHAMIDE_MG_M2,
)
from nksim.therapy._lymphodepletion import GAO2025_FLUDARABINE_MG_M2 as GAO2025_FLUDARABINE_MG_M2
from nksim.therapy._lymphodepletion import ld_exposure_units as ld_exposure_units
from nksim.therapy._lymphodepletion import lymphodepletion_component as lymphodepletion_component
from nksim.therapy._lymphodepletion import lymphodepletion_doses as lymphodepletion_doses
from nksim.therapy._manufacturing import MANUFACTURING_SOURCES as MANUFACTURING_SOURCES
from nksim.therapy._manufacturing import CostSpec as CostSpec
from nksim.therapy._manufacturing import ManufacturingSpec as ManufacturingSpec
from nksim.therapy._manufacturing import (
    apheresis_failure_probability as apheresis_failure_probability,
)
from nksim.therapy._manufacturing import patient_costs as patient_costs
from nksim.therapy._manufacturing import simulate_manufacturing as simulate_manufacturing

# --- NK and comparison products for any target (issue 9 §6) ---
from nksim.therapy._nk_products import KINDS as PRODUCT_KINDS
from nksim.therapy._nk_products import NKProduct as NKProduct
from nksim.therapy._nk_products import allogeneic_nk as allogeneic_nk
from nksim.therapy._nk_products import autologous_nk as autologous_nk
from nksim.therapy._nk_products import car_nk as car_nk
from nksim.therapy._nk_products import car_t as car_t
from nksim.therapy._nk_products import catalogue as catalogue
from nksim.therapy._nk_products import expansion_events as expansion_events
from nksim.therapy._nk_products import hncd16_nk as hncd16_nk
from nksim.therapy._nk_products import memory_like_nk as memory_like_nk
from nksim.therapy._nk_products import product_component as product_component
from nksim.therapy._nk_products import trafficking_for as trafficking_for
from nksim.therapy._nk_products import with_expansion as with_expansion
from nksim.therapy._products import CAR_NK_GAO2025 as CAR_NK_GAO2025
from nksim.therapy._products import CAR_NK_PER_KG as CAR_NK_PER_KG
from nksim.therapy._products import CAR_T_MACKENSEN2022 as CAR_T_MACKENSEN2022
from nksim.therapy._products import CellProduct as CellProduct
from nksim.therapy._products import blood_volume_ml_per_kg as blood_volume_ml_per_kg
from nksim.therapy._products import cells_per_ul as cells_per_ul
from nksim.therapy._toxicity import DEFAULT_CRS as DEFAULT_CRS
from nksim.therapy._toxicity import DEFAULT_ICANS as DEFAULT_ICANS
from nksim.therapy._toxicity import CRSMapping as CRSMapping
from nksim.therapy._toxicity import ICANSMapping as ICANSMapping
from nksim.therapy._toxicity import crs_grade as crs_grade
from nksim.therapy._toxicity import crs_index as crs_index
from nksim.therapy._toxicity import icans_grade as icans_grade
from nksim.therapy._toxicity import icans_index as icans_index
from nksim.therapy._toxicity import toxicity_table as toxicity_table


def therapy_components(targets: tuple[str, ...] = ("B", "PB"),
                       depletes: tuple[str, ...] = ("B",),
                       second_targets: tuple[str, ...] = ()) -> list[Component]:
    """Lymphodepletion, CAR-T, CAR-NK and cytokine components, in composition order.

    ``targets``: the antigen-carrying states both products kill (default: the lupus
    disease component's CD19+ ``B`` and ``PB``; e.g. ``("T",)`` for tumour cells);
    ``depletes``: the states Flu/Cy kills besides host T cells (default ``("B",)``);
    ``second_targets``: states reached only by a dual CAR-NK's second CAR (parameter
    ``carnk_dual``; e.g. ``("LLPC",)`` for CD19/BCMA).
    """
    return [lymphodepletion_component(depletes), car_t_component(targets),
            car_nk_component(targets, second_targets), cytokine_component()]


__all__ = [
    "MANUFACTURING_SOURCES", "CostSpec", "ManufacturingSpec", "apheresis_failure_probability",
    "patient_costs", "simulate_manufacturing",
    "CARNK_EXTINCTION", "CAR_NK_GAO2025", "CAR_NK_PER_KG", "CAR_T_MACKENSEN2022",
    "CRSMapping", "CellProduct", "DEFAULT_CRS", "DEFAULT_ICANS",
    "GAO2025_CYCLOPHOSPHAMIDE_MG_M2", "GAO2025_FLUDARABINE_MG_M2", "ICANSMapping",
    "IFNG_BASELINE", "IL6_BASELINE", "STEIN2019_TYPICAL", "blood_volume_ml_per_kg",
    "car_nk_component", "car_t_component", "carnk_half_life", "cells_per_ul", "crs_grade",
    "crs_index", "cytokine_component", "icans_grade", "icans_index", "ld_exposure_units",
    "lymphodepletion_component", "lymphodepletion_doses", "therapy_components",
    "toxicity_table",
]
__all__ += ["PRODUCT_KINDS", "NKProduct", "allogeneic_nk", "autologous_nk", "car_nk", "car_t",
            "catalogue", "expansion_events", "hncd16_nk", "memory_like_nk",
            "product_component", "trafficking_for", "with_expansion"]
