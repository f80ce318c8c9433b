"""Citations of the SLE disease model, the glucocorticoid model and the activity readouts.

Labels (see :class:`nksim.model.Citation`): ``V-src`` = the statement used was read in the
source named (for most entries here: its abstract or a table reproducing it, as the note
says); ``UNVERIFIED`` = a published value recalled, not read in the source during this
work; ``assumption`` = chosen by nksim, with the reason and a plausible range in ``note``.
"""

from __future__ import annotations

from nksim.model import Citation

# ---------------------------------------------------------------- clinical anchors
MACKENSEN2022 = Citation(
    "Mackensen 2022",
    "Mackensen A, Mueller F, Mougiakakos D, et al. Anti-CD19 CAR T cell therapy for refractory "
    "systemic lupus erythematosus. Nat Med 2022;28(10):2124-2132.",
    verified="V-src",
    doi="10.1038/s41591-022-02017-5",
    note="Abstract read: n = 5, median SLEDAI 16 (range 8) -> 0 at 3 months, DORIS remission "
    "5/5 at 3 months, seroconversion of anti-dsDNA, drug-free remission maintained even after "
    "B cells reappeared at a mean (SD) of 110 (32) days.",
)
DORIS2021 = Citation(
    "DORIS 2021",
    "van Vollenhoven RF, Bertsias G, Doria A, et al. 2021 DORIS definition of remission in SLE: "
    "final recommendations from an international task force. Lupus Sci Med 2021;8:e000538.",
    verified="V-src",
    doi="10.1136/lupus-2021-000538",
    note="Abstract read: clinical SLEDAI = 0, evaluator's global assessment < 0.5 (0-3), "
    "prednisolone 5 mg/day or less, stable antimalarials, immunosuppressives and biologics; "
    "serology ignored. (The paper's final-recommendation table writes '< 5 mg/day'; nksim uses "
    "the abstract's '<= 5'.)",
)
FURIE2009 = Citation(
    "Furie 2009 (SRI)",
    "Furie RA, Petri MA, Wallace DJ, et al. Novel evidence-based systemic lupus erythematosus "
    "responder index. Arthritis Rheum 2009;61(9):1143-1151.",
    verified="V-src",
    doi="10.1002/art.24698",
    note="Abstract read: SRI response = >= 4-point reduction in SELENA-SLEDAI, no new BILAG A or "
    "no more than 1 new BILAG B domain score, no deterioration of the physician's global "
    "assessment by >= 0.3; 'serologically active' = anti-dsDNA >= 30 IU/mL.",
)
SLEDAI2K = Citation(
    "SLEDAI-2K",
    "Gladman DD, Ibanez D, Urowitz MB. Systemic lupus erythematosus disease activity index 2000. "
    "J Rheumatol 2002;29(2):288-291.",
    verified="V-src",
    note="Descriptor weights read in reproductions of the instrument (medicalcriteria.com "
    "SLEDAI-2K form; a 2019 rheumatology handbook table), not in the paper: 8 neuro/vasculitis "
    "descriptors x 8, 6 x 4 (arthritis, myositis, casts, haematuria, proteinuria, pyuria), "
    "7 x 2 (rash, alopecia, mucosal ulcers, pleurisy, pericarditis, low complement, increased "
    "DNA binding), 3 x 1 (fever, thrombocytopenia, leukopenia): 0-105.",
)
SFI = Citation(
    "SELENA-SLEDAI flare index",
    "Petri M, Kim MY, Kalunian KC, et al. Combined oral contraceptives in women with systemic "
    "lupus erythematosus. N Engl J Med 2005;353:2550-2558 (SELENA trial; flare index).",
    verified="V-src",
    note="Criteria read in a review table (Ann Rheum Dis, 'features, caveats and pitfalls of "
    "main indices used in SLE') and a calculator page: mild/moderate flare = SELENA-SLEDAI "
    "increase >= 3 (not to > 12) or PGA increase >= 1.0 (not to > 2.5); severe flare = score "
    "to > 12 or PGA > 2.5; medication criteria also count (not used by nksim).",
)

