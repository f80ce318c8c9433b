"""Citations of the published models in the library (labels as in science.md)."""

from nksim.model import Citation

DEPILLIS2005 = Citation(
    "de Pillis 2005",
    "de Pillis LG, Radunskaya AE, Wiseman CL. A validated mathematical model of cell-mediated "
    "immune response to tumor growth. Cancer Res 2005;65(17):7950-7958.",
    verified="V-code",
    doi="10.1158/0008-5472.CAN-05-0564",
    note="Values as coded in S-Ng/Immune-Response-to-Tumor-Growth getParameters.m "
    "(said to be the paper's Table 1 mouse values); the paper's table was not seen.",
)
DEPILLIS2005_HUMAN = Citation(
    "de Pillis 2005 (human sets)",
    "de Pillis et al. 2005, human parameter sets as labelled in S-Ng getParameters.m and "
    "an-do/MeFAST Cancermodel ligandOde.m.",
    verified="UNVERIFIED",
    note="Which table/column of the paper these sets come from is not confirmed.",
)
DEPILLIS2006 = Citation(
    "de Pillis 2006",
    "de Pillis LG, Gu W, Radunskaya AE. Mixed immunotherapy and chemotherapy of tumors: "
    "modeling, applications and biological interpretations. J Theor Biol 2006;238:841-862.",
    verified="V-code",
    doi="10.1016/j.jtbi.2005.06.037",
    note="Patient 9 values from patsatzisdim/JTB_CSPcode_CIM_dePillis paramet.i; M and I terms "
    "are the published form that the code's stubs use.",
)
DEPILLIS2009 = Citation(
    "de Pillis 2009",
    "de Pillis LG, Fister KR, Gu W, et al. Mathematical model creation for cancer "
    "chemo-immunotherapy. Comput Math Methods Med 2009;10(3):165-184.",
    verified="V-code",
    doi="10.1080/17486700802216301",
    note="Equations and values from a public Python reproduction (science.md §1c).",
)
BOUNDED_KILL = Citation(
    "nksim bounded kill term",
    "d (L/T)^l / (s + (L/T)^l) * T rewritten as d T / (s (T/L)^l + 1) (numerator and "
    "denominator divided by (L/T)^l): algebraically equal for T, L > 0, finite as T -> 0 "
    "and as L -> 0, and 0 where L <= 0 or T <= 0 (nksim DESIGN.md; DESIGN.md's "
    "d L^l T / (s T^l + L^l) is the same function with one more power to evaluate).",
    verified="assumption",
)
DEPILLIS2009_FROM_RATIOS = Citation(
    "de Pillis 2009 (derived from ratios)",
    "e = 0.111 f and alpha = 2.25e9 beta, derived by nksim from the ratios e/f = 0.111 and "
    "alpha/beta = 2.25e9 cells that the de Pillis 2009 source gives instead of e and alpha.",
    verified="V-code",
    doi="10.1080/17486700802216301",
    note="The ratios are V-code (science.md §1c); the derivation is nksim's arithmetic.",
)
