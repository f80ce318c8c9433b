"""One simulation of a PEtab benchmark problem: nksim against AMICI, side by side (issue 15).

    .venv/bin/python benchmarks/bench_amici.py [PROBLEM ...] [--amici-python PATH] [--repeats 20]

For each problem both tools simulate every condition of the problem at the nominal
parameters and return the log-likelihood, with the same tolerances (rtol 1e-8, atol 1e-10,
nksim's PEtab default) and one thread. Two levels:

- through the PEtab tables each call: AMICI's ``simulate_petab`` (tables -> conditions ->
  simulation -> likelihood) against nksim's direct evaluation (``evaluate_direct``: the
  condition mapping, formulas and ``simulate`` redone every call, as ``nksim fit
  --nominal`` did before the prepared objective);
- as an optimiser calls it: AMICI's solver alone (``run_simulations`` on conditions
  prepared once; it returns the likelihood too) against nksim's prepared objective
  (``problem.objective`` at the nominal vector, everything that does not depend on the
  parameters built once: nksim.analysis._prepared), and, for reference, nksim's bare
  batched solve of the prepared inputs and its cost per vector when 32 vectors are
  evaluated in one call (the engine integrates 32 patients per SIMD batch).

Compilation is done once, outside the timing; each time is the median of ``--repeats``
calls, the rounds of the two tools interleaved, each call timed as ``timeit`` does (garbage
collected before, collector off during the call) on both sides; for the solver level the
CPU time of the calling process is kept too (one thread on both sides: less sensitive to
other jobs taking the cores than wall time). AMICI runs in its own Python (it is not in
nksim's lock file: AMICI 1.x has no wheel for this platform and builds from source in
~10 minutes, with scipy-openblas as BLAS); give it with ``--amici-python`` or
``NKSIM_AMICI_PYTHON``; without one the script says so and exits 0.
Results: benchmarks/results/amici.json and docs/performance.md. Research use only.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = ROOT.parent / "shared" / "data" / "petab-benchmark" / "Benchmark-Models"
OUT = ROOT / "benchmarks" / "results" / "amici.json"
DEFAULT = ["Boehm_JProteomeRes2014", "Fiedler_BMCSystBiol2016", "Bertozzi_PNAS2020",
           "Brannmark_JBC2010", "Zheng_PNAS2012"]
RTOL, ATOL = 1e-8, 1e-10

# The AMICI side, run in AMICI's interpreter: reads lines "PROBLEM" and answers one JSON
# line per call (the model is imported and compiled on the first call of a problem).
AMICI_WORKER = r"""
import gc, json, sys, time, tempfile
import petab.v1 as petab
from amici.importers.petab.v1 import import_petab_problem
from amici.sim.sundials import run_simulations
from amici.sim.sundials.petab.v1 import simulate_petab, LLH, EDATAS
cache = {}
for line in sys.stdin:
    yaml = line.strip()
    if yaml not in cache:
        problem = petab.Problem.from_yaml(yaml)
        if petab.lint.measurement_table_has_timepoint_specific_mappings(
                problem.measurement_df):  # AMICI needs these flattened (same likelihood)
            petab.flatten_timepoint_specific_output_overrides(problem)
        model = import_petab_problem(problem, output_dir=tempfile.mkdtemp())
        solver = model.create_solver()
        solver.set_relative_tolerance(RTOL)
        solver.set_absolute_tolerance(ATOL)
        cache[yaml] = (problem, model, solver)
    problem, model, solver = cache[yaml]
    gc.collect()
    gc.disable()  # as timeit: no collection of other calls' garbage inside the timing
    t0 = time.perf_counter()
    res = simulate_petab(problem, amici_model=model, solver=solver)
    seconds = time.perf_counter() - t0
    gc.enable()
    gc.collect()
    gc.disable()
    t0, c0 = time.perf_counter(), time.process_time()  # the solver alone, conditions above
    rdatas = run_simulations(model, solver, res[EDATAS])
    core, core_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.enable()
    print("@@" + json.dumps({"seconds": seconds, "core_seconds": core,
                             "core_cpu_seconds": core_cpu,
                             "llh": float(res[LLH]),
                             "core_llh": float(sum(r.llh for r in rdatas))}), flush=True)