# ---------------------------------------------------------------- B cells, plasma cells
MACALLAN2005 = Citation(
    "Macallan 2005",
    "Macallan DC, Wallace DL, Zhang Y, et al. B-cell kinetics in humans: rapid turnover of "
    "peripheral blood memory cells. Blood 2005;105(9):3633-3640.",
    verified="V-src",
    doi="10.1182/blood-2004-09-3740",
    note="Abstract read: blood B cells of young adults divide at 1.9 (SD 1.0) %/day; naive "
    "0.46 %/day, memory 2.66 %/day (deuterium-glucose labelling).",
)
B_COUNTS = Citation(
    "B-cell reference ranges",
    "Reference ranges of blood CD19+ B cells (e.g. Comans-Bitter WM et al. J Pediatr "
    "1997;130:388-393 for children; adult laboratory ranges).",
    verified="UNVERIFIED",
    note="Recalled: adults about 100-500 cells/uL; school-age children higher "
    "(about 200-600 cells/uL). Not read in the sources during this work.",
)
SLE_PLASMABLASTS = Citation(
    "SLE plasmablasts",
    "Odendahl M, Jacobi A, Hansen A, et al. Disturbed peripheral B lymphocyte homeostasis in "
    "systemic lupus erythematosus. J Immunol 2000;165:5970-5979; Jacobi AM et al. Arthritis "
    "Rheum 2003;48:1332-1342.",
    verified="UNVERIFIED",
    note="Recalled: circulating CD27high plasmablasts are expanded in active SLE and their "
    "number correlates with SLEDAI; they are short-lived (days). Values not read.",
)
LLPC_AUTOIMMUNITY = Citation(
    "Hiepe 2011",
    "Hiepe F, Doerner T, Hauser AE, et al. Long-lived autoreactive plasma cells drive persistent "
    "autoimmune inflammation. Nat Rev Rheumatol 2011;7:170-178.",
    verified="UNVERIFIED",
    note="Recalled: CD19-negative long-lived plasma cells survive B-cell depletion and "
    "immunosuppression and keep secreting (auto)antibody; protective antibody titres last "
    "years to decades (Amanna IJ et al. N Engl J Med 2007;357:1903-1915).",
)
BHOJ2016 = Citation(
    "Bhoj 2016",
    "Bhoj VG, Arhontoulis D, Wertheim G, et al. Persistence of long-lived plasma cells and "
    "humoral immunity in individuals responding to CD19-directed CAR T-cell therapy. Blood "
    "2016;128(3):360-370.",
    verified="V-src",
    doi="10.1182/blood-2016-01-694356",
    note="Key points read: a CD19-negative plasma-cell population survives long term "
    "independently of B cells, and pre-existing vaccine titres persist despite B-cell aplasia "
    "after CTL019. Used qualitatively: anti-dsDNA, which seroconverts after CD19 CAR-T "
    "(Mackensen 2022), must come mostly from CD19+ plasmablasts.",
)
IMMUNE_COMPLEX_BCR_TLR = Citation(
    "Leadbetter 2002",
    "Leadbetter EA, Rifkin IR, Hohlbaum AM, et al. Chromatin-IgG complexes activate B cells by "
    "dual engagement of IgM and Toll-like receptors. Nature 2002;416:603-607.",
    verified="UNVERIFIED",
    note="Mechanism only (recalled): autoantibody-chromatin immune complexes activate "
    "autoreactive B cells through BCR + TLR9, a positive feedback loop from autoantibody to "
    "B-cell activation. The Hill form and its numbers are nksim assumptions.",
)

CHAN1999 = Citation(
    "Chan 1999",
    "Chan OTM, Hannum LG, Haberman AM, Madaio MP, Shlomchik MJ. A novel mouse with B cells but "
    "lacking serum antibody reveals an antibody-independent role for B cells in murine lupus. "
    "J Exp Med 1999;189(10):1639-1648.",
    verified="V-src",
    doi="10.1084/jem.189.10.1639",
    note="Abstract read (PMC2193634): MRL/lpr mice whose B cells carry surface Ig but cannot "
    "secrete antibody still develop nephritis with cellular infiltrates; B cells act "
    "independently of serum autoantibody, as antigen-presenting cells for autoreactive T "
    "cells or directly in local inflammation. Mouse data; the size of this share in human "
    "SLE is not known (nksim calibrates it, docs/calibration.md).",
)


