"""The tables of a trial report, computed from the trial's own records: the CONSORT-style
flow (from the screening log and the arms' patient tables), Table 1 (baseline
characteristics by arm) and the endpoint and comparison tables (from ``summary.json``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from nksim.report._labels import (
    COVARIATES,
    CRITERIA,
    MEASURES,
    PERCENT_MEASURES,
    STATUS,
    label,
)
from nksim.report._render import arm_colour, fmt_number, fmt_percent

ID_COLUMNS = ("candidate", "population", "patient")
SEX_WORDS = {"F": "female", "M": "male"}
APPLIED_LAST = ("model_baseline",)  # checked by the runner after the eligibility rules


def _criteria(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


def declared_rules(result) -> list:
    """The trial's eligibility rules (Criterion objects), in the order screening applies
    them."""
    from nksim.report._panels import setting_of

    rules = setting_of(result).criteria(result.scenario)
    return list(rules.rules() if hasattr(rules, "rules") else rules)


def criterion_labels(rules) -> dict[str, str]:
    """Why a candidate was excluded, per rule: the report's words, else the rule's own
    description ("not measurable tumour")."""
    out = {r.name: f"not {r.description}" for r in rules}
    return {**out, **CRITERIA}


def _rule_order(lists: list[list[str]], declared: list[str]) -> list[str]:
    """Rule names in the order the screening applied them: the declared order; names not
    declared (added by the runner) after them, in the order of the log's rows (each row
    lists its failed rules in order: a topological sort, ties by first appearance)."""
    seen = [n for n in dict.fromkeys(n for c in lists for n in c) if n not in declared]
    last = [n for n in seen if n in APPLIED_LAST]
    seen = [n for n in seen if n not in APPLIED_LAST]
    before: dict[str, set[str]] = {n: set() for n in seen}
    for c in lists:
        for a, b in zip(c, c[1:], strict=False):
            if a in before and b in before:
                before[b].add(a)
    order: list[str] = []
    while len(order) < len(seen):
        ready = [n for n in seen if n not in order and before[n] <= set(order)]
        order.append(ready[0] if ready else next(n for n in seen if n not in order))
    return [n for n in declared if any(n in c for c in lists)] + order + last


def consort_flow(result) -> dict[str, Any]:
    """Counts of the flow screened -> excluded -> allocated -> manufactured -> infused ->
    analysed.

    Each excluded candidate is counted once, under the first rule it fails (rules in
    the order the screening applied them, as listed in the log); ``failing_any`` counts
    every rule a candidate fails and ``overlaps`` the candidates failing more than one.
    """
    log = result.screening_log
    eligible = log["eligible"].astype(bool).to_numpy()
    lists = [_criteria(x) for x in log["failed_criteria"]]
    excluded = [c for c, ok in zip(lists, eligible, strict=True) if not ok]
    first = Counter(c[0] if c else "unspecified" for c in excluded)
    any_ = Counter(name for c in excluded for name in dict.fromkeys(c))
    rules = declared_rules(result)
    words = criterion_labels(rules)
    order = _rule_order(excluded, [r.name for r in rules])
    allocated_ids: set = set()
    arms = []
    for i, arm in enumerate(result.arms):
        p = arm.patients
        allocated_ids.update(p["candidate"].tolist() if "candidate" in p else [])
        has_product = getattr(arm.spec, "product", "none") != "none"
        n = len(p)
        if n == 0:
            arms.append({"name": arm.name, "colour": arm_colour(i), "allocated": 0,
                         "product": has_product, "manufactured": 0, "manufacturing_failed": 0,
                         "infused": 0, "analysed": 0, "not_analysed": {}})
            continue
        failed = int(p["manufacturing_failed"].astype(bool).sum())
        status = p["status"].astype(str)
        arms.append({
            "name": arm.name, "colour": arm_colour(i), "allocated": n, "product": has_product,
            "manufactured": n - failed if has_product else 0,
            "manufacturing_failed": failed,
            "infused": int(p["infused"].astype(bool).sum()),
            "analysed": int(status.eq("ok").sum()),
            "not_analysed": {STATUS.get(s, s): int(k)
                             for s, k in status[status.ne("ok")].value_counts().items()},
        })
    n_eligible = int(eligible.sum())
    return {
        "screened": int(len(log)),
        "excluded": int((~eligible).sum()),
        "excluded_by_first": [{"criterion": c, "label": words.get(c) or label(c), "n": first[c]}
                              for c in order if first[c]]
        + ([{"criterion": "unspecified", "label": "reason not recorded",
             "n": first["unspecified"]}] if first["unspecified"] else []),
        "failing_any": [{"criterion": c, "label": words.get(c) or label(c), "n": any_[c]}
                        for c in order],
        "overlaps": int(sum(len(set(c)) > 1 for c in excluded)),
        "eligible": n_eligible,
        "allocated": len(allocated_ids),
        "not_allocated": n_eligible - len(allocated_ids),
        "arms": arms,
    }


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy without ``attrs`` (the runner keeps per-patient arrays there, which
    ``pandas.concat`` cannot compare)."""
    frame = frame.copy()
    frame.attrs = {}
    return frame


