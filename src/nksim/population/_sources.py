"""Where the covariate distributions of :mod:`nksim.population` come from.

Labels as in :class:`nksim.model.Citation`: ``V-src`` (read in the source), ``V-code``
(from public data files that reproduce the source), ``UNVERIFIED`` and ``assumption``
(chosen by nksim; the note gives a plausible range).
"""

from __future__ import annotations

from nksim.model import Citation

CDC2000_WEIGHT = Citation(
    "CDC 2000 weight-for-age",
    "Kuczmarski RJ et al. 2000 CDC growth charts for the United States: methods and "
    "development. Vital Health Stat 11(246), 2002. LMS parameters of weight-for-age, "
    "2-20 years (file wtage.csv).",
    verified="V-code",
    note="Yearly nodes copied from a public copy of CDC wtage.csv "
    "(github zainul1996/baby-prediction-backend); tests check that the LMS formula "
    "reproduces the file's own P3/P97 columns. US reference population.",
)
CDC2000_STATURE = Citation(
    "CDC 2000 stature-for-age",
    "Kuczmarski RJ et al. 2000 CDC growth charts for the United States: methods and "
    "development. Vital Health Stat 11(246), 2002. LMS parameters of stature-for-age, "
    "2-20 years (file statage.csv).",
    verified="V-code",
    note="Yearly nodes (24, 36.5, ..., 228.5, 240 months) copied from a public copy of CDC "
    "statage.csv (github zainul1996/baby-prediction-backend); tests check the LMS formula "
    "against the file's own P3/P97 columns. US reference population.",
)
LMS_METHOD = Citation(
    "Cole 1990 LMS method",
    "Cole TJ. The LMS method for constructing normalized growth standards. Eur J Clin Nutr "
    "1990;44:45-60. Value at z-score z: M (1 + L S z)^(1/L) (L != 0), M exp(S z) (L = 0).",
    verified="UNVERIFIED",
    note="Formula as used by the CDC growth-chart documentation; reproduces the CDC "
    "percentile columns (tested).",
)
WEIGHT_HEIGHT_CORRELATION = Citation(
    "assumption: weight-height z-score correlation",
    "Within age and sex, the z-scores of body weight and of height are correlated with "
    "rho = 0.6 (Gaussian copula).",
    verified="assumption",
    note="Plausible range 0.4-0.8 (weight and height of children of one age and sex are "
    "strongly but not perfectly correlated). Height's own z comes from its own stream, so "
    "weights equal those of nksim.trials' candidates drawn with the same seed.",
)
NHANES_ADULTS = Citation(
    "NHANES 2015-2016 adult body measurements",
    "Fryar CD, Kruszon-Moran D, Gu Q, Ogden CL. Mean body weight, height, waist circumference, "
    "and body mass index among adults: United States, 1999-2000 through 2015-2016. National "
    "Health Statistics Reports no. 122, 2018 (adults 20 y and older, 2015-2016: men 197.9 lb = "
    "89.8 kg and 69.1 in = 175.5 cm; women 170.6 lb = 77.4 kg and 63.7 in = 161.8 cm).",
    verified="UNVERIFIED",
    note="Numbers read in secondary sources quoting the report (Healthline, Australian "
    "Financial Review 2019: man 89.8 kg, 1.75 m; woman 77.5 kg), not in the report itself. "
    "US adults; other populations are lighter (e.g. Chinese adults about 60-70 kg).",
)
ADULT_SPREAD = Citation(
    "assumption: adult spread of height and weight",
    "Adults 20 y and older: height normal with SD 7 cm (both sexes); weight log-normal with "
    "log-SD 0.22 (its mean equal to the NHANES mean).",
    verified="assumption",
    note="Plausible ranges: height SD 6-8 cm, weight log-SD 0.18-0.26.",
)
BSA_MOSTELLER = Citation(
    "Mosteller 1987",
    "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098. "
    "BSA (m^2) = sqrt(height (cm) x weight (kg) / 3600).",
    verified="UNVERIFIED",
    note="Formula as widely reproduced; tested against the DuBois formula (within a few %).",
)
BSA_DUBOIS = Citation(
    "DuBois & DuBois 1916",
    "DuBois D, DuBois EF. A formula to estimate the approximate surface area if height and "
    "weight be known. Arch Intern Med 1916;17:863-871. BSA (m^2) = 0.007184 x weight (kg)^0.425 "
    "x height (cm)^0.725.",
    verified="UNVERIFIED",
    note="Formula as widely reproduced (the 0.007184 constant converts the original units).",
)
