"""One set of HTML templates for every report (``nksim/report/templates``), the arm
palette shared by all figures, and number formats.

Templates are rendered with :class:`jinja2.StrictUndefined` (a missing value is an
error, never a blank) and autoescaping. ``base.html`` holds the page frame, the
research-use notice and the footer; reports extend it (``{% extends "base.html" %}``)
and fill ``{% block content %}``. ``_macros.html`` has the shared pieces (tables,
figures, the caveats box).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from nksim.report._common import RESEARCH_ONLY, versions

# Okabe & Ito (2008) colour-blind-safe palette, black first dropped. Arm i (in the
# scenario's order) gets ARM_COLOURS[i] in every figure of every report, so "the
# first arm" is always the same vermilion.
ARM_COLOURS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
               "#F0E442", "#000000")
ARM_LINESTYLES = ("-", "--", "-.", ":")
ARM_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def arm_colour(index: int) -> str:
    """The colour of the arm at position ``index`` (0-based) in its scenario."""
    return ARM_COLOURS[index % len(ARM_COLOURS)]


def arm_style(index: int) -> dict[str, Any]:
    """Colour, line style and marker of the arm at ``index``: lines that overlap stay
    distinguishable (a dashed line over a solid one, markers every few points)."""
    return {"color": arm_colour(index), "ls": ARM_LINESTYLES[index % len(ARM_LINESTYLES)],
            "marker": ARM_MARKERS[index % len(ARM_MARKERS)]}


def fmt_number(x: Any, digits: int = 3) -> str:
    """A number for a table: thousands separators, ``digits`` significant figures,
    scientific notation (``1.2 × 10⁹``) outside 10⁻³-10⁶, trailing zeros dropped;
    ``–`` for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    mag = abs(x)
    if mag >= 1e6 or mag < 1e-3:
        exp = math.floor(math.log10(mag))
        mant = f"{x / 10**exp:.{max(digits - 1, 0)}f}"
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant} × 10{_superscript(exp)}".replace("-", "−", 1)
    decimals = max(digits - 1 - math.floor(math.log10(mag)), 0)
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "−")


def fmt_percent(x: Any, decimals: int = 0) -> str:
    """A proportion as a percentage (``0.25`` -> ``25 %``); ``–`` for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{decimals}f} %"


_SUPER = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(n: int) -> str:
    return str(n).translate(_SUPER)


@lru_cache(maxsize=1)
def environment():
    """The jinja2 environment of every report (templates from the package)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("nksim.report", "templates"),
                      undefined=StrictUndefined, autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["pct"] = fmt_percent
    env.globals["arm_colour"] = arm_colour
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with the shared globals: ``notice`` (research use
    only) and ``versions``."""
    context.setdefault("notice", RESEARCH_ONLY)
    context.setdefault("versions", versions())
    return environment().get_template(template).render(**context)


def figures_context(figures: Sequence[tuple[str, str, bytes]]) -> list[dict[str, str]]:
    """``(id, caption, png)`` triples as template items with ``data:`` URIs."""
    from nksim.report._common import data_uri

    return [{"id": i, "caption": c, "src": data_uri(p)} for i, c, p in figures]