def all_patients(result) -> pd.DataFrame:
    """Every allocated patient once (one row per candidate, also in paired designs)."""
    frames = [plain(a.patients) for a in result.arms if len(a.patients)]
    if not frames:
        return pd.DataFrame()
    every = pd.concat(frames, ignore_index=True)
    return every.drop_duplicates("candidate") if "candidate" in every else every


def baseline_columns(result) -> list[str]:
    """Baseline characteristics: the candidates' covariates (and any other covariate
    with a label) present in every arm's patient table, ids excluded."""
    tables = [a.patients for a in result.arms if len(a.patients)]
    if not tables:
        return []
    candidates = [c for c in result.candidates.columns if c not in ID_COLUMNS]
    extra = [c for c in COVARIATES if c not in candidates]
    return [c for c in [*candidates, *extra] if all(c in t.columns for t in tables)]


def _numeric_summary(values: pd.Series) -> dict[str, Any]:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return {"median": None, "q1": None, "q3": None, "n": 0, "text": "–"}
    med, q1, q3 = (float(v.quantile(q)) for q in (0.5, 0.25, 0.75))
    return {"median": med, "q1": q1, "q3": q3, "n": int(v.size),
            "text": f"{fmt_number(med)} [{fmt_number(q1)} to {fmt_number(q3)}]"}


def _count_summary(values: pd.Series, level: Any) -> dict[str, Any]:
    v = values.dropna()
    k, n = int((v == level).sum()), int(v.size)
    return {"k": k, "n": n, "text": f"{k} ({fmt_percent(k / n) if n else '–'})"}


def baseline_table(result) -> list[dict[str, Any]]:
    """Table 1 rows: continuous covariates as median [interquartile range] (pandas
    quantiles, linear interpolation), categorical ones as n (%) per level; one cell per
    arm and one for all allocated patients."""
    arms = [a for a in result.arms]
    frames = {a.name: a.patients for a in arms}
    every = all_patients(result)
    rows = []
    for col in baseline_columns(result):
        name, unit = COVARIATES.get(col, (label(col), None))
        numeric = pd.api.types.is_numeric_dtype(every[col]) and not pd.api.types.is_bool_dtype(
            every[col])
        if numeric:
            cells = {a: _numeric_summary(f[col]) if len(f) else _numeric_summary(f.get(col, []))
                     for a, f in frames.items()}
            rows.append({"column": col, "label": name, "unit": unit,
                         "kind": "median [IQR]", "cells": cells,
                         "all": _numeric_summary(every[col])})
            continue
        levels = sorted(every[col].dropna().unique(), key=str)
        if col == "sex":
            levels = [x for x in ("F", "M") if x in levels] + [x for x in levels
                                                               if x not in ("F", "M")]
        for level in levels:
            words = SEX_WORDS.get(level, str(level)) if col == "sex" else str(level)
            lab = f"Sex: {words}" if col == "sex" else f"{name}: {words}"
            rows.append({"column": col, "level": level, "label": lab, "unit": None,
                         "kind": "n (%)",
                         "cells": {a: _count_summary(f[col], level) if len(f)
                                   else {"k": 0, "n": 0, "text": "–"}
                                   for a, f in frames.items()},
                         "all": _count_summary(every[col], level)})
    return rows


def is_proportion(key: str, endpoint: dict[str, Any], kind: str | None = None) -> bool:
    """A proportion endpoint: declared binary, or with a proportion interval method."""
    if kind is not None:
        return kind == "binary"
    method = str(endpoint.get("method", "")).lower()
    return key.endswith("_rate") or any(m in method for m in ("clopper", "wilson", "jeffreys"))