# ---------------------------------------------------------------- antibody, complement
IGG_HALF_LIFE = Citation(
    "Andersen & Sandlie 2009",
    "Andersen JT, Sandlie I. The versatile MHC class I-related FcRn protects IgG and albumin "
    "from degradation. Drug Metab Pharmacokinet 2009;24(4):318-332.",
    verified="V-src",
    doi="10.2133/dmpk.24.318",
    note="Abstract read: IgG half-life approximately 19-23 days (FcRn recycling) in normal "
    "subjects. The SLE model's anti-dsDNA clearance starts from it and applies the IgG "
    "hypercatabolism measured in SLE (IGG_HYPERCATABOLISM_SLE, Wochner 1970): 9.6 days.",
)
IGG_HYPERCATABOLISM_SLE = Citation(
    "SLE IgG turnover (8.2 d)",
    "IgG and IgM metabolism in 10 patients with SLE, 10 with rheumatoid arthritis and 7 normal "
    "volunteers (131I-IgG, 125I-IgM; blood, urine and whole-body counting). Abstract read at "
    "https://yyws.alljournals.cn/view_abstract.aspx?aid=2BE1004C2AB978189C58B20D572DF1EF "
    "(authors and journal not shown there; recalled as Levy J, Barnett EV, et al., J Clin "
    "Invest 1970 [UNVERIFIED attribution]).",
    verified="V-src",
    note="Abstract read: mean IgG survival half-life 8.2 days in SLE against 18 days in the "
    "normal controls; 10.1 % against 3.9 % of total body IgG catabolised per day; IgM turnover "
    "normal in SLE. Used for the anti-dsDNA clearance d_AB: the model's normal IgG half-life "
    "(21 d, Andersen & Sandlie 2009) times the study's SLE/control ratio 8.2/18 = 9.6 d. "
    "Direction confirmed by Wochner 1970 (16 SLE patients, V-src abstract: IgG hypercatabolism, "
    "a host defect). Assumptions: anti-dsDNA IgG shares the accelerated catabolism of normal "
    "IgG (immune-complex clearance would make it faster still), and it persists after CAR-T "
    "(neither study followed patients into remission). Range 8.2-21 days.",
)
WOCHNER1970 = Citation(
    "Wochner 1970",
    "Wochner RD, et al. Hypercatabolism of normal IgG; an unexplained immunoglobulin "
    "abnormality in the connective tissue diseases. J Clin Invest 1970;49(3):454-464.",
    verified="V-src",
    doi="10.1172/JCI106254",
    note="Abstract read (PubMed 5415673): radioiodinated IgG in 42 patients with connective "
    "tissue diseases, 16 with SLE: fractional catabolic rates increased and survival "
    "half-lives shortened in all diagnostic categories, masked by increased synthesis; the "
    "same with the patient's own or a normal donor's IgG (a host defect); not explained by "
    "corticosteroids and not seen in 15 patients with other chronic inflammatory diseases. "
    "No half-life values in the abstract.",
)
C3_TURNOVER = Citation(
    "Petz 1968 (C3 turnover)",
    "Petz LD, Fink DJ, Letsky EA, Fudenberg HH, Mueller-Eberhard HJ. In vivo metabolism of "
    "125I-labelled C'3 in normal subjects and in acquired hemolytic anemias (title "
    "paraphrased). J Clin Invest 1968;47(11):2469-2484.",
    verified="V-src",
    doi="10.1172/JCI105929",
    note="Abstract read: normal subjects, fractional catabolic rate of C3 2.12 %/h (range "
    "1.56-2.68), serum C3 1.43 mg/mL (range 1.00-1.87). Alper & Rosen 1967 (J Clin Invest "
    "46:2021) report 2.3 (SD 1.0) %/h and increased catabolism in some SLE patients.",
)
C3_SYNTHESIS_SLE = Citation(
    "Sliwinski 1972",
    "Sliwinski AJ, Zvaifler NJ. Decreased synthesis of the third component of complement (C3) "
    "in hypocomplementemic systemic lupus erythematosus. Clin Exp Immunol 1972;11(1):21-29.",
    verified="V-src",
    note="Abstract read: in 5 of 6 hypocomplementemic SLE patients the main determinant of low "
    "C3 was decreased synthesis, not only increased catabolism (a limitation of the "
    "consumption-only C3 model).",
)

