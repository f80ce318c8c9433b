"""Each arm's regimen in words (product, dose per kg or m² with the absolute range over
the arm's infused patients, infusions, lymphodepletion, steroid plan) and its treatment
events for the time axis of the figures."""

from __future__ import annotations

from typing import Any

from nksim.report._labels import PRODUCTS
from nksim.report._plots import TimeEvents
from nksim.report._render import arm_colour, fmt_number


def _magnitude(value: Any, unit: str) -> float:
    """A scenario quantity (number, ``"1e6 cell/kg"`` or pint quantity) in ``unit``."""
    if isinstance(value, int | float):
        return float(value)
    from nksim.units import to_magnitude

    return float(to_magnitude(value, unit))


def _days(values: list[float]) -> str:
    return ", ".join(f"{d:g}" for d in values).replace("-", "−")


def infusion_days(spec) -> list[float]:
    """Days of the product infusions (day 0 = first infusion)."""
    if getattr(spec, "product", "none") == "none":
        return []
    n = int(getattr(spec, "infusions", 1) or 1)
    interval = getattr(spec, "interval_days", None) or 0.0
    return [k * float(interval) for k in range(n)]


def lymphodepletion_days(spec) -> list[float]:
    ld = getattr(spec, "lymphodepletion", None)
    if not ld:
        return []
    return [float(ld.first_day) + k for k in range(int(ld.days))]


def _per_day(value: Any, days: int) -> list[float]:
    if isinstance(value, list | tuple):
        return [float(v) for v in value]
    return [float(value)] * days


def _dose_words(spec, patients) -> tuple[str, str]:
    """(dose as prescribed, absolute cells per infusion over the infused patients)."""
    infused = patients[patients["infused"].astype(bool)] if len(patients) else patients
    for attr, unit, column, words in (("dose_per_kg", "cell/kg", "weight_kg", "kg"),
                                      ("dose_per_m2", "cell/m^2", "bsa_m2", "m²")):
        value = getattr(spec, attr, None)
        if value is None:
            continue
        per = _magnitude(value, unit)
        basis = "body weight" if words == "kg" else "body-surface area"
        prescribed = f"{fmt_number(per)} cells per {words} {basis} per infusion"
        if len(infused) and column in infused:
            cells = per * infused[column].to_numpy(float)
            absolute = (f"{fmt_number(cells.min())} to {fmt_number(cells.max())} cells per "
                        f"infusion over the {len(infused)} infused patients "
                        f"({fmt_number(infused[column].min())} to "
                        f"{fmt_number(infused[column].max())} {words})")
        else:
            absolute = "no patient infused"
        return prescribed, absolute
    flat = getattr(spec, "dose", None)
    if flat is not None:
        cells = _magnitude(flat, "cell")
        return f"{fmt_number(cells)} cells per infusion (flat dose)", "the same for every patient"
    return "–", "–"


def _steroid_words(spec, scenario, ld_days: list[float]) -> str:
    s = getattr(spec, "steroids", None)
    soc = getattr(scenario, "standard_of_care", None)
    if s is None:
        return "no steroid plan given"
    cap = getattr(soc, "max_prednisone_mg_per_day", None)
    capped = f" (at most {fmt_number(cap)} mg/day)" if cap is not None else ""
    if s.after == "continue" or getattr(spec, "product", "none") == "none":
        return ("standard-of-care prednisone continued unchanged"
                + (f": {fmt_number(soc.prednisone_mg_per_kg_per_day)} mg/kg/day{capped}"
                   if soc is not None else ""))
    if s.after == "stop":
        when = f"day {_days([ld_days[0]])} (start of lymphodepletion)" if ld_days else "day 0"
        return f"all glucocorticoids stopped on {when}"
    return (f"prednisone {fmt_number(s.maintenance_mg_per_kg_per_day)} mg/kg/day{capped} "
            f"from day 0 for {fmt_number(s.hold_weeks)} weeks, then tapered to zero over "
            f"{fmt_number(s.taper_weeks)} weeks")


