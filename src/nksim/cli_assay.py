"""``nksim assay``: a virtual cytotoxicity assay, single-cell serial killing, lysis-curve fits.

    nksim assay SCENARIO.toml --out DIR      # % specific lysis vs E:T, or kill counts
    nksim assay --fit DATA.csv [--out DIR]   # fit lysis = A (1 - exp(-k E:T)) with 95 % CIs

Scenario files are validated here (pydantic sections on :class:`nksim.config.Section`);
the models live in :mod:`nksim.biology`. Research use only: not medical advice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal

import click
from pydantic import Field, create_model, field_validator

from nksim._io import missing_file
from nksim.config import Section, Seed, bounded_int, quantity_in, read_toml, validate
from nksim.errors import UserError

RESEARCH_ONLY = ("Research use only: a virtual assay of model NK cells, not a measurement and "
                 "not medical advice.")

NonNeg = Annotated[float, Field(ge=0)]


class NKSection(Section):
    """The NK product: receptor levels relative to a typical IL-2-activated NK cell."""

    product: str = "IL-2-activated NK"
    nkg2d: NonNeg = 1.0
    cd16: NonNeg = 1.0
    cd16_allele: Literal["V158", "F158", "high_affinity"] = "V158"
    car: NonNeg = 0.0
    inhibitory: NonNeg = 1.0
    licensed: bool = True
    pd1: NonNeg = 0.0
    gain: NonNeg = 1.0
    perforin: bool = True


class TargetSection(Section):
    """The target line: ligand levels (1 = K562-like NKG2D ligand, healthy-cell MHC-I)."""

    line: str = "target"
    nkg2d_ligand: NonNeg = 1.0
    mhc_i: NonNeg = 1.0
    antibody_coating: Annotated[float, Field(ge=0, le=1)] = 0.0
    car_antigen: NonNeg = 0.0
    pdl1: NonNeg = 0.0
    cd95: bool = True


class EnvironmentSection(Section):
    soluble_mica: quantity_in("ng/mL", ge=0) = 0.0
    tgf_beta: quantity_in("ng/mL", ge=0) = 0.0


class EscapeSection(Section):
    """Tumour escape (docs/nk-biology.md §5): applied to the target and the NK cells."""

    mhc_loss: Annotated[float, Field(ge=0, le=1)] = 0.0
    ligand_shedding: Annotated[float, Field(ge=0, le=1)] = 0.0
    soluble_mica: quantity_in("ng/mL", ge=0) | None = None
    pdl1: NonNeg = 0.0
    tgf_beta: quantity_in("ng/mL", ge=0) = 0.0
    nk_pd1: NonNeg = 0.0


def _killing_section():
    from nksim.biology import KILLING_PARAMETERS

    fields = {p.name: (Annotated[float, Field(ge=0)] | None, None) for p in KILLING_PARAMETERS}
    return create_model("KillingSection", __base__=Section, **fields)


KillingSection = _killing_section()


class ConditionSection(Section):
    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.+-]+$")]
    nk: NKSection = NKSection()
    target: TargetSection = TargetSection()
    environment: EnvironmentSection = EnvironmentSection()
    killing: KillingSection = KillingSection()
    escape: EscapeSection = EscapeSection()


class AssaySection(Section):
    kind: Literal["chromium", "calcein", "flow"] = "chromium"
    duration: quantity_in("hour", gt=0, le=48) = 4.0
    et_ratios: Annotated[list[Annotated[float, Field(gt=0, le=1000)]],
                         Field(min_length=2, max_length=30)]
    targets_per_well: bounded_int(10, 1_000_000) = 5000
    replicates: bounded_int(2, 48) = 3
    seed: Seed = 0
    spontaneous_release: Annotated[float, Field(ge=0, lt=1)] | None = None
    encounter_rate: quantity_in("1/hour", gt=0, le=100) = 0.5
    single_cell_cells: bounded_int(10, 1_000_000) = 2000


class AssayScenario(Section):
    title: str = ""
    assay: AssaySection
    conditions: Annotated[list[ConditionSection], Field(min_length=1, max_length=50)]

    @field_validator("conditions")
    @classmethod
    def _unique(cls, v):
        names = [c.name for c in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"condition names must be unique (repeated: {', '.join(dup)})")
        return v


class SerialSection(Section):
    duration: quantity_in("hour", gt=0, le=72) = 16.0
    n_cells: bounded_int(10, 5_000_000) = 20000
    seed: Seed = 0


class SerialScenario(Section):
    title: str = ""
    serial_killing: SerialSection
    nk: NKSection = NKSection()
    target: TargetSection = TargetSection()
    environment: EnvironmentSection = EnvironmentSection()
    killing: KillingSection = KillingSection()
    escape: EscapeSection = EscapeSection()


# ------------------------------------------------------------------ translation
def _biology(nk: NKSection, target: TargetSection, env: EnvironmentSection, killing,
             escape: EscapeSection | None = None):
    from nksim.biology import (
        EscapeProfile,
        KillingParameters,
        Microenvironment,
        NKReceptors,
        TargetLigands,
        apply_escape,
    )

    rec = NKReceptors(nkg2d=nk.nkg2d, cd16=nk.cd16, cd16_allele=nk.cd16_allele, car=nk.car,
                      inhibitory=nk.inhibitory, licensed=nk.licensed, pd1=nk.pd1, gain=nk.gain)
    lig = TargetLigands(nkg2d_ligand=target.nkg2d_ligand, mhc_i=target.mhc_i,
                        antibody_coating=target.antibody_coating,
                        car_antigen=target.car_antigen, pdl1=target.pdl1)
    micro = Microenvironment(soluble_mica=env.soluble_mica, tgf_beta=env.tgf_beta)
    if escape is not None:
        rec, lig, micro = apply_escape(rec, lig, micro, EscapeProfile(**escape.model_dump()))
    overrides = {k: v for k, v in killing.model_dump().items() if v is not None}
    kp = KillingParameters(perforin=nk.perforin, **overrides)
    if not target.cd95:
        kp = kp.replace(dr_success=0.0)
    return rec, lig, micro, kp


def load_assay_scenario(path: Path) -> AssayScenario | SerialScenario:
    """Read and validate an assay or serial-killing scenario (one-line errors)."""
    raw = read_toml(path)
    if isinstance(raw, dict) and "serial_killing" in raw:
        return validate(SerialScenario, raw)
    return validate(AssayScenario, raw)


def _fractions(kills) -> dict[str, float]:
    import numpy as np

    counts = np.bincount(kills)
    return {str(i): float(c / kills.size) for i, c in enumerate(counts)}


def run_assay_scenario(sc: AssayScenario) -> tuple[dict, dict]:
    """(summary, details) of an assay scenario."""
    from nksim.biology import signals, simulate_serial_killing
    from nksim.biology._assay import ASSAY_PARAMETERS, AssayCondition, simulate_assay

    a = sc.assay
    conds, kill_counts, extra = [], {}, []
    for i, c in enumerate(sc.conditions):
        rec, lig, micro, kp = _biology(c.nk, c.target, c.environment, c.killing, c.escape)
        conds.append(AssayCondition(c.name, rec, lig, micro, kp, cd95=c.target.cd95))
        single = simulate_serial_killing(signals(rec, lig, micro), a.single_cell_cells,
                                         duration_h=a.duration, params=kp, seed=a.seed + i)
        kill_counts[c.name] = _fractions(single.kills)
        extra.append({"name": c.name, "nk": c.nk.model_dump(), "target": c.target.model_dump(),
                      "activation_probability": conds[-1].activation(),
                      "single_cell_nonkiller_fraction": single.nonkiller_fraction})
    result = simulate_assay(conds, a.et_ratios, kind=a.kind, duration_h=a.duration,
                            targets_per_well=a.targets_per_well, replicates=a.replicates,
                            seed=a.seed, spontaneous=a.spontaneous_release,
                            encounter_rate_per_h=a.encounter_rate)
    summary = {"conditions": [
        {"name": name, "lysis": [{"et_ratio": p.et_ratio,
                                  "specific_lysis_pct": p.specific_lysis_pct,
                                  "ci_low": p.ci_low, "ci_high": p.ci_high} for p in pts]}
        for name, pts in result.items()], "kill_counts": kill_counts}
    for e in extra:
        e["wells_pct"] = {str(p.et_ratio): list(p.wells) for p in result[e["name"]]}
        e["expected_pct"] = {str(p.et_ratio): p.expected_pct for p in result[e["name"]]}
    details = {"research_use_only": RESEARCH_ONLY, "title": sc.title,
               "assay": a.model_dump(), "conditions": extra,
               "kill_counts_note": f"single-cell kill counts over {a.duration:g} h at the "
               "microwell search rate (killing.search_rate_per_h)",
               "parameters": _parameter_table(ASSAY_PARAMETERS)}
    return summary, details


def run_serial_scenario(sc: SerialScenario) -> tuple[dict, dict]:
    """(summary, details) of a serial-killing scenario."""
    import numpy as np

    from nksim.biology import (
        DEATH_RECEPTOR,
        compare_kill_count_models,
        signals,
        simulate_serial_killing,
    )

    rec, lig, micro, kp = _biology(sc.nk, sc.target, sc.environment, sc.killing,
                                   sc.escape)
    s = sc.serial_killing
    res = simulate_serial_killing(signals(rec, lig, micro), s.n_cells, duration_h=s.duration,
                                  params=kp, seed=s.seed)
    summary = {"conditions": [], "kill_counts": _fractions(res.kills),
               "nonkiller_fraction": res.nonkiller_fraction}
    dr = res.route_share_by_kill_index(DEATH_RECEPTOR)
    made = np.sum(res.routes > 0, axis=0)
    details = {
        "research_use_only": RESEARCH_ONLY, "title": sc.title, "serial_killing": s.model_dump(),
        "mean_kills": float(res.kills.mean()),
        "serial_killer_fraction_3_or_more": float(np.mean(res.kills >= 3)),
        "death_receptor_share_by_kill_index": [float(x) for x, m in zip(dr, made, strict=True)
                                               if m > 0],
        "mean_kill_time_min": {
            "granzyme": _nanmean(res.kill_delays_min[res.routes == 1]),
            "death_receptor": _nanmean(res.kill_delays_min[res.routes == 2])},
        "model_comparison": compare_kill_count_models(res.kills)
        if res.kills.sum() > 0 else None,
    }
    return summary, details


def _nanmean(x):
    return float(x.mean()) if x.size else None


def _parameter_table(extra=()):
    from nksim.biology import DECISION_PARAMETERS, KILLING_PARAMETERS

    return [{"name": p.name, "value": p.value, "unit": p.unit, "description": p.description,
             "source": p.source.label()}
            for p in (*DECISION_PARAMETERS, *KILLING_PARAMETERS, *extra)]


def lysis_plot_png(summary: dict, title: str) -> bytes:
    """% specific lysis against E:T with 95 % intervals, one line per condition."""
    from nksim.report._plots import pyplot

    plt = pyplot()

    from nksim.report._common import figure_png

    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for cond in summary["conditions"]:
        pts = sorted(cond["lysis"], key=lambda p: p["et_ratio"])
        x = [p["et_ratio"] for p in pts]
        y = [p["specific_lysis_pct"] for p in pts]
        err = [[p["specific_lysis_pct"] - p["ci_low"] for p in pts],
               [p["ci_high"] - p["specific_lysis_pct"] for p in pts]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=cond["name"])
    ax.set_xscale("log")
    ax.set_xlabel("effector : target ratio")
    ax.set_ylabel("% specific lysis (mean, 95 % CI)")
    ax.set_title(f"{title}\nResearch use only (virtual assay)", fontsize=10)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def _fit_csv(path: Path, duration_h: float = 4.0) -> dict:
    import pandas as pd

    from nksim.biology import fit_lysis_curve

    if not path.is_file():
        raise UserError(missing_file(path), field="--fit")
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # pandas raises many kinds
        raise UserError(f"cannot read CSV {path}: {str(exc).splitlines()[0]}",
                        field="--fit") from None
    missing = {"et_ratio", "specific_lysis_pct"} - set(df.columns)
    if missing:
        raise UserError(f"missing column(s) {', '.join(sorted(missing))} (columns: "
                        f"{', '.join(map(str, df.columns))})", field="--fit")
    groups = df.groupby("condition", sort=False) if "condition" in df.columns else [("data", df)]
    fits = []
    for name, g in groups:
        x = pd.to_numeric(g["et_ratio"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(g["specific_lysis_pct"], errors="coerce").to_numpy(float)
        f = fit_lysis_curve(x, y)
        unidentified = f.k_ci[0] == 0.0 and f.k_ci[1] is None  # any k fits as well
        note = ("the data do not determine a lysis curve (no lysis, or none that changes "
                "with E:T): A and k are not estimates" if unidentified else
                "the fitted plateau is above 100 % lysis, which no assay can reach: the "
                "data exceed complete lysis (noise, or the spontaneous-release correction) or "
                "do not reach the plateau, so A, k and the E:T for 20 % are extrapolations"
                if f.A > 100.0 else "")
        fits.append({"condition": str(name), "n": f.n, "A_pct": f.A, "A_ci": list(f.A_ci),
                     "note": note,
                     "k_per_et": f.k, "k_ci": list(f.k_ci), "et50": f.et50, "et20": f.et20,
                     "rss": f.rss,
                     # the well model's limit: k = (lethal conjugates per NK per hour) x t
                     "lethal_conjugates_per_nk_per_h": f.k / duration_h,
                     "lethal_conjugates_ci": [v if v is None else v / duration_h
                                              for v in f.k_ci],
                     "data": [{"et_ratio": float(a), "specific_lysis_pct": float(b)}
                              for a, b in zip(x, y, strict=True)]})
    return {"research_use_only": RESEARCH_ONLY, "model": "lysis% = A (1 - exp(-k E:T)), "
            "least squares; 95 % intervals: A a t-interval from the covariance, k a profile "
            "interval (F test) whose upper limit is null when the data do not bound it (lysis "
            "at its plateau at every E:T: k, ET50 and ET20 are then unknown above a lower "
            "bound for k); with unlimited killing "
            "capacity the well model gives k = (lethal conjugates per NK per hour) x duration",
            "duration_h": duration_h, "fits": fits}


def _fit_plot_png(fit: dict) -> bytes:
    from nksim.report._plots import pyplot

    plt = pyplot()
    import numpy as np

    from nksim.report._common import figure_png

    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for f in fit["fits"]:
        x = np.array([d["et_ratio"] for d in f["data"]])
        y = np.array([d["specific_lysis_pct"] for d in f["data"]])
        line = ax.plot(x, y, "o", alpha=0.7)[0]
        grid = np.geomspace(x.min(), x.max(), 100)
        ax.plot(grid, f["A_pct"] * (1 - np.exp(-f["k_per_et"] * grid)), color=line.get_color(),
                label=f"{f['condition']}: A {f['A_pct']:.0f} %, k {f['k_per_et']:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("effector : target ratio")
    ax.set_ylabel("% specific lysis")
    ax.set_title("Lysis-curve fit. Research use only", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    return figure_png(fig)


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", required=False,
                type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Output folder (files appear only if the run succeeds).")
@click.option("--fit", "fit_csv", type=click.Path(path_type=Path), metavar="DATA.csv",
              help="Fit lysis = A(1 - exp(-k E:T)) to a CSV with columns et_ratio, "
              "specific_lysis_pct (optional: condition); replicate wells as rows.")
@click.option("--duration", "duration_h", type=float, default=None,
              help="--fit: assay duration in hours (converts k into lethal conjugates per "
              "NK cell per hour) [default: 4].")
def assay(scenario_file: Path | None, out_dir: Path | None, fit_csv: Path | None,
          duration_h: float | None) -> None:
    """Virtual NK cytotoxicity assay: % specific lysis against E:T (or single-cell kill
    counts) for NK products and target lines. Research use only: not medical advice."""
    from nksim._io import (
        atomic_output_dir,
        check_output_dir,
        write_bytes_atomic,
        write_text_atomic,
    )

    if out_dir is not None:
        check_output_dir(out_dir, inputs=(scenario_file, fit_csv))
    if duration_h is not None and fit_csv is None:
        raise UserError("is only used with --fit DATA.csv", field="--duration")
    if fit_csv is not None:
        duration_h = 4.0 if duration_h is None else duration_h
        if scenario_file is not None:
            raise UserError("give either SCENARIO.toml or --fit DATA.csv, not both",
                            field="--fit")
        if not (math.isfinite(duration_h) and 0 < duration_h <= 72):
            raise UserError(f"must be > 0 and <= 72 hours (got {duration_h!r})",
                            field="--duration")
        fit = _fit_csv(fit_csv, duration_h)
        for f in fit["fits"]:
            et20 = "n/a" if f["et20"] is None else f"{f['et20']:.3g}"
            lo, hi = f["k_ci"]
            if hi is None and lo == 0.0:  # see the note
                k_text = "k not determined"
            elif hi is None:  # lysis at its plateau everywhere: k has a lower bound only
                k_text = (f"k >= {lo:.4g} per E:T (not bounded above: lysis is at its "
                          f"plateau at every E:T), lethal conjugates >= "
                          f"{f['lethal_conjugates_ci'][0]:.3g} per NK per h")
            else:
                k_text = (f"k = {f['k_per_et']:.4g} per E:T [{lo:.4g}, {hi:.4g}], E:T for "
                          f"20 % = {et20}, lethal conjugates "
                          f"{f['lethal_conjugates_per_nk_per_h']:.3g} per NK per h")
            click.echo(f"{f['condition']}: A = {f['A_pct']:.1f} % [{f['A_ci'][0]:.1f}, "
                       f"{f['A_ci'][1]:.1f}], {k_text} (n = {f['n']})"
                       + (f"; note: {f['note']}" if f["note"] else ""))
        if out_dir is not None:
            with atomic_output_dir(out_dir) as st:
                write_text_atomic(st / "fit.json", json.dumps(fit, indent=2))
                write_bytes_atomic(st / "fit.png", _fit_plot_png(fit))
            click.echo(f"-> {out_dir}/fit.json, {out_dir}/fit.png")
        click.echo(RESEARCH_ONLY)
        return
    if scenario_file is None:
        raise UserError("give SCENARIO.toml (with --out DIR) or --fit DATA.csv",
                        field="SCENARIO.toml")
    if out_dir is None:
        raise UserError("an output folder is needed (--out DIR)", field="--out")
    sc = load_assay_scenario(scenario_file)
    title = sc.title or scenario_file.stem
    if isinstance(sc, SerialScenario):
        summary, details = run_serial_scenario(sc)
    else:
        summary, details = run_assay_scenario(sc)
    _check_finite(summary)
    with atomic_output_dir(out_dir) as st:
        write_text_atomic(st / "summary.json", json.dumps(summary, indent=2))
        write_text_atomic(st / "details.json", json.dumps(details, indent=2, default=str))
        if summary["conditions"]:
            write_bytes_atomic(st / "lysis.png", lysis_plot_png(summary, title))
    for c in summary["conditions"]:
        row = ", ".join(f"{p['et_ratio']:g}:1 {p['specific_lysis_pct']:.0f} %"
                        for p in c["lysis"])
        click.echo(f"{c['name']}: {row}")
    if "nonkiller_fraction" in summary:
        kc = ", ".join(f"{k}: {v:.3f}" for k, v in summary["kill_counts"].items())
        click.echo(f"kill counts (fraction of NK cells): {kc}; non-killers "
                   f"{summary['nonkiller_fraction']:.3f}")
    click.echo(f"-> {out_dir}/summary.json, details.json"
               + (", lysis.png" if summary["conditions"] else ""))
    click.echo(RESEARCH_ONLY)


def _check_finite(obj) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise RuntimeError("a non-finite number in the assay summary")
    if isinstance(obj, dict):
        for v in obj.values():
            _check_finite(v)
    elif isinstance(obj, list):
        for v in obj:
            _check_finite(v)
