"""``sle_cd19``: lupus with glucocorticoids, composed with lymphodepletion, CD19 CAR-T,
CD19 (or CD19/BCMA dual) CAR-NK and the IL-6/IFN-gamma cytokine model
(``docs/design-sle.md``, issue 10).

CD19 products kill the CD19+ marrow pro/pre-B cells, transitional and naive/memory B cells
and plasmablasts; a dual CD19/BCMA CAR-NK (``carnk_dual = 1``) also kills the CD19-negative,
BCMA+ long-lived plasma cells. Flu/Cy depletes the same CD19+ stages (B-lineage cells are
lymphocytes; plasmablasts divide).
"""

from nksim.disease._sle import sle_model
from nksim.therapy import therapy_components

#: CD19+ states of the lupus model (products' targets, Flu/Cy's B-lineage effect)
CD19_STATES = ("BPRE", "BTR", "B", "PB")

MODEL = sle_model(
    *therapy_components(targets=CD19_STATES, depletes=CD19_STATES, second_targets=("LLPC",)),
    name="sle_cd19",
    title="SLE with glucocorticoids, lymphodepletion, CD19 CAR-T and CD19 (or CD19/BCMA) "
          "CAR-NK",
)