def _value_words(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value_words(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return fmt_number(value)
    return str(value).replace("_", " ")


_UNIT_SUFFIXES = (("_mg_m2", " (mg/m²)"), ("_mg_kg", " (mg/kg)"), ("_mg", " (mg)"),
                  ("_days", " (days)"), ("_day", " (day)"), ("_iu", " (IU)"))


def _key_words(key: str) -> str:
    for suffix, words in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)].replace("_", " ") + words
    return key.replace("_", " ")


def _other_words(spec, model=None) -> str:
    """The setting-specific regimen (``[arms.regimen]``) and the arm's own parameter
    values (``[arms.parameters]``), in words; empty when there are none."""
    parts = [f"{_key_words(k)}: {_value_words(v)}"
             for k, v in (getattr(spec, "regimen", None) or {}).items()]
    described = {p.name: p.description for p in model.parameters} if model is not None else {}
    parts += [f"{described[k]} ({k}) set to {_value_words(v)}" if k in described
              else f"parameter {k} set to {_value_words(v)}"
              for k, v in (getattr(spec, "parameters", None) or {}).items()]
    return "; ".join(parts)


def arm_regimen(index: int, arm, scenario) -> dict[str, Any]:
    """The regimen of ``arm`` (an ArmResult) in words, for the report's design section."""
    spec = arm.spec
    product = getattr(spec, "product", "none")
    ld = getattr(spec, "lymphodepletion", None)
    ld_days = lymphodepletion_days(spec)
    inf = infusion_days(spec)
    prescribed, absolute = _dose_words(spec, arm.patients)
    if product == "none":
        infusions = "none"
    elif len(inf) == 1:
        infusions = "one infusion on day 0"
    else:
        infusions = (f"{len(inf)} infusions {fmt_number(spec.interval_days)} days apart "
                     f"(days {_days(inf)})")
    if ld and product != "none":
        n = len(ld_days)
        flu = _per_day(ld.fludarabine_mg_m2, n)
        cy = _per_day(ld.cyclophosphamide_mg_m2, n)

        def course(name: str, doses: list[float]) -> str:
            if len(set(doses)) == 1:
                return f"{name} {fmt_number(doses[0])} mg/m² per day"
            return f"{name} {', '.join(fmt_number(d) for d in doses)} mg/m² on successive days"

        lymph = (f"{course('fludarabine', flu)} and {course('cyclophosphamide', cy)}, "
                 f"days {_days(ld_days)}")
        infused = arm.patients[arm.patients["infused"].astype(bool)] if len(arm.patients) \
            else arm.patients
        if "bsa_m2" in infused and len(infused):
            bsa = infused["bsa_m2"].to_numpy(float)
            lymph += (f" (body-surface areas {fmt_number(bsa.min())} to "
                      f"{fmt_number(bsa.max())} m²: fludarabine {fmt_number(max(flu) * bsa.min())}"
                      f" to {fmt_number(max(flu) * bsa.max())} mg on its largest day)")
    else:
        lymph = "none"
    return {
        "other": _other_words(spec, arm.simulation.model if arm.simulation else None),
        "name": arm.name,
        "colour": arm_colour(index),
        "product": PRODUCTS.get(product, product),
        "dose": prescribed,
        "dose_range": absolute if product != "none" else "–",
        "infusions": infusions,
        "lymphodepletion": lymph,
        "steroids": _steroid_words(spec, scenario, ld_days if lymph != "none" else []),
        "n": len(arm.patients),
    }


def arm_events(index: int, arm) -> TimeEvents:
    """The arm's infusions and lymphodepletion for the time axis."""
    spec = arm.spec
    ld_days = lymphodepletion_days(spec) if getattr(spec, "product", "none") != "none" else []
    return TimeEvents(arm=arm.name, colour=arm_colour(index),
                      infusions=tuple(infusion_days(spec)),
                      lymphodepletion=(ld_days[0], ld_days[-1] + 1.0) if ld_days else None)

