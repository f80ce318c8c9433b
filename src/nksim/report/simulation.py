"""Files written by ``nksim simulate``: the time course and ``summary.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nksim._io import write_text_atomic
from nksim.engine import SimulationResult
from nksim.report._common import RESEARCH_ONLY, to_json, versions

FORMATS = ("csv", "parquet")


def write_timecourse(result: SimulationResult, folder: Path, fmt: str) -> Path:
    """``timecourse.csv|parquet``: columns ``patient, time`` and one per state."""
    frame = result.to_frame()
    path = folder / f"timecourse.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def summary(result: SimulationResult, scenario: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary: status counts, per-patient statuses, run time, versions, scenario."""
    model = result.model
    patients = result.patients.reset_index().to_dict(orient="records")
    assumptions = [f"{p.name}: {p.source.text}" for p in model.parameters
                   if p.source.is_assumption]
    return {
        "notice": RESEARCH_ONLY,
        "status_counts": result.status_counts,
        "n_patients": len(patients),
        "run_time_s": round(result.run_time, 4),
        "model": {
            "name": model.name,
            "title": model.title,
            "parameter_set": model.parameter_set,
            "time_unit": model.time_unit,
            "state_units": {s.name: s.unit for s in model.states},
            "sources": [c.label() for c in model.sources()],
            "notes": list(model.notes),
        },
        "assumptions": assumptions,
        "patients": patients,
        "versions": versions(),
        "scenario": scenario,
    }


def write_simulation_outputs(result: SimulationResult, folder: Path, fmt: str,
                             scenario: dict[str, Any] | None = None) -> list[Path]:
    """Write the time course and the summary into ``folder``."""
    table = write_timecourse(result, folder, fmt)
    summ = write_text_atomic(folder / "summary.json", to_json(summary(result, scenario)))
    return [table, summ]
