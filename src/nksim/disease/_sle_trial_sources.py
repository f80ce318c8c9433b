"""Where the numbers of the lupus trials' candidates and eligibility rules come from
(:mod:`nksim.disease._sle_cohort`, :mod:`nksim.disease._sle_eligibility`).

Labels as in ``nksim.model.Citation``: ``V-src`` (read in the source), ``V-code`` (from
public code or data files that reproduce the source), ``UNVERIFIED`` (not confirmed)
and ``assumption`` (chosen by nksim; the note gives a plausible range). Manufacturing
and cost numbers live beside their code in :mod:`nksim.therapy._manufacturing`.
Statistical *methods* are cited in the docstrings of :mod:`nksim.trials._statistics`
and checked against ``scipy.stats`` in the tests.
"""

from __future__ import annotations

from nksim.model import Citation

# ---------------------------------------------------------------- eligibility
ARTICLE_S5 = Citation(
    "article S5",
    "Source newspaper feature (reference/article.md claim S5): only the hardest cases are "
    "treated - diagnosed for more than six months, at least four failed treatment "
    "regimens, still high disease activity, age 5 or older.",
    verified="V-src",
    note="What the article says; the trial protocol itself was not seen.",
)
SLEDAI_HIGH_ACTIVITY = Citation(
    "assumption: SLEDAI-2K >= 8",
    "'High disease activity' read as SLEDAI-2K >= 8.",
    verified="assumption",
    note="The article gives no number. Plausible range 6-10: SLEDAI-2K >= 6 is a common "
    "'active disease' threshold and refractory-SLE CAR studies enrolled patients with "
    "much higher scores (Mackensen 2022: median 16, science.md section 4).",
)
PAEDIATRIC_MAX_AGE = Citation(
    "assumption: paediatric upper age",
    "A paediatric trial enrols children up to 17 completed years (younger than 18 y).",
    verified="assumption",
    note="The article names only the lower age (5 y). Usual paediatric definition.",
)

# ---------------------------------------------------------------- candidates
CSLE_DEMOGRAPHY = Citation(
    "childhood-onset SLE cohorts",
    "Jongvilaikasem P et al. Pediatr Rheumatol 2018;16:62 (331 children, 272 girls = 82 %, "
    "mean age at presentation 11.5 +/- 2.6 y); Taiwan cohort, J Microbiol Immunol Infect "
    "1999;32:173 (135 patients, female:male 4.6:1 = 82 %, mean age at diagnosis 13.7 y).",
    verified="V-src",
    doi="10.1186/s12969-018-0274-5",
    note="Abstracts read. Chinese cohort (Pediatr Rheumatol 2012;10:12): female:male "
    "2.5-7.0:1 by pubertal group.",
)
ADULT_SLE_DEMOGRAPHY = Citation(
    "adult SLE cohorts",
    "Gamal SM et al. Archives of Rheumatology (adult-onset SLE: 213 of 236 female = 90 %, "
    "median age 35 y); Egypt Rheumatol 2020;42:23 (124 SLE patients, 91 % female, median disease "
    "duration 48 months, IQR 24-105).",
    verified="V-src",
    doi="10.1016/j.ejr.2019.04.003",
    note="Abstracts read; cohorts from Egypt, used as anchors, not as Chinese data.",
)
from nksim.population._sources import CDC2000_WEIGHT as CDC2000_WEIGHT  # noqa: E402

ADULT_WEIGHT = Citation(
    "assumption: adult body weight",
    "Adults (20 y and older): log-normal body weight, median 58 kg (women) and 70 kg (men), "
    "log-sd 0.15.",
    verified="assumption",
    note="Chosen to join the CDC medians at 20 y (58.2 and 70.6 kg); plausible range for "
    "Chinese adults 52-65 kg (women) and 62-75 kg (men).",
)
SLE_LYMPHOPENIA = Citation(
    "SLE lymphopenia",
    "Rivero SJ et al. Arthritis Rheum 1978 (April) (active untreated SLE: lymphocytes "
    "< 1500/uL in 75 %); Lu W et al. Rheumatol Ther 2021;8:1177 (Chinese Han SLE: "
    "lymphopenia 55.2 %, median 600/uL among the lymphopenic).",
    verified="V-src",
    doi="10.1007/s40744-021-00336-6",
    note="Abstracts read. The log-normal below is an assumption calibrated to them.",
)
ALC_DISTRIBUTION = Citation(
    "assumption: lymphocyte count of candidates",
    "Absolute lymphocyte count log-normal, median 1200 cells/uL (children) or 1100 (adults), "
    "log-sd 0.6: about 65-70 % below 1500/uL and 7-10 % below 500/uL.",
    verified="assumption",
    note="Calibrated to SLE_LYMPHOPENIA and to Ceppi 2018 (heavily pretreated children at "
    "apheresis: median 944/uL, 21.6 % < 500/uL). Plausible median 700-1800, log-sd 0.4-0.8.",
)
AGE_DISTRIBUTION = Citation(
    "assumption: age of candidates",
    "Children: normal, mean 12.5 y, sd 3.5 y, truncated to [3, 18) y; adults: mean 38 y, "
    "sd 12 y, truncated to [18, 70) y.",
    verified="assumption",
    note="Candidates are prevalent patients, older than at onset (cSLE mean onset 11.5-13.7 "
    "y, CSLE_DEMOGRAPHY); the range extends beyond the eligible ages so that screening "
    "has something to exclude. Plausible paediatric mean 11-14 y.",
)
DURATION_DISTRIBUTION = Citation(
    "assumption: disease duration of candidates",
    "Months since diagnosis: log-normal (median 30 months in children, 48 in adults; "
    "log-sd 0.9) truncated to [0, 12 x (age - earliest onset age)], earliest onset 2 y.",
    verified="assumption",
    note="Adult median from the Egyptian cohort (48 months, ADULT_SLE_DEMOGRAPHY); "
    "paediatric median chosen shorter (plausible 18-48 months).",
)
REGIMENS_DISTRIBUTION = Citation(
    "assumption: failed regimens of candidates",
    "Number of failed treatment regimens: Poisson with mean 1 + 0.8 per year of disease, "
    "at most 12.",
    verified="assumption",
    note="Refractory referral population: about 3 failed regimens after 2.5 years. "
    "Plausible 0.5-1.5 regimens per year.",
)
SLEDAI_DISTRIBUTION = Citation(
    "assumption: baseline SLEDAI-2K of candidates",
    "SLEDAI-2K: log-normal, median 10, log-sd 0.5, rounded to an integer in [0, 105].",
    verified="assumption",
    note="Skewed to active disease in a referral population: about 70 % have >= 8. "
    "Plausible median 6-14 (CAR-T-treated refractory SLE: median 16, Mackensen 2022).",
)
