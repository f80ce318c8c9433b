"""Each arm's regimen in words (product, dose per kg or m² with the absolute range over
the arm's infused patients, infusions, lymphodepletion, steroid plan) and its treatment
events for the time axis of the figures."""

from __future__ import annotations

from typing import Any

from nksim.report._labels import PRODUCT_KINDS, PRODUCTS, SUPPORT
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
    ld = getattr(spec, "given_lymphodepletion", None)
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
    if s.after == "continue" or not getattr(spec, "given_steroid_plan", False):
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
        return fmt_number(value).replace("-", "−")
    return str(value).replace("_", " ")


_UNIT_SUFFIXES = (("_mg_m2", "mg/m²"), ("_mg_kg", "mg/kg"), ("_mg", "mg"), ("_iu", "IU"))
#: ``[arms.regimen]`` keys shown in the product column (:func:`product_words`), not here.
PRODUCT_KEYS = ("nk_product", "nk_source", "car_antigen", "il15_armoured")
#: ``[arms.parameters]`` 0/1 product switches (the product column names the product they
#: make) and what they change, in words, when on.
PRODUCT_SWITCHES = {
    "carnk_dual": "second CAR against BCMA, which also reaches long-lived plasma cells",
    "carnk_il15": "IL-15-armoured CAR-NK cells",
    "cart_allo": "donor CAR-T cells, rejected by the host's T cells",
}


def _days_words(values: Any) -> str:
    days = list(values) if isinstance(values, list | tuple) else [values]
    return f"day{'s' if len(days) > 1 else ''} {_value_words([float(d) for d in days])}"


def _drug_words(regimen: dict[str, Any], used: set[str]) -> list[str]:
    """Drugs given as ``<drug>`` / ``<drug>_mg_m2`` / ``<drug>_days`` (the antibody by name
    in ``antibody``; other drugs by their key, e.g. ``bendamustine_mg_m2``), in words:
    "rituximab 375 mg/m² on day −5"."""
    out = []
    stems = dict.fromkeys(k[: -len(suffix)] for k in regimen
                          for suffix, _ in _UNIT_SUFFIXES if k.endswith(suffix))
    for stem in stems:
        dose_key = next((f"{stem}{sfx}" for sfx, _ in _UNIT_SUFFIXES
                         if f"{stem}{sfx}" in regimen), None)
        unit = next(u for sfx, u in _UNIT_SUFFIXES if dose_key.endswith(sfx))
        name = regimen.get(stem, stem.replace("_", " "))
        used.update({stem, dose_key, f"{stem}_days"})
        if str(name) == "none" or not float(regimen[dose_key] or 0.0) > 0:
            continue
        words = f"{_value_words(name)} {_value_words(regimen[dose_key])} {unit}"
        if f"{stem}_days" in regimen:
            words += f" on {_days_words(regimen[f'{stem}_days'])}"
        out.append(words)
    return out


def _short(description: str, limit: int = 60) -> str:
    """The first clause of a parameter description (before a bracket, ';' or ':')."""
    head = description.split("(")[0].split(";")[0].split(":")[0].strip().rstrip(",.")
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def _other_words(spec, model=None) -> str:
    """The setting-specific regimen (``[arms.regimen]``) and the arm's own parameter
    values (``[arms.parameters]``), in words with units; empty when there are none. The
    product itself (``nk_product``, CAR antigens, product switches such as
    ``carnk_dual``) is named in the product column instead (:func:`product_words`)."""
    regimen = dict(getattr(spec, "regimen", None) or {})
    used = set(PRODUCT_KEYS)
    parts = _drug_words(regimen, used)
    if "support" in regimen:
        used.add("support")
        words = SUPPORT.get(str(regimen["support"]), f"{_value_words(regimen['support'])} "
                            "support")
        if words:
            parts.append(words)
    for k, v in regimen.items():
        if k in used:
            continue
        if k.endswith("_days"):
            parts.append(f"{k[:-5].replace('_', ' ')} on {_days_words(v)}")
        else:
            parts.append(f"{k.replace('_', ' ')}: {_value_words(v)}")
    params = {p.name: p for p in model.parameters} if model is not None else {}
    for k, v in (getattr(spec, "parameters", None) or {}).items():
        if k in PRODUCT_SWITCHES:
            try:
                on = float(str(v).split()[0]) > 0.5
            except ValueError:
                on = False
            if on:
                parts.append(PRODUCT_SWITCHES[k])
            continue
        p = params.get(k)
        if p is None:
            parts.append(f"model parameter {k} set to {_value_words(v)}")
            continue
        unit = f" {p.unit}" if p.unit and p.unit not in ("1", "dimensionless") else ""
        parts.append(f"{_short(p.description)} ({k}) set to {_value_words(v)}{unit}")
    return "; ".join(parts)