# ---------------------------------------------------------------- glucocorticoids
GC_PK = Citation(
    "Glucocorticoid pharmacology (textbook)",
    "'Glucocorticoid therapy' chapter (oncohemakey.com reproduction of an endocrinology "
    "textbook), citing Axelrod L. Glucocorticoid therapy. Medicine 1976;55:39-65.",
    verified="V-src",
    note="Read: plasma half-life of prednisolone 2.1-3.5 h, prednisone 3.4-3.8 h; little "
    "correlation between plasma half-life and potency; prednisone/prednisolone are "
    "'intermediate-acting' by the duration of ACTH suppression (biological half-life commonly "
    "given as 12-36 h; that range read on a teaching page, not in the chapter).",
)
BUTTGEREIT2002 = Citation(
    "Buttgereit 2002",
    "Buttgereit F, da Silva JAP, Boers M, et al. Standardised nomenclature for glucocorticoid "
    "dosages and glucocorticoid treatment regimens: current questions and tentative answers in "
    "rheumatology. Ann Rheum Dis 2002;61:718-722.",
    verified="UNVERIFIED",
    doi="10.1136/ard.61.8.718",
    note="Recalled, not read: low dose <= 7.5 mg/day prednisone equivalent gives < 50 % "
    "glucocorticoid-receptor saturation; 30-100 mg/day almost complete saturation. nksim "
    "uses it for a half-maximal effect near 7.5 mg/day in a 70-kg adult (0.1 mg/kg/day).",
)


def assumption(key: str, text: str, note: str) -> Citation:
    """An nksim assumption with its reason and plausible range (``note``)."""
    return Citation(key, text, verified="assumption", note=note)


SEVERITY_MAPPING = assumption(
    "nksim SLEDAI severity mapping",
    "k_auto is set per patient from the baseline SLEDAI-2K by severity_for_sledai(), so that the "
    "untreated (or background-steroid) steady state has that score.",
    "Default value: the steady state with SLEDAI-2K 16, the median baseline of Mackensen 2022.",
)
SLEDAI_SURROGATE = assumption(
    "nksim SLEDAI-2K surrogate",
    "SLEDAI-2K from model states: clinical points = floor(INF) (one INF unit per clinical "
    "point), + 2 if anti-dsDNA >= 30 IU/mL, + 2 if C3 < 90 mg/dL.",
    "Organ descriptors are not resolved; the clinical part is one graded index. Thresholds: "
    "anti-dsDNA positivity as in Furie 2009 (assay-specific, 10-30 IU/mL in common kits); C3 "
    "lower limit of normal 90 mg/dL (assay-specific, 80-90).",
)
PGA_SURROGATE = assumption(
    "nksim PGA surrogate",
    "Physician global assessment (0-3) = 3 INF / (INF + 7).",
    "Anchored on BLISS-52/76 baseline (mean SELENA-SLEDAI 9.7, mean PGA 1.4; read in the "
    "published baseline table): INF 6.5 (SLEDAI ~10 with serology) gives PGA 1.44. PGA < 0.5 "
    "needs INF < 1.4, so with this map the DORIS PGA criterion is implied by clinical SLEDAI "
    "= 0. PGA and SLEDAI correlate at r ~0.7, so any monotone map is a simplification.",
)