def endpoint_cell(key: str, endpoint: dict[str, Any], kind: str | None = None
                  ) -> dict[str, Any]:
    """Estimate with its 95 % CI and the number of patients it rests on."""
    n = endpoint.get("n")
    value = endpoint.get("value")
    note = endpoint.get("note") or ""
    if value is None:
        return {"estimate": "not estimable", "ci": note or "–", "n": n if n is not None else 0}
    lo, hi = endpoint.get("ci_low"), endpoint.get("ci_high")
    k = endpoint.get("k")
    if is_proportion(key, endpoint, kind):
        est = fmt_percent(value) + (f" ({k}/{n})" if k is not None and n is not None else "")
        fmt = fmt_percent
    else:
        est = fmt_number(value)
        if "kaplan" in str(endpoint.get("method", "")).lower() and k is not None:
            est += f" ({k} of {n} with the event)"
        fmt = fmt_number
    if lo is None and hi is None:
        ci = note or "–"
    else:
        ci = interval_text(lo, hi, note, fmt, missing="not reached")
    return {"estimate": est, "ci": ci, "n": n if n is not None else "–"}


def endpoint_table(summary: dict[str, Any], labels: dict[str, str],
                   kinds: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per endpoint (in the order of the first arm that reports it); ``labels``
    and ``kinds`` (``"binary"``, ``"time_to_event"``, ...) by endpoint name."""
    kinds = kinds or {}
    arms = summary["arms"]
    keys = list(dict.fromkeys(k for a in arms.values() for k in a.get("endpoints", {})))
    missing = {"value": None, "note": "not reported"}
    return [{"key": k, "label": labels.get(k) or label(k),
             "cells": {a: endpoint_cell(k, arms[a]["endpoints"].get(k, missing), kinds.get(k))
                       for a in arms}}
            for k in keys]


def multiplicity_note(comparisons: list[dict[str, Any]] | None) -> str:
    """What several unadjusted p values mean ("" for fewer than two)."""
    n = sum(c.get("p_value") is not None for c in comparisons or [])
    if n < 2:
        return ""
    return (f"{n} p values, each for its own comparison and not adjusted for multiple "
            "comparisons: if no arm differed, about one in twenty of them (here "
            f"{0.05 * n:.1f} of the {n}) would fall below 0.05 by chance alone. Read them as "
            "exploratory.")


def interval_text(low: float | None, high: float | None, note: str | None,
                  fmt: Callable[[float], str], missing: str = "–") -> str:
    """"LOW to HIGH"; a missing limit reads as ``note`` says of it (summary.json's
    convention: "lower (upper) limit unbounded" or "... not estimable"), else ``missing``."""
    def limit(x, side):
        if x is not None:
            return fmt(x)
        said = next((w for w in ("unbounded", "not estimable")
                     if f"{side} limit {w}" in (note or "")), None)
        return said or missing
    return f"{limit(low, 'lower')} to {limit(high, 'upper')}"


def comparison_table(summary: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The between-arm comparisons of ``summary.json``: ``value`` is arm A minus arm B
    (or A over B for ratios); differences in proportions in percentage points."""
    rows = []
    for c in summary.get("comparisons") or []:
        measure = str(c["measure"])
        percent = measure in PERCENT_MEASURES

        def f(x, percent=percent):
            if x is None:
                return "–"
            if not percent:
                return fmt_number(x)
            return "0" if round(100 * x) == 0 else f"{100 * x:+.0f}".replace("-", "−")

        value = c.get("value")
        lo, hi = c.get("ci_low"), c.get("ci_high")
        unbounded = any(f"{side} limit unbounded" in (c.get("note") or "")
                        for side in ("lower", "upper"))
        rows.append({
            "endpoint": labels.get(c["endpoint"]) or label(c["endpoint"]),
            "arms": f"{c['arm_a']} versus {c['arm_b']}",
            "measure": MEASURES.get(measure, label(measure)),
            "value": f(value) if value is not None else "not estimable",
            "ci": (interval_text(lo, hi, c.get("note"), f)
                   if lo is not None or hi is not None or unbounded
                   else (c.get("note") or "–")),
            "n": f"{c['n_a']} and {c['n_b']}" if "n_a" in c else "–",
            "p": "–" if c.get("p_value") is None else (
                "< 0.001" if c["p_value"] < 0.001 else f"{c['p_value']:.3f}"),
            "method": c.get("method", "") + (
                f" ({c['note']})" if c.get("note") and (lo is not None or hi is not None)
                else ""),  # e.g. the zero-cell correction, or why a limit is unbounded
        })
    return rows


def status_counts(result) -> dict[str, dict[str, int]]:
    """Per arm: how many patients ended with each solver status."""
    out = {}
    for arm in result.arms:
        if len(arm.patients) and "status" in arm.patients:
            out[arm.name] = {str(k): int(v) for k, v in
                             arm.patients["status"].value_counts().items()}
        else:
            out[arm.name] = {}
    return out


def finite(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]
