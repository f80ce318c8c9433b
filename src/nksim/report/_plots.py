"""Figure conventions shared by the reports: readable log axes, a detection limit below
which nothing is drawn, treatment events on the time axis, a legend on every figure."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend, with text drawn as written:
    a name holding ``$`` (an arm ``"cost $500"``, a registry value) is not read as maths
    markup, which garbled it or failed with a traceback."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def tick_label(value: float, _pos: object = None) -> str:
    """A log-axis tick in plain words: 0.01, 0.1, 1, 10, 100, 1,000, 10,000, then 10⁵..."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exp = round(math.log10(value))
    if not math.isclose(value, 10.0**exp, rel_tol=1e-9):
        return ""
    if -2 <= exp <= 4:
        return f"{value:,.{max(-exp, 0)}f}"
    return "10" + str(exp).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def readable_log_axis(ax, floor: float | None = None) -> None:
    """Log scale on y with ticks at every decade written as plain numbers; the axis
    starts at ``floor`` (e.g. the detection limit) when given."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=12))
    ax.yaxis.set_major_formatter(FuncFormatter(tick_label))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if floor is not None:
        lo, hi = ax.get_ylim()
        ax.set_ylim(floor / 1.5, max(hi, floor * 10))


def above_limit(values: np.ndarray, limit: float | None) -> np.ndarray:
    """``values`` with everything below ``limit`` (and non-finite) as NaN: not drawn."""
    values = np.asarray(values, dtype=float)
    if limit is None:
        return np.where(np.isfinite(values), values, np.nan)
    return np.where(np.isfinite(values) & (values >= limit), values, np.nan)


BLOCK_VALUES = 1 << 24  # values per block of columns (128 MB of float64)


def column_blocks(values: np.ndarray, block: int | None = None):
    """``values`` (patients x times) as blocks of whole columns of about ``block``
    values each, so that a streamed trial's disk-backed panel values (:mod:`nksim.report.trial`)
    are never all in memory; every per-time statistic is the same computed block by block."""
    step = max(1, (BLOCK_VALUES if block is None else block) // max(1, values.shape[0]))
    for j in range(0, values.shape[1], step):
        yield values[:, j:j + step]


def nanmax_blocks(values: np.ndarray) -> float:
    """``np.nanmax`` of a patients x times array, block by block (NaN when all are NaN)."""
    peak = np.nan
    for b in column_blocks(values):
        if b.size:
            peak = np.fmax(peak, np.fmax.reduce(b, axis=None))
    return float(peak)


def percentile_band(values: np.ndarray, limit: float | None,
                    q: Sequence[float] = (10, 50, 90)) -> tuple[np.ndarray, ...]:
    """Percentiles over patients (axis 0) of the true values, each then cut at ``limit``.

    Percentiles are taken before cutting (cutting first would bias the median upwards);
    a band whose lower edge is below the limit is drawn from the limit.
    """
    values = np.asarray(values, dtype=float)
    parts = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        for b in column_blocks(values):
            parts.append(np.nanpercentile(np.where(np.isfinite(b), b, np.nan), q, axis=0))
    lo, mid, hi = np.concatenate(parts, axis=1) if parts else np.full((len(q), 0), np.nan)
    if limit is not None:
        visible = hi >= limit
        lo = np.where(visible, np.maximum(lo, limit), np.nan)
        hi = np.where(visible, hi, np.nan)
        mid = above_limit(mid, limit)
    return lo, mid, hi


@dataclass(frozen=True)
class TimeEvents:
    """Treatment events of one arm on the time axis (days)."""

    arm: str
    colour: str
    infusions: tuple[float, ...] = ()
    lymphodepletion: tuple[float, float] | None = None  # [first day, last day + 1)
    other: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (what, days): other doses


def mark_events(ax, events: Sequence[TimeEvents]) -> None:
    """Infusions (filled triangles) and other doses (open markers) under the curves, one
    row per arm and kind of dose, in the arm's colour; lymphodepletion as a hatched band;
    each with a legend entry."""
    trans = ax.get_xaxis_transform()
    hatches = ("////", "\\\\\\\\", "xx", "..")
    row = 0
    for k, ev in enumerate(events):
        if ev.lymphodepletion is not None:
            a, b = ev.lymphodepletion
            ax.axvspan(a, b, ymin=0, ymax=1, facecolor="none", edgecolor=ev.colour, lw=0,
                       hatch=hatches[k % len(hatches)], alpha=0.5,
                       label=f"{ev.arm}: lymphodepletion ({_days(np.arange(a, b))})")
        marks = [("infusion", ev.infusions, "^", ev.colour)] if ev.infusions else []
        marks += [(what, days, _OTHER_MARKERS[j % len(_OTHER_MARKERS)], "none")
                  for j, (what, days) in enumerate(ev.other)]
        for what, days, marker, face in marks:
            ax.plot(list(days), [0.03 + 0.045 * row] * len(days), ls="none", marker=marker,
                    ms=6, mfc=face, color=ev.colour, transform=trans, clip_on=False,
                    label=f"{ev.arm}: {what} ({_days(days)})")
            row += 1


_OTHER_MARKERS = ("v", "o", "s", "D")


def _days(days: Sequence[float]) -> str:
    days = list(days)
    if len(days) > 4:
        step = days[1] - days[0]
        if all(abs((b - a) - step) < 1e-9 for a, b in zip(days, days[1:], strict=False)):
            return f"days {days[0]:g} to {days[-1]:g}, every {step:g}"
    return ("day " if len(days) == 1 else "days ") + ", ".join(f"{d:g}" for d in days)


def legend_outside(ax, below: bool = False, **kwargs) -> None:
    """The legend to the right of the axes (or below them), so that it hides no data."""
    if below:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8,
                  frameon=False, **kwargs)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                  **kwargs)
