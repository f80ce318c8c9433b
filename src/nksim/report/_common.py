"""Small helpers shared by the reports: figures to PNG, JSON that tolerates NaN, versions."""

from __future__ import annotations

import base64
import io
import json
import math
import platform
from importlib import metadata
from typing import Any

RESEARCH_ONLY = (
    "Research use only. nksim simulates virtual patients; it does not advise real patients, "
    "and its outputs are not medical advice."
)


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI for embedding in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _clean(value.item())
    return value


def to_json(payload: Any) -> str:
    """JSON text with NaN and infinities written as ``null``."""
    return json.dumps(_clean(payload), indent=2, ensure_ascii=False, allow_nan=False)


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape numerical results."""
    out = {"python": platform.python_version()}
    for name in ("nksim", "numpy", "scipy", "numba", "sympy", "pandas", "xarray", "pint"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
