"""Citations for the cell-product, lymphodepletion, cytokine and toxicity models.

Labels follow ``/work/shared/reference/science.md``: ``V-src`` (read in the source
named), ``V-code`` (taken from public code), ``UNVERIFIED`` (not confirmed in a source
seen by nksim: a hypothesis) and ``assumption`` (chosen by nksim, with a range).
"""

from __future__ import annotations

from nksim.model import Citation

STEIN2019 = Citation(
    "Stein 2019",
    "Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular kinetic "
    "analysis of chimeric antigen receptor-T cells. CPT Pharmacometrics Syst Pharmacol "
    "2019;8:285-295.",
    verified="V-src",
    doi="10.1002/psp4.12388",
    note="Typical values (Table 1, as quoted by nlmixr2lib Stein_2019_Tisagenlecleucel.R): "
    "foldx 3900, Tmax 9.3 d, alpha 0.16/d, F_B 0.0079, beta 0.0032/d; doubling time 0.78 d, "
    "initial-decline half-life 4.3 d, terminal half-life 220 d (abstract). r/r B-ALL, "
    "median dose 3.1e6 CAR+ cells/kg.",
)
STEIN_FOLDX_CAPACITY = Citation(
    "nksim finite proliferative capacity",
    "A finite proliferative burst of infused CAR-T cells, as in Stein's fold-expansion "
    "(Stein 2019 [V-src]: Cmax = C0 x foldx, typical foldx 3900): proliferation of the "
    "effector pool is damped (Hill 4) as its realised fold expansion since infusion "
    "approaches cart_foldx (3900 in this variant; the default 1e9 sets no limit), so that the "
    "peak is about the smaller of a dose-limited and a target-limited level.",
    verified="assumption",
    doi="10.1002/psp4.12388",
    note="The anchor value (foldx 3900) is V-src; the mechanism is an nksim assumption. "
    "Clinically higher CAR-T doses gave more expansion and more CRS/neurotoxicity in dose "
    "escalation (e.g. Turtle 2016 [UNVERIFIED]); Stein 2019 retained no dose covariate over "
    "the narrower tisagenlecleucel dose range. Range 1000-20000 (Stein IIV omega^2 = 2.4 on "
    "foldx). See docs/cell-products.md and docs/calibration.md §10.",
)
HARDIANSYAH2019 = Citation(
    "Hardiansyah & Ng 2019",
    "Hardiansyah D, Ng CM. Quantitative systems pharmacology model of chimeric antigen "
    "receptor T-cell therapy. Clin Transl Sci 2019;12:343-349.",
    verified="V-src",
    doi="10.1111/cts.12624",
    note="Abstract and Fig. 1 legend: effector and memory CAR-T, activation by target B "
    "cells, IL-6/IFN-gamma driven by activated CAR-T; expansion and B-cell elimination "
    "correlate more with disease burden than with dose. Parameters not extracted.",
)
KIMMEL2021 = Citation(
    "Kimmel 2021",
    "Kimmel GJ, Locke FL, Altrock PM. The roles of T cell competition and stochastic "
    "extinction events in chimeric antigen receptor T cell therapy. Proc R Soc B "
    "2021;288:20210229.",
    verified="V-src",
    doi="10.1098/rspb.2021.0229",
    note="CAR-T and normal T cells compete for a shared carrying capacity; lymphodepletion "
    "frees it. nksim uses the idea (competition with host T cells), not the equations.",
)
CARTMATH2021 = Citation(
    "Barros 2021 (CARTmath)",
    "Barros LRC, Paixao EA, Valli AMP, et al. CARTmath - a mathematical model of CAR-T "
    "immunotherapy in preclinical studies of hematological cancers. Cancers 2021;13:2941.",
    verified="V-code",
    doi="10.3390/cancers13122941",
    note="Effector/memory structure: effector -> memory conversion, memory -> effector on "
    "antigen. In-vivo per-CAR-T kill rate gamma*T ~ 3.4e-8/(cell d) x 3e6 cells ~ 0.1/d "
    "(RAJI) to 3.7e-6 x 2e6 ~ 7/d (HDLM-2), tmglncc/CARTmath rk4.R.",
)
WESTERMANN1992 = Citation(
    "Westermann & Pabst 1992",
    "Westermann J, Pabst R. Distribution of lymphocyte subsets and natural killer cells in "
    "the human body. Clin Investig 1992;70:539-544.",
    verified="V-src",
    note="'The blood contains very few lymphocytes, only about 2% of the total lymphocyte "
    "pool' (p.541, as quoted by BioNumbers ID 111621).",
)
LIU2020 = Citation(
    "Liu E 2020",
    "Liu E, Marin D, Banerjee P, et al. Use of CAR-transduced natural killer cells in "
    "CD19-positive lymphoid tumors. N Engl J Med 2020;382:545-553.",
    verified="V-src",
    doi="10.1056/NEJMoa1910607",
    note="Cord-blood CD19 CAR-NK (IL-15 armoured) after Flu/Cy, n = 11: no CRS, "
    "neurotoxicity or GVHD; CAR-NK persisted at low levels >= 12 months (science.md §4).",
)
FT596 = Citation(
    "Ghobadi 2025 (FT596)",
    "Ghobadi A, et al. iPSC-derived CD19 CAR-NK (FT596) with or without rituximab in "
    "B-cell lymphoma. Lancet 2025;405:127.",
    verified="V-src",
    note="Secondary summary (science.md §4): NK cells peaked at day 1 and persisted <= 15 d.",
)
FT516 = Citation(
    "Strati 2025 (FT516)",
    "Strati P, et al. FT516 (iPSC-derived hnCD16 NK cells) with anti-CD20 antibody in "
    "relapsed/refractory B-cell lymphoma. Lancet Haematol 2025.",
    verified="V-src",
    doi="10.1016/S2352-3026(25)00142-5",
    note="Lymphodepletion fludarabine 30 + cyclophosphamide 500 mg/m2/d on days -5 to -3; "
    "NK infusions on days 1, 8, 15; CRS 1/55 (grade 1) (science.md §4).",
)
GAO2025 = Citation(
    "Gao 2025 (CAR-NK in SLE)",
    "Gao et al. Allogeneic CD19 CAR-NK cells in relapsed/refractory systemic lupus "
    "erythematosus. Lancet 2025 (Changhai Hospital; NCT06010472; product KN5501).",
    verified="V-src",
    note="Design V-src (science.md §4 and the NCT06010472 registry text): fludarabine 25 + "
    "cyclophosphamide 300 mg/m2/d on days -5, -4, -3; three infusions per cycle at equal "
    "doses; dose escalation from 0.75e9 cells. Infusion interval not stated in the sources "
    "seen; efficacy numbers UNVERIFIED.",
)
NCT06421701 = Citation(
    "NCT06421701",
    "Anti-CD19 CAR-NK cells in refractory/relapsed SLE (Second Affiliated Hospital, Zhejiang "
    "University), ClinicalTrials.gov NCT06421701.",
    verified="V-src",
    note="Registry text: Flu/Cy conditioning, then 'Anti-CD19 CAR-NK cells will be infused on "
    "Day 0, 3, and 6'. Used for the default CAR-NK infusion interval (3 days).",
)
MACKENSEN2022 = Citation(
    "Mackensen 2022",
    "Mackensen A, Muller F, Mougiakakos D, et al. Anti-CD19 CAR T cell therapy for refractory "
    "systemic lupus erythematosus. Nat Med 2022;28:2124-2132.",
    verified="V-src",
    doi="10.1038/s41591-022-02017-5",
    note="Abstract: n = 5, 1e6 CAR-T cells/kg after fludarabine/cyclophosphamide; deep B-cell "
    "depletion; DORIS remission 5/5 at 3 months; B cells reappeared after 110 +/- 32 d; only "
    "mild CRS (science.md §4). The Flu/Cy doses were not read in a source.",
)
WANG_ALLO_SLE = Citation(
    "Wang (allogeneic CAR-T in SLE)",
    "Allogeneic CD19 CAR-T in SLE, NCT05859997, n = 3, 1e6 cells/kg.",
    verified="V-src",
    note="CAR-T peaked at day 14; no CRS, ICANS or GvHD (science.md §4).",
)
ZHANG2007 = Citation(
    "Zhang 2007",
    "Zhang Y, Wallace DL, de Lara CM, et al. In vivo kinetics of human natural killer cells: "
    "the effects of ageing and acute and chronic viral infection. Immunology 2007;121:258-265.",
    verified="V-src",
    doi="10.1111/j.1365-2567.2007.02573.x",
    note="Endogenous NK: proliferation 4.3 %/d, disappearance 6.9 %/d (t1/2 < 10 d).",
)
PRAGER2019 = Citation(
    "Prager 2019",
    "Prager I, Liesche C, van Ooijen H, et al. NK cells switch from granzyme B to death "
    "receptor-mediated cytotoxicity during serial killing. J Exp Med 2019;216:2113-2127.",
    verified="V-src",
    doi="10.1084/jem.20181454",
    note="Serial killing by NK cells; up to ~4-6 kills per activated NK in ~12-16 h in vitro "
    "is an order of magnitude marked UNVERIFIED in science.md §5.",
)
ASTCT2019 = Citation(
    "Lee 2019 (ASTCT)",
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. Biol Blood "
    "Marrow Transplant 2019;25:625-638.",
    verified="V-src",
    doi="10.1016/j.bbmt.2018.12.758",
    note="Grade definitions read in the ASTCT table as reproduced in PMC9327779 (Table 2, "
    "'adapted from Lee et al.').",
)
IL6_HALF_LIFE = Citation(
    "IL-6 elimination",
    "Rat IL-6 kinetics: intravenous IL-6 t1/2-beta 0.38 h (Chinese Journal of Clinical "
    "Pharmacy, abstract); terminal elimination half-life of endogenous IL-6 after "
    "inflammatory stimulation 15.5 h (Kuribayashi 2018, Lab Anim Res 34:80, "
    "doi 10.5625/lar.2018.34.2.80, abstract).",
    verified="assumption",
    note="nksim uses a 3 h plasma half-life, inside the 0.4-15.5 h range of these rat data. "
    "No human elimination constant was read in a source.",
)
IFNG_HALF_LIFE = Citation(
    "IFN-gamma elimination",
    "Plasma half-life of IFN-gamma of the order of 0.5-6 h (recombinant IFN-gamma-1b "
    "labelling: short after i.v., ~6 h after s.c. because of absorption).",
    verified="UNVERIFIED",
    note="From memory of the product label, not read in a source; nksim uses 1 h.",
)
FLU_PK = Citation(
    "Fludarabine/cyclophosphamide kinetics",
    "Fludarabine (2-F-ara-A) terminal half-life ~ 20 h; cyclophosphamide and its active "
    "metabolites ~ 3-12 h (prescribing information).",
    verified="UNVERIFIED",
    note="From memory of the labels; the LD exposure decay rate is an assumption built on it.",
)
TURTLE2016 = Citation(
    "Turtle 2016",
    "Turtle CJ, Hanafi LA, Berger C, et al. Immunotherapy of non-Hodgkin's lymphoma with a "
    "defined ratio of CD8+ and CD4+ CD19-specific chimeric antigen receptor-modified T cells. "
    "Sci Transl Med 2016;8:355ra116 (also Turtle et al. J Clin Invest 2016;126:2123).",
    verified="UNVERIFIED",
    note="Cy/Flu lymphodepletion gave higher CAR-T peaks and longer persistence than Cy "
    "alone; remembered, not read in a source.",
)
GATTINONI2005 = Citation(
    "Gattinoni 2005",
    "Gattinoni L, Finkelstein SE, Klebanoff CA, et al. Removal of homeostatic cytokine sinks "
    "by lymphodepletion enhances the efficacy of adoptively transferred tumor-specific CD8+ "
    "T cells. J Exp Med 2005;202:907-912.",
    verified="UNVERIFIED",
    doi="10.1084/jem.20050732",
    note="Mechanism (host lymphocytes consume IL-7/IL-15); remembered, not read in a source.",
)
MYELOID_IL6 = Citation(
    "Myeloid IL-6 in CRS",
    "Norelli M, et al. Nat Med 2018;24:739-748 and Giavridis T, et al. Nat Med "
    "2018;24:731-738: CRS IL-6 and IL-1 are produced mainly by monocytes/macrophages "
    "activated by CAR-T cells (GM-CSF, IFN-gamma, CD40L) and by dying targets.",
    verified="UNVERIFIED",
    note="Remembered, not read in a source. Used qualitatively: IL-6 per CAR-NK activation "
    "is lower than per CAR-T activation (an assumption with a range).",
)
BLOOD_VOLUME = Citation(
    "Blood volume per kg",
    "Standard clinical reference values: about 70 mL/kg in adults (65-75) and 75-80 mL/kg "
    "in children (older infants to adolescents).",
    verified="assumption",
    note="Values as written in docs/design-sle.md; not read in a primary source. nksim uses "
    "70 mL/kg from age 18 and 75 mL/kg below.",
)
BAIRD2021 = Citation(
    "Blood Adv 2021 (axi-cel immune reconstitution)",
    "Immune reconstitution and infectious complications following axicabtagene ciloleucel "
    "therapy for large B-cell lymphoma. Blood Adv 2021;5(1):143 (single centre, n = 41; "
    "first author recalled as Baird JH [UNVERIFIED]).",
    verified="V-src",
    note="Abstract read: 50 % of patients had CD4+ T cells < 200/uL 18 months after infusion; "
    "only 40 % had recovered detectable CD19+ B cells by 1 year; in durable responders the "
    "duration of B-cell aplasia correlated strongly with the recovery of CD4+ T-cell counts. "
    "Used for slow host T-cell recovery after Flu/Cy and for T-cell recovery ending CAR-T "
    "activity (lymphoma patients, heavily pretreated: recovery in SLE may differ).",
)
MACKENSEN_RECALIBRATION = Citation(
    "nksim calibration to Mackensen 2022",
    "Calibrated by nksim (docs/calibration.md, docs/calibration_sle.py) on the adult CAR-T "
    "scenario with Mackensen-like baselines: B cells back after a mean of 110 +/- 32 days, "
    "DORIS remission at 3 months, drug-free remission kept after B-cell return; the CAR-T "
    "rates were re-fitted at the same time to keep the Stein 2019 shape (peak 9.3 d, "
    "~3900-fold) in the reference setting.",
    verified="assumption",
    doi="10.1038/s41591-022-02017-5",
    note="th_recovery 0.006/d (range 0.002-0.05), cart_K_hom 0.3 of th_normal (range "
    "0.04-0.4): grid optimum of the objective in docs/calibration.md §4, summed over two "
    "cyclophosphamide regimens because Mackensen's dose was not read in a source.",
)
ASSUMPTION = Citation(
    "nksim assumption",
    "Chosen by nksim where no published value was found; each parameter's description "
    "gives the plausible range.",
    verified="assumption",
)
NKSIM_CALIBRATION = Citation(
    "nksim calibration to Stein 2019 shape",
    "Calibrated by nksim so that the typical CAR-T course in the reference setting "
    "(docs/cell-products.md) reproduces the shape of Stein 2019: peak near day 9.3, "
    "doubling ~0.78 d in the expansion phase, post-peak decline alpha ~0.16/d, memory "
    "fraction ~0.8 % decaying at beta = 0.0032/d.",
    verified="assumption",
    doi="10.1002/psp4.12388",
)
