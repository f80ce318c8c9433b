"""``sle_cd19``: lupus with glucocorticoids, composed with lymphodepletion, CD19 CAR-T,
CD19 CAR-NK and the IL-6/IFN-gamma cytokine model (``docs/design-sle.md``)."""

from nksim.disease._sle import sle_model
from nksim.therapy import therapy_components

MODEL = sle_model(
    *therapy_components(),
    name="sle_cd19",
    title="SLE with glucocorticoids, lymphodepletion, CD19 CAR-T and CD19 CAR-NK",
)
