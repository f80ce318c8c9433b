"""Lymphoma response by the Lugano 2014 CT criteria, from lesion diameters or tumour burden.

Research use only. Rules (Cheson et al. 2014, J Clin Oncol 32:3059; as tabulated in
``science-nk-cancer-ageing.md`` §3c, V-src), for up to 6 target lesions measured at
baseline (visit 0) and later visits; LDi = longest transverse diameter, SDi = shortest
axis, PPD = LDi x SDi, SPD = sum of PPDs:

* **PD** (any one lesion): LDi > 1.5 cm, PPD up >= 50 % from that lesion's nadir, and LDi
  up from its nadir by >= 0.5 cm (nadir LDi <= 2 cm) or >= 1.0 cm (nadir LDi > 2 cm);
  or a new lesion.
* **CR**: every target lesion LDi <= 1.5 cm (and not PD).
* **PR**: SPD down >= 50 % from baseline (and neither PD nor CR).
* **SD**: otherwise.

A lesion too small to measure (0 < LDi < 0.5 cm) counts as 5 mm x 5 mm in the SPD; a
lesion that has disappeared (LDi = 0) as 0 x 0. Best overall response is the best
response at the visits up to the first PD. Spleen, marrow and PET (Deauville) criteria
are not modelled: the model has no spleen, marrow or FDG uptake.

Burden to lesions (ASSUMPTIONS, docs/cancer.md): 1e9 tumour cells per mL (the
conversion of Kimmel 2021's metabolic tumour volume); each target lesion is a sphere
holding a fixed share of the burden, so every lesion changes in proportion; SDi = LDi.
"""

from __future__ import annotations

import numpy as np

from nksim.model import Citation

LUGANO2014 = Citation(
    "Lugano 2014",
    "Cheson BD, Fisher RI, Barrington SF, et al. Recommendations for initial evaluation, "
    "staging, and response assessment of Hodgkin and non-Hodgkin lymphoma: the Lugano "
    "classification. J Clin Oncol 2014;32:3059-3068.",
    verified="V-src",
    doi="10.1200/JCO.2013.54.8800",
    note="CT criteria from jnm.snmjournals.org Table 6 and the UpToDate table "
    "(science-nk-cancer-ageing.md §3c).",
)
CELLS_PER_ML = Citation(
    "1e9 cells per mL",
    "Tumour burden to volume: 1e9 cells per mL (as Kimmel 2021 converts MTV 94.86 mL to "
    "B0 = 9.486e10 cells).",
    verified="assumption",
    note="Range 1e8-1e9 cells/mL (stroma and necrosis lower the cell density).",
)

RESPONSES = ("CR", "PR", "SD", "PD")
_RANK = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}
#: Cells per mL of tumour (assumption, see :data:`CELLS_PER_ML`).
TUMOUR_CELLS_PER_ML = 1e9
MEASURABLE_MIN_CM = 0.5  # below: "too small to measure", counted as 5 mm x 5 mm
CR_MAX_LDI_CM = 1.5


def sphere_diameter_cm(volume_ml: np.ndarray | float) -> np.ndarray:
    """Diameter (cm) of a sphere of ``volume_ml`` (1 mL = 1 cm3)."""
    v = np.clip(np.asarray(volume_ml, float), 0.0, None)
    return np.cbrt(6.0 * v / np.pi)


def lesion_diameters(burden_cells: np.ndarray, shares: np.ndarray,
                     cells_per_ml: float = TUMOUR_CELLS_PER_ML) -> np.ndarray:
    """LDi (cm) of each target lesion: ``burden_cells`` (visits,) split by ``shares``
    (lesions,) into spheres. Returns (visits, lesions); 0 where the burden is 0."""
    burden = np.asarray(burden_cells, float)
    shares = np.asarray(shares, float)
    if shares.ndim != 1 or shares.size == 0 or np.any(shares <= 0):
        raise ValueError("shares must be a non-empty vector of positive numbers")
    volume = burden[:, None] * (shares / shares.sum())[None, :] / cells_per_ml
    return sphere_diameter_cm(volume)


def spd(ldi_cm: np.ndarray, sdi_cm: np.ndarray | None = None) -> np.ndarray:
    """Sum of products of perpendicular diameters (cm2) per visit (rows)."""
    ldi = np.asarray(ldi_cm, float)
    sdi = ldi if sdi_cm is None else np.asarray(sdi_cm, float)
    return _ppd(ldi, sdi).sum(axis=1)


def _ppd(ldi: np.ndarray, sdi: np.ndarray) -> np.ndarray:
    small = (ldi > 0) & (ldi < MEASURABLE_MIN_CM)
    ppd = ldi * sdi
    return np.where(small, MEASURABLE_MIN_CM ** 2, np.where(ldi <= 0, 0.0, ppd))


def lugano_ct(ldi_cm: np.ndarray, sdi_cm: np.ndarray | None = None,
              new_lesion: np.ndarray | None = None) -> list[str]:
    """Lugano 2014 CT response at each visit after baseline.

    Parameters
    ----------
    ldi_cm : (visits, lesions) longest diameters; row 0 is baseline.
    sdi_cm : shortest axes, same shape (default: equal to ``ldi_cm``).
    new_lesion : (visits,) bool, a new lesion seen at that visit (default none).

    Returns
    -------
    list of str
        One of ``"CR"``, ``"PR"``, ``"SD"``, ``"PD"`` per visit after baseline.
    """
    ldi = np.atleast_2d(np.asarray(ldi_cm, float))
    sdi = ldi if sdi_cm is None else np.atleast_2d(np.asarray(sdi_cm, float))
    if ldi.shape != sdi.shape or ldi.shape[0] < 2:
        raise ValueError("need (visits >= 2, lesions) diameters, baseline first")
    if np.any(~np.isfinite(ldi)) or np.any(ldi < 0) or np.any(sdi < 0):
        raise ValueError("diameters must be finite and >= 0")
    new = np.zeros(ldi.shape[0], bool) if new_lesion is None else np.asarray(new_lesion, bool)
    ppd = _ppd(ldi, sdi)
    base = ppd[0].sum()
    out = []
    for k in range(1, ldi.shape[0]):
        nadir_ppd = ppd[:k].min(axis=0)
        nadir_ldi = ldi[:k].min(axis=0)
        step = np.where(nadir_ldi <= 2.0, 0.5, 1.0)
        grew = ((ldi[k] > CR_MAX_LDI_CM) & (ppd[k] >= 1.5 * nadir_ppd)
                & (ldi[k] - nadir_ldi >= step - 1e-12))
        if new[k] or grew.any():
            out.append("PD")
        elif np.all(ldi[k] <= CR_MAX_LDI_CM):
            out.append("CR")
        elif base > 0 and ppd[k].sum() <= 0.5 * base * (1 + 1e-12):  # rounding
            out.append("PR")
        else:
            out.append("SD")
    return out


def best_overall_response(responses: list[str]) -> str:
    """Best response at the visits up to and including the first PD (``"PD"`` if that
    is the first assessment; ``"NE"`` when there is none)."""
    best = None
    for r in responses:
        if best is None or _RANK[r] < _RANK[best]:
            best = r
        if r == "PD":
            break
    return best or "NE"


def first_progression(responses: list[str], days: np.ndarray) -> float:
    """Day of the first PD visit (NaN if none)."""
    for r, d in zip(responses, days, strict=True):
        if r == "PD":
            return float(d)
    return float("nan")