""".replace("RTOL", repr(RTOL)).replace("ATOL", repr(ATOL))


def _yaml(problem: str) -> Path:
    return sorted((COLLECTION / problem).glob("*.yaml"))[0]


def main(argv: list[str]) -> None:
    amici_python = os.environ.get("NKSIM_AMICI_PYTHON")
    repeats = 20
    if "--amici-python" in argv:
        i = argv.index("--amici-python")
        amici_python = argv[i + 1]
        del argv[i:i + 2]
    if "--repeats" in argv:
        i = argv.index("--repeats")
        repeats = int(argv[i + 1])
        del argv[i:i + 2]
    if not amici_python:
        print("bench_amici: no AMICI interpreter (--amici-python or NKSIM_AMICI_PYTHON); "
              "skipped")
        return
    if not COLLECTION.exists():
        print(f"bench_amici: {COLLECTION} not found; skipped")
        return
    from nksim.analysis import read_petab
    from nksim.engine import SolverOptions

    options = SolverOptions(rtol=RTOL, atol=ATOL, max_steps=200_000, threads=1,
                            progress=False)
    env = dict(os.environ)  # the AMICI environment's own SWIG compiles the models
    env["PATH"] = os.path.dirname(os.path.abspath(amici_python)) + os.pathsep + env.get(
        "PATH", "")  # absolute: AMICI compiles in another folder
    worker = subprocess.Popen([amici_python, "-c", AMICI_WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)

    def amici_call(yaml: Path) -> dict:
        worker.stdin.write(f"{yaml}\n")
        worker.stdin.flush()
        while True:  # AMICI writes its own lines too; answers start with "@@"
            line = worker.stdout.readline()
            if not line:
                raise SystemExit(f"bench_amici: the AMICI worker stopped on {yaml.parent.name}")
            if line.startswith("@@"):
                return json.loads(line[2:])

    from nksim.analysis._objective import evaluate_direct
    from nksim.analysis._prepared import prepared

    cpu: dict[str, list[float]] = {}

    def timed(fn, *args, cpu_key: str | None = None, **kwargs) -> float:
        gc.collect()
        gc.disable()  # as timeit (and the AMICI side): garbage of other calls not timed
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            fn(*args, **kwargs)
            wall, used = time.perf_counter() - t0, time.process_time() - c0
        finally:
            gc.enable()
        if cpu_key:
            cpu.setdefault(cpu_key, []).append(used)
        return wall

    rows = []
    for name in argv or DEFAULT:
        yaml = _yaml(name)
        t0 = time.perf_counter()
        prob = read_petab(yaml)
        theta = prob.nominal_scaled()[None, :]
        nk_llh = prob.nominal_summary(options)["llh"]  # compiles on a first run, prepares
        nk_first = time.perf_counter() - t0
        direct_llh = -float(evaluate_direct(prob, theta, gradient=False, options=options,
                                            priors=False)[0][0])
        prep = prepared(prob)
        params, x0 = prep.inputs(prob.full_linear(theta))
        batch = np.repeat(theta, 32, axis=0)
        t0 = time.perf_counter()
        am = amici_call(yaml)  # imports and compiles the AMICI model
        am_first = time.perf_counter() - t0
        times = {k: [] for k in ("direct", "prepared", "solve", "batch32", "amici",
                                 "amici_core")}
        for _ in range(repeats):  # interleaved rounds
            times["direct"].append(timed(evaluate_direct, prob, theta, gradient=False,
                                         options=options, priors=False))
            times["prepared"].append(timed(prob.objective, theta, gradient=False,
                                           options=options, priors=False,
                                           cpu_key="prepared"))
            times["solve"].append(timed(prep.solve, prob, params, x0, options, False))
            times["batch32"].append(timed(prob.objective, batch, gradient=False,
                                          options=options, priors=False) / 32)
            answer = amici_call(yaml)
            times["amici"].append(answer["seconds"])
            times["amici_core"].append(answer["core_seconds"])
            cpu.setdefault("amici_core", []).append(answer["core_cpu_seconds"])
        med = {k: statistics.median(v) for k, v in times.items()}
        cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
        row = {"problem": name, "states": len(prob.model.states),
               "conditions": len(prob.conditions), "nksim_llh": nk_llh,
               "nksim_direct_llh": direct_llh,
               "amici_llh": am["llh"], "amici_solver_only_llh": am["core_llh"],
               "nksim_direct_s": med["direct"], "amici_s": med["amici"],
               "ratio_direct_over_amici_petab": med["direct"] / med["amici"],
               "nksim_prepared_s": med["prepared"], "amici_solver_only_s": med["amici_core"],
               "ratio_prepared_over_amici_solver_only": med["prepared"] / med["amici_core"],
               "nksim_bare_solve_s": med["solve"],
               "nksim_per_vector_batch32_s": med["batch32"],
               "nksim_prepared_cpu_s": cpu_med["prepared"],
               "amici_solver_only_cpu_s": cpu_med["amici_core"],
               "cpu_ratio_prepared_over_amici_solver_only":
                   cpu_med["prepared"] / cpu_med["amici_core"],
               "nksim_first_s": nk_first, "amici_import_and_compile_s": am_first,
               "rounds": dict(times), "cpu_rounds": dict(cpu)}
        cpu.clear()
        rows.append(row)
        print(f"{name:26s} llh nksim {nk_llh:12.5f} amici {am['llh']:12.5f} | "
              f"PEtab level: nksim direct {med['direct'] * 1e3:6.2f} ms, amici "
              f"{med['amici'] * 1e3:6.2f} ms ({med['direct'] / med['amici']:4.2f}) | "
              f"solver level: nksim prepared {med['prepared'] * 1e3:6.2f} ms, amici "
              f"{med['amici_core'] * 1e3:6.2f} ms ({med['prepared'] / med['amici_core']:4.2f};"
              f" CPU time {cpu_med['prepared'] / cpu_med['amici_core']:4.2f})"
              f" | bare solve {med['solve'] * 1e3:6.2f} ms, per vector of 32 "
              f"{med['batch32'] * 1e3:6.2f} ms", flush=True)
    worker.stdin.close()
    worker.wait()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"machine": platform.platform(),
                               "processor": platform.processor(),
                               "cpus": os.cpu_count(), "repeats": repeats,
                               "rtol": RTOL, "atol": ATOL, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
