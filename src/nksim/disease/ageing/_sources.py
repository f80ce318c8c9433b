"""Citations and labelled assumptions of the ageing layer (NK clearance, interventions).

Labels as in :class:`nksim.model.Citation`. Every assumption states its range.
"""

from __future__ import annotations

from dataclasses import dataclass

from nksim.model import Citation

NK_BRIDGE = Citation(
    "nksim NK-removal bridge",
    "beta(t) = beta0 * [(1 - s) + s * C(t)], C(t) = NK capacity relative to a young adult = "
    "(endogenous count x per-cell killing + infused cells x their killing) / young level "
    "(science-nk-cancer-ageing.md §6c: no published model derives SR removal from NK "
    "numbers; design assumption).",
    verified="assumption",
    note="s = NK share of senescent-cell removal; the rest (macrophages, T cells, apoptosis) "
    "is held constant.",
)
BAKER2016 = Citation(
    "Baker 2016",
    "Baker DJ, Childs BG, Durik M, et al. Naturally occurring p16Ink4a-positive cells shorten "
    "healthy lifespan. Nature 2016;530:184-189.",
    verified="V-src",
    doi="10.1038/nature16932",
    note="AP20187 twice weekly from 12 months; median lifespan extended in both sexes and "
    "backgrounds (abstract). The ~25 % magnitude is secondary (Karin 2019 introduction).",
)
OVADYA2018 = Citation(
    "Ovadya 2018",
    "Ovadya Y, Landsberger T, Leins H, et al. Impaired immune surveillance accelerates "
    "accumulation of senescent cells and aging. Nat Commun 2018;9:5435.",
    verified="V-src",
    note="Abstract: Prf1-/- mice carry more senescent cells and survive less; median "
    "lifespans not extracted [gap]; 10 % vs 43 % senescent tissue at 24 months is secondary.",
)
CHIDRAWAR2006 = Citation(
    "Chidrawar 2006 / Ogata 1997",
    "Chidrawar SM et al. Immun Ageing 2006;3:10 (NK counts unchanged with age); Ogata K et "
    "al. Clin Immunol Immunopathol 1997;84:269 (per-cell NK activity falls with age).",
    verified="V-src",
    note="science-nk-cancer-ageing.md §5c; no source gives a per-decade coefficient [gap].",
)
RUKAVINA1998 = Citation(
    "Rukavina 1998",
    "Rukavina D et al. Age-related decline of perforin expression in human cytotoxic T "
    "lymphocytes and natural killer cells. Blood 1998;92:2410.",
    verified="V-src",
    note="The early cytotoxic deficit of the elderly is corrected by IL-2 (direction only).",
)


@dataclass(frozen=True)
class Value:
    """A number with its unit, source and (for assumptions) plausible range."""

    value: float
    unit: str
    source: Citation
    low: float | None = None
    high: float | None = None

    def label(self) -> str:
        rng = f", range {self.low:g}-{self.high:g}" if self.low is not None else ""
        return f"{self.value:g} {self.unit} ({self.source.label()}{rng})"


def _assume(key: str, text: str) -> Citation:
    return Citation(key, text, verified="assumption")


#: Defaults of the NK layer, each an assumption with a range or a sourced value.
DEFAULTS = {
    "nk_share": Value(0.5, "dimensionless", _assume(
        "NK share of removal", "Fraction of senescent-cell removal done by NK cells; NK are "
        "a main clearer (Sagiv 2016, Ovadya 2018) but not the only one."), 0.2, 0.8),
    "per_cell_decline_per_year": Value(0.005, "1/year", _assume(
        "NK per-cell killing decline", "Linear loss of per-cell NK killing per year after "
        "decline_start (direction: Ogata 1997, Rukavina 1998; no coefficient published)."),
        0.0, 0.01),
    "count_change_per_year": Value(0.0, "1/year", CHIDRAWAR2006, -0.005, 0.005),
    "perforin_residual": Value(1.0, "dimensionless", _assume(
        "perforin-independent killing", "Fraction of NK killing left without perforin "
        "(death-receptor killing); 1 = wild type. For Prf1-/- use 0.3."), 0.1, 0.6),
    "endogenous_nk_human": Value(5e10, "cell", _assume(
        "human body NK pool", "~200 NK/uL x 5 L blood / 2 % of NK in blood "
        "(nksim.therapy NK_FRACTION_IN_BLOOD)."), 2e10, 1e11),
    "endogenous_nk_mouse": Value(1e7, "cell", _assume(
        "mouse body NK pool", "Total NK cells of an adult mouse."), 5e6, 3e7),
    "infused_activity": Value(1.0, "dimensionless", _assume(
        "infused NK killing", "Per-cell killing of infused expanded NK relative to young "
        "endogenous NK."), 0.5, 2.0),
    "cytokine_factor": Value(1.5, "dimensionless", _assume(
        "cytokine boost", "Multiplier of per-cell NK killing during a cytokine course "
        "(direction: IL-2 corrects the deficit, Rukavina 1998)."), 1.2, 2.0),
    "weight_kg": Value(70.0, "kg", _assume("body weight", "Adult body weight for per-kg "
                                           "products."), 50.0, 100.0),
    "healthspan_fraction": Value(0.5, "dimensionless", _assume(
        "healthspan threshold", "Healthy while X < fraction x Xc (disease thresholds below the "
        "death threshold: Katzir 2021, UNVERIFIED detail)."), 0.3, 0.8),
}
