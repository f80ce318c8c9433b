"""W1 at equal accuracy: nksim at several tolerances against libRoadRunner at W1's 1e-6.

Information, not a requirement (issue 13's per-core ratio is at W1's own tolerances,
rtol = atol = 1e-6, for every solver): solver benchmarks usually compare work at equal
*achieved* accuracy (work-precision), and at equal nominal tolerances nksim's 5th-order
Rosenbrock method is far more accurate than CVODE (docs/performance.md). One run, one
thread each, the same seeded patients:

1. the Radau reference (rtol = atol = 1e-10, analytic Jacobian) on ``--reference`` patients;
2. libRoadRunner (CVODE, W1 tolerances, atol vector) on those patients: daily T errors;
3. nksim (engine API, one thread) at each tolerance: the same errors, and the CPU time per
   patient on ``--patients`` patients; libRoadRunner's CPU time per patient on
   ``--rr-patients``, interleaved with the nksim runs (``--rounds`` rounds, medians).

Errors are in units of W1's allowance max(1e-4 |T_ref|, 1 cell) (``bench_w1.accuracy``).
Prints one row per nksim tolerance: its errors beside roadrunner's, and the CPU ratio
roadrunner / nksim per patient. Research use only.

    .venv/bin/python benchmarks/bench_work_precision.py          # about 4 minutes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _w1  # noqa: E402
import bench_w1  # noqa: E402

TOLERANCES = (1e-6, 3e-6, 1e-5, 3e-5)


def errors(daily: np.ndarray, ref: np.ndarray, idx: np.ndarray) -> dict[str, float]:
    """Final and daily errors over the allowance, and how many patients leave it."""
    a = bench_w1.accuracy(daily, ref, idx)
    ratio = np.abs(daily - ref) / np.maximum(bench_w1.REQ_REL * np.abs(ref), bench_w1.REQ_CELLS)
    return {"final_max": a["max_err_over_allowance"],
            "daily_max": a["daily_max_err_over_allowance"],
            "daily_median": float(np.median(np.nanmax(ratio, axis=1))),
            "outside": a["daily_patients_outside"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=int, default=60, help="patients with a reference")
    ap.add_argument("--patients", type=int, default=4000, help="nksim patients timed")
    ap.add_argument("--rr-patients", type=int, default=300, help="roadrunner patients timed")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    from nksim.engine import SolverOptions, simulate
    from nksim.model import to_sbml

    model, doses = _w1.w1_model()
    P = _w1.population(model.parameter_vector(), max(args.patients, args.reference), 0)
    idx = np.arange(args.reference)
    ref_out, _ = bench_w1.run_reference(P, idx, 1)
    ref = np.stack([ref_out[int(i)][0].T_daily for i in idx])
    sbml = to_sbml(model, doses=doses)
    rr_err = errors(bench_w1.roadrunner_daily_T(sbml, model.parameter_names, P, idx), ref, idx)

    def run(tol: float, rows: np.ndarray):
        opts = SolverOptions(rtol=tol, atol=tol, threads=1, progress=False)
        return simulate(model, _w1.RECORD_TIMES, parameters=P[rows], initial=_w1.Y0,
                        doses=doses, options=opts)

    rr = _w1.RoadRunnerW1(sbml, model.parameter_names)
    rr.run(P[0].tolist())  # warm-up

    def rr_cpu() -> float:
        t0 = time.process_time()
        for i in range(args.rr_patients):
            rr.run(P[i].tolist())
        return (time.process_time() - t0) / args.rr_patients

    rows = np.arange(args.patients)
    cpu = {tol: [] for tol in TOLERANCES}
    rr_times = []
    steps = {}
    for tol in TOLERANCES:  # warm-up and step counts
        steps[tol] = float(run(tol, rows[:500]).patients["n_steps"].mean())
    for _ in range(args.rounds):
        rr_times.append(rr_cpu())
        for tol in TOLERANCES:
            t0 = time.process_time()
            run(tol, rows)
            cpu[tol].append((time.process_time() - t0) / args.patients)
    rr_ms = 1e3 * float(np.median(rr_times))
    print(f"libRoadRunner CVODE, W1 tolerances 1e-6: {rr_ms:.3f} ms CPU per patient; errors "
          f"over the allowance: final max {rr_err['final_max']:.3g}, daily max "
          f"{rr_err['daily_max']:.3g}, daily median {rr_err['daily_median']:.3g}, patients "
          f"outside {rr_err['outside']}/{args.reference}")
    print(f"{'nksim rtol=atol':>16} {'steps':>6} {'ms CPU':>7} {'rr/nksim':>8}  "
          f"{'final max':>9} {'daily max':>9} {'daily med':>9} {'outside':>8}  as accurate?")
    for tol in TOLERANCES:
        e = errors(run(tol, idx).dataset["T"].values, ref, idx)
        ms = 1e3 * float(np.median(cpu[tol]))
        better = all(e[k] <= rr_err[k] for k in ("final_max", "daily_max", "daily_median",
                                                 "outside"))
        print(f"{tol:>16g} {steps[tol]:>6.0f} {ms:>7.4f} {rr_ms / ms:>8.1f}  "
              f"{e['final_max']:>9.3g} {e['daily_max']:>9.3g} {e['daily_median']:>9.3g} "
              f"{e['outside']:>4d}/{args.reference:<3d}  {'yes' if better else 'no'}")
    print("Solver CPU only (engine API, one thread; no CLI, Parquet or start-up). "
          "Information, not issue 13's requirement. Research use only.")


if __name__ == "__main__":
    main()
