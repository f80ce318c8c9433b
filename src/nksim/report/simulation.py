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
    from nksim.engine import timecourse_table

    table = timecourse_table(result)  # Arrow, built from the arrays (no pandas frame)
    path = folder / f"timecourse.{fmt}"
    if fmt == "csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)  # pyarrow's CSV writer: ~10x pandas' to_csv
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, path, use_dictionary=["patient", "time"])  # 3x cheaper
    return path


def summary(result: SimulationResult, scenario: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary: status counts, per-patient statuses, run time, versions, scenario."""
    patients = result.patients.reset_index().to_dict(orient="records")
    return run_summary(result.model, result.status_counts, len(patients), result.run_time,
                       scenario, patients=patients)


def run_summary(model, status_counts: dict[str, int], n_patients: int, run_time: float,
                scenario: dict[str, Any] | None = None, *, patients: Any = None,
                execution: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary from counts (a chunked run never holds every patient at once):
    ``patients`` is the per-patient list or a note naming the table that has it."""
    assumptions = [f"{p.name}: {p.source.text}" for p in model.parameters
                   if p.source.is_assumption]
    out = {
        "notice": RESEARCH_ONLY,
        "status_counts": status_counts,
        "n_patients": n_patients,
        "run_time_s": round(run_time, 4),
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
    if execution is not None:
        out["execution"] = execution
    return out


def write_simulation_outputs(result: SimulationResult, folder: Path, fmt: str,
                             scenario: dict[str, Any] | None = None) -> list[Path]:
    """Write the time course and the summary into ``folder``."""
    table = write_timecourse(result, folder, fmt)
    summ = write_text_atomic(folder / "summary.json", to_json(summary(result, scenario)))
    return [table, summ]
