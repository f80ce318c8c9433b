"""Citations for the NK decision, killing, assay and escape models (issue 9, §1-3, §5).

Labels follow ``/work/shared/reference/science.md``: ``V-src`` (read in the source named),
``V-code`` (taken from public code), ``UNVERIFIED`` (not confirmed in a source seen by
nksim: a hypothesis) and ``assumption`` (chosen by nksim, with a range in the note).
"""

from __future__ import annotations

from nksim.model import Citation

MESECKE2011 = Citation(
    "Mesecke 2011",
    "Mesecke S, Urlaub D, Busch H, Eils R, Watzl C. Integration of activating and inhibitory "
    "receptor signaling by regulated phosphorylation of Vav1 in immune cells. Sci Signal "
    "2011;4(175):ra36.",
    verified="V-src",
    doi="10.1126/scisignal.2001325",
    note="Structure only (science.md §6, from the 2009 thesis abstract): Vav1 phosphorylated "
    "by Src-family kinases recruited to activating receptors, dephosphorylated by SHP-1 "
    "recruited to inhibitory receptors; switch-like phosphorylation; switch-like "
    "dephosphorylation dominant over activation, requiring kinase association with receptors "
    "and enhanced activity of receptor-bound SHP-1. Rate constants not found [UNVERIFIED].",
)
DAS2010 = Citation(
    "Das 2010",
    "Das J. Activation or tolerance of natural killer cells is modulated by ligand quality in "
    "a nonmonotonic manner. Biophys J 2010;99:2028-2037.",
    verified="V-src",
    doi="10.1016/j.bpj.2010.07.024",
    note="Abstract (science.md §6): strong activating ligands give digital activation; "
    "activation depends on receptor-ligand half-life and ligand density. Rates not found.",
)
DAS_SPATIAL = Citation(
    "Das lab spatial NK signalling model",
    "jayajitdas/NK_signaling_spatial_model, Models/model2_inb/in.model2_inb.0 (Spparks kinetic "
    "Monte Carlo; rates from particle-swarm fits to microcluster data).",
    verified="V-code",
    note="Lattice-specific rates, used only as relative magnitudes (science-nk-cancer-ageing.md "
    "§1a): SHP-catalysed pVav dephosphorylation 3.0 vs kinase-driven Vav phosphorylation 0.776 "
    "(per s).",
)
GOLDBETER1981 = Citation(
    "Goldbeter & Koshland 1981",
    "Goldbeter A, Koshland DE Jr. An amplified sensitivity arising from covalent modification "
    "in biological systems. PNAS 1981;78:6840-6844.",
    verified="V-src",
    doi="10.1073/pnas.78.11.6840",
    note="Zero-order ultrasensitivity: the steady state of a covalent modification cycle with "
    "saturated converter enzymes is the Goldbeter-Koshland function (textbook result).",
)
CAR_NK_IN_SILICO = Citation(
    "CAR_NK_In_Silico",
    "drsamalik/CAR_NK_In_Silico, Model_CAR_NK.py: CAR, LFA-1 and KIR complexes integrated "
    "by a Goldbeter-Koshland switch on the pVav fraction; lambda = k * W2.",
    verified="V-code",
    note="Structure of the per-encounter signal integration (science-nk-cancer-ageing.md §1a); "
    "its fitted per-donor values are not reused.",
)
ALMEIDA2011 = Citation(
    "Almeida 2011",
    "Almeida CR, Ashkenazi A, Shahaf G, et al. Human NK cells differ more in their "
    "KIR2DL1-dependent thresholds for HLA-Cw6-mediated inhibition than in their maximal "
    "killing capacity. PLoS One 2011;6:e24927.",
    verified="V-src",
    doi="10.1371/journal.pone.0024927",
    note="Conjugation-kill ODE from the Fig. 1 caption: conjugation rate beta, conjugate "
    "lifetime tau, kill probability kappa per conjugate; exact published form UNVERIFIED.",
)
HOFFMAN2018 = Citation(
    "Hoffman 2018",
    "Hoffman M, Gavaghan D, Osborne J, et al. A mathematical model of antibody-dependent "
    "cellular cytotoxicity (ADCC). J Theor Biol 2018;436:39-50.",
    verified="V-src",
    doi="10.1016/j.jtbi.2017.09.031",
    note="ADCC assay model; kill rate f up to 1.6e-3 /s (about 10 min from conjugate to death); "
    "beta_off 1e-3 /s; 4-h assay; E:T 1.25-20 (science-nk-cancer-ageing.md §1a).",
)
PRAGER2019 = Citation(
    "Prager 2019",
    "Prager I, Liesche C, van Ooijen H, et al. NK cells switch from granzyme B to death "
    "receptor-mediated cytotoxicity during serial killing. J Exp Med 2019;216:2113-2127.",
    verified="V-src",
    doi="10.1084/jem.20181454",
    note="Abstract: first kills fast and GrzB-mediated, later kills slow and CD95L/caspase-8 "
    "mediated; contact lowers GrzB/perforin and raises surface CD95L; perforin-deficient NK "
    "kill only once, via death receptors. Figure values not extracted.",
)
VANHERBERGHEN2013 = Citation(
    "Vanherberghen 2013",
    "Vanherberghen B, Olofsson PE, Forslund E, et al. Classification of human natural killer "
    "cells based on migration behavior and cytotoxic response. Blood 2013;121:1326-1334.",
    verified="V-src",
    doi="10.1182/blood-2012-06-439851",
    note="Abstract: about half of IL-2-activated NK cells killed no target; a minority did most "
    "of the killing. Time to target death about 10 min after conjugation (via Hoffman 2018).",
)
GULDEVALL2016 = Citation(
    "Guldevall 2016",
    "Guldevall K, Brandt L, Forslund E, et al. Microchip screening platform for single cell "
    "assessment of NK cell cytotoxicity. Front Immunol 2016;7:119.",
    verified="V-src",
    doi="10.3389/fimmu.2016.00119",
    note="About 75 % of resting NK cells non-cytotoxic against K562 over 12 h; some killed >= 3.",
)
LI2015 = Citation(
    "Li 2015",
    "Li J, Figueira SK, Vrazo AC, et al. Real-time detection of CTL function reveals distinct "
    "patterns of caspase activation mediated by Fas versus granzyme B. Blood 2015;126:e1 "
    "(human NK luciferase biosensors).",
    verified="V-src",
    note="Granzyme signal within 15 min of conjugation; perforin-independent death-receptor "
    "caspase activation after 45 min (FasL, TRAIL). Li 2014 J Immunol 193:519: Fas signal "
    "after a 90-min delay in perforin/GrzB-deficient CTL.",
)
JENKINS2015 = Citation(
    "Jenkins 2015 (mouse NK detachment)",
    "Mouse NK detachment time from first Ca2+ flux: WT 12.77 +/- 1.1 min, Prf-/- 67.66 +/- 5.3 "
    "min (JEM figure jem_20140964r_fig3; paper probably Jenkins et al. 2015 JEM 212:307).",
    verified="V-src",
    note="Values V-src from the figure; the title of the paper is UNVERIFIED.",
)
MOUSE_KILL_COUNTS = Citation(
    "Mouse NK kill counts (Sharks data)",
    "ElephesSung/Sharks, Expe_2/one_p/organised_data.csv: NK-WT vs RMA-MULT1 (n = 60: 21, 22, "
    "12, 4, 1 cells with 0-4 kills) and RMA-RAE1 (n = 70: 31, 26, 9, 4, 0) over 12 h.",
    verified="V-code",
    note="Digitised from an unidentified publication (science-nk-cancer-ageing.md §1c).",
)
ORCA = Citation(
    "Orca",
    "sthsci/Orca (bayesorca): Poisson, zero-inflated Poisson, Gamma-Poisson and zero-inflated "
    "Gamma-Poisson models of kills per NK cell.",
    verified="V-code",
    note="nksim fits the same families by maximum likelihood and compares them by AIC.",
)
PROSS1981 = Citation(
    "Pross 1981 (lytic units)",
    "Pross HF, Baines MG, Rubin P, et al. Spontaneous human lymphocyte-mediated cytotoxicity "
    "against tumor target cells. IX. The quantitation of natural killer cell activity. "
    "J Clin Immunol 1981;1:51-63.",
    verified="UNVERIFIED",
    note="The exponential fit lysis = A (1 - exp(-k E:T)) and lytic units; nksim derives the "
    "same form from the conjugation-kill model when effectors are not limiting.",
)
KOENE1997 = Citation(
    "Koene 1997",
    "Koene HR, Kleijer M, Algra J, et al. Fc gammaRIIIa-158V/F polymorphism influences the "
    "binding of IgG by natural killer cell Fc gammaRIIIa. Blood 1997;90:1109-1114.",
    verified="V-src",
    note="158F binds significantly less IgG1/IgG3/IgG4 than 158V (science-nk-cancer-ageing.md "
    "§2b). A 5-10-fold lower affinity for 158F is UNVERIFIED (Bruhns 2009 not extracted).",
)
SAGIV2016 = Citation(
    "Sagiv 2016",
    "Sagiv A, Burton DG, Moshayev Z, et al. NKG2D ligands mediate immunosurveillance of "
    "senescent cells. Aging 2016;8:328-344.",
    verified="V-src",
    note="MICA/ULBP up-regulation on stressed cells drives NKG2D-dependent killing (induced self).",
)
PEREIRA2019 = Citation(
    "Pereira 2019",
    "Pereira BI, Devine OP, Vukmanovic-Stejic M, et al. Senescent cells evade immune clearance "
    "via HLA-E-mediated NK and CD8+ T cell inhibition. Nat Commun 2019;10:2387.",
    verified="V-src",
    note="HLA-E on targets inhibits NKG2A+ NK cells; blocking NKG2A boosts killing.",
)
WELLS2010 = Citation(
    "Wells 2010 (MICA shedding)",
    "Wells, Bewick, Kruse, Ward et al. 2010, IEEE conference (arnumber 5510820): soluble MICA "
    "promotes tumour growth, membrane MICA promotes killing.",
    verified="V-src",
    note="Abstract only; equations not seen. nksim's blocking term is an assumption.",
)
DEPILLIS2005_ESCAPE = Citation(
    "de Pillis 2005 (composed)",
    "The de Pillis 2005 tumour-NK-CD8 model of nksim's library (library/_depillis2005.py) with "
    "its NK kill rate c and CD8 kill rate d scaled by the escape factors of this module.",
    verified="assumption",
    note="Composition chosen by nksim; the scaling is the decision model's relative change.",
)
ENCOUNTER_ASSUMPTION = Citation(
    "nksim encounter model",
    "Per-encounter receptor occupancy, lognormal cell-to-cell variability and a "
    "Goldbeter-Koshland Vav1 switch (docs/nk-biology.md).",
    verified="assumption",
    note="Values chosen by nksim so that the published qualitative properties can be tested; "
    "each parameter states its range.",
)
KILLING_ASSUMPTION = Citation(
    "nksim serial-killing calibration",
    "Search, conjugation, kill-route and exhaustion rates chosen by nksim within the published "
    "timing ranges and calibrated to the published non-killer fractions (docs/nk-biology.md).",
    verified="assumption",
    note="Each parameter states its range; calibration targets are V-src abstracts.",
)
ASSAY_ASSUMPTION = Citation(
    "nksim assay conventions",
    "Spontaneous release, plate noise and well sizes typical of chromium/calcein/flow assays.",
    verified="assumption",
    note="Each parameter states its range.",
)