# ---------------------------------------------------------------- issue 10 anchors
CORTICOLUP = Citation(
    "CORTICOLUP (Mathian 2020)",
    "Mathian A, Pha M, Haroche J, et al. Withdrawal of low-dose prednisone in SLE patients with "
    "a clinically quiescent disease for more than 1 year: a randomised clinical trial. Ann Rheum "
    "Dis 2020;79:339-346.",
    verified="UNVERIFIED",
    doi="10.1136/annrheumdis-2019-216303",
    note="Numbers as given in nksim issue 10 (not re-read in the source here): stopping 5 mg/day "
    "prednisone in quiescent SLE -> flare within 52 weeks in 17/63 vs 4/61 continuing "
    "(27 % vs 6.6 %). Inclusion (clinical SLEDAI-2K quiescent, 5 mg/day for >= 1 year) as "
    "recalled.",
)
LLDAS2016 = Citation(
    "LLDAS (Franklyn 2016)",
    "Franklyn K, Lau CS, Navarra SV, et al. Definition and initial validation of a Lupus Low "
    "Disease Activity State (LLDAS). Ann Rheum Dis 2016;75:1615-1621.",
    verified="UNVERIFIED",
    doi="10.1136/annrheumdis-2015-207726",
    note="Definition as recalled: SLEDAI-2K <= 4 with no activity in major organ systems "
    "(renal, CNS, cardiopulmonary, vasculitis, fever) and no haemolytic anaemia or "
    "gastrointestinal activity; no new lupus activity since the previous assessment; "
    "physician global assessment <= 1 (0-3); prednisolone <= 7.5 mg/day; standard maintenance "
    "immunosuppressants and approved biologics allowed.",
)
RITUXIMAB_REPOPULATION = Citation(
    "Rituximab B-cell repopulation in SLE",
    "B-cell repopulation after rituximab in SLE: median about 6 months (e.g. Vital EM et al. "
    "Arthritis Rheum 2011;63:3038-3047; Anolik JH et al. Arthritis Rheum 2004;50:3580-3590), "
    "repopulating cells mostly transitional and naive.",
    verified="UNVERIFIED",
    note="Median ~6 months as stated in nksim issue 10; the transitional-first phenotype of "
    "the returning cells after rituximab and after CD19 CAR-T (Mackensen 2022 [V-src]: "
    "naive, non-class-switched) is consistent.",
)
B_LYMPHOPOIESIS = assumption(
    "nksim marrow B-lymphopoiesis stages",
    "CD19-negative lymphoid progenitors (not depleted) feed CD19+ pro/pre-B cells in the "
    "marrow (mean residence 1/k_pre), which leave as transitional B cells (mean 1/k_tr) and "
    "mature into naive B cells in blood. Mean marrow residence 21 days (range 10-42), "
    "transitional stage 10 days (range 3-21): after a complete CD19 depletion blood B cells "
    "stay below 10 cells/uL for ~3 weeks (23 days) after killing stops (4 days without the "
    "stages), transitional cells first. Consistency check, not a fit: with rituximab "
    "depleting while it persists (~4-5 months after 2 x 1000 mg, recalled, UNVERIFIED) "
    "this lag gives repopulation at ~5-6 months, the median reported in SLE.",
    "Human marrow pro-B -> immature B takes weeks (recalled, UNVERIFIED); the precursor pool "
    "size follows from s_B/k_pre at steady state.",
)
FLARE_TRIGGERS = assumption(
    "nksim flare triggers",
    "Extrinsic flare triggers (infection, UV light, hormonal change, missed doses) arrive as "
    "a Poisson process (rate flare_trigger_rate per year) with exponentially distributed "
    "size (mean flare_trigger_mean_points clinical SLEDAI points); each is dosed into FLT "
    "(decay d_FLT) and becomes tissue inflammation only where autoreactive B-lineage cells "
    "are active (PB/(PB + K_FLT): triggers such as TLR7/9 ligands of infection or UV-induced "
    "apoptotic debris act through autoreactive B cells; plasmablast bursts accompany SLE "
    "flares, Odendahl 2000 / Jacobi 2003 [UNVERIFIED]), masked by glucocorticoid like all "
    "inflammation (1 - Emax_INF gc_effect).",
    "Rate (4 per year), mean size (2 FLT units) and decay (d_FLT 0.05/day) calibrated to "
    "CORTICOLUP (17/63 vs 4/61 flares in 52 weeks; virtual 25 % vs 5 %; docs/calibration.md "
    "§11); ranges 1-10 per year, 1-4 units, 0.02-0.2/day. K_FLT = 3 cells/uL "
    "(range 1-10): patients without autoreactive plasmablasts (after CD19 CAR-T) rarely "
    "flare.",
)