def arm_product(spec, scenario):
    """The cell product the arm's setting models (an
    :class:`nksim.therapy.NKProduct` from the shared catalogue), or ``None`` when the arm
    has none or its setting defines no catalogue product."""
    if getattr(spec, "product", "none") == "none":
        return None
    setting = getattr(getattr(scenario, "trial", None), "setting", None)
    try:
        if setting == "lymphoma":
            from nksim.disease._lymphoma_setting import product_specs

            found = product_specs(scenario).get(spec.name)
            return found.product if found is not None else None
        if setting == "pancreatic":
            from nksim.disease._pancreatic_setting import RegimenTable
            from nksim.disease._pancreatic_setting import arm_product as pdac_product

            return pdac_product(spec, RegimenTable.model_validate(dict(spec.regimen or {})))
        if setting == "sle":
            from nksim.disease._sle_setting import arm_product as sle_product

            return sle_product(spec)
    except Exception:  # noqa: BLE001 - an unusual arm falls back to the product key's words
        return None
    return None


def product_words(product, key: str) -> str:
    """What the arm infuses, from the product's definition: CAR products by their
    antigens ("CD19/BCMA dual CAR-NK cells (allogeneic)"), others by their kind
    ("iPSC-derived NK cells with a high-affinity non-cleavable CD16 (hnCD16), no CAR
    (allogeneic)"); the product key's words when no definition is known."""
    if product is None:
        return PRODUCTS.get(key, key.replace("_", " "))
    origin = "allogeneic" if product.allogeneic else "autologous"
    if product.kind in ("car_nk", "car_t"):
        antigens = "/".join(a for a in (product.car_antigen, product.second_antigen) if a)
        dual = " dual" if product.second_antigen else ""
        armour = " IL-15-armoured" if product.il15_armoured else ""
        cells = "CAR-NK" if product.kind == "car_nk" else "CAR-T"
        return f"{antigens}{dual}{armour} {cells} cells ({origin})"
    return f"{PRODUCT_KINDS.get(product.kind, product.name)} ({origin})"


def arm_regimen(index: int, arm, scenario) -> dict[str, Any]:
    """The regimen of ``arm`` (an ArmResult) in words, for the report's design section."""
    spec = arm.spec
    product = getattr(spec, "product", "none")
    ld = getattr(spec, "given_lymphodepletion", None)
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
    if ld:
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
        "product": product_words(arm_product(spec, scenario), product),
        "dose": prescribed,
        "dose_range": absolute if product != "none" else "–",
        "infusions": infusions,
        "lymphodepletion": lymph,
        "steroids": _steroid_words(spec, scenario, ld_days),
        "n": len(arm.patients),
    }


def arm_events(index: int, arm) -> TimeEvents:
    """The arm's infusions and lymphodepletion for the time axis."""
    spec = arm.spec
    ld_days = lymphodepletion_days(spec)
    return TimeEvents(arm=arm.name, colour=arm_colour(index),
                      infusions=tuple(infusion_days(spec)),
                      lymphodepletion=(ld_days[0], ld_days[-1] + 1.0) if ld_days else None)

