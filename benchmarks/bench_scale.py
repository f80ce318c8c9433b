"""Scale benchmark (issue 13): a million W1 patients through the CLI, CSV writers, speed per
core against libRoadRunner in a process pool, and start-up costs.

Run from the repository root (``make bench`` runs it with the defaults):

    .venv/bin/python benchmarks/bench_scale.py [--million 1000000] [--csv-patients 20000]
        [--cli-patients 100000] [--rr-patients 4000] [--rounds 3] [--skip PART ...]
        [--json PATH]

Parts (``--skip million csv percore start``):

- million: ``nksim simulate`` of W1 with ``--million`` patients (Parquet), under
  ``/usr/bin/time -v``: wall time and peak resident memory (requirement: <= 5 min,
  <= 3 GB on the 2-core machine); per-chunk cost for docs/scale.md.
- csv: the same 20,000-patient result written as CSV by pandas ``to_csv`` (the writer
  before issue 13) and by pyarrow's CSV writer (now), interleaved rounds, medians
  (requirement: >= 5x faster); the files are checked to hold the same numbers.
- percore: per patient, ``nksim simulate`` (whole CLI run: start, population file, solve,
  Parquet output) against libRoadRunner in a process pool with one process per core (each
  loads nksim's SBML export once), both on every core; interleaved rounds, medians, ratios
  (requirement: >= 20x).
- start: ``python -c pass``, the first run of W1 with an empty model cache (the solver's
  compiled code kept), and cached runs; overhead = wall time - reported solve time.

A measurement: exits 0 whether or not a requirement passes. The machine's load (other
processes, from /proc/stat) is recorded with every timed block.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _w1  # noqa: E402
from _bytecode import compile_bytecode  # noqa: E402
from bench_w1 import SCENARIO, CpuWatch, git_state, log  # noqa: E402

REQ_MILLION_S, REQ_MILLION_GB = 300.0, 3.0
REQ_CSV_SPEEDUP = 5.0
REQ_PER_CORE = 20.0
NKSIM = [sys.executable, "-m", "nksim"]


def population_scenario(n: int, seed: int = 0) -> str:
    return SCENARIO + f"\n[population]\nsize = {n}\nseed = {seed}\n" \
        "lognormal_sigma = { all = 0.2 }\n"


def _time_v(cmd, env=None, cwd=None, timeout=3600):
    """Run ``cmd`` under ``/usr/bin/time -v``: (returncode, wall_s, max_rss_bytes, stdout)."""
    timer = shutil.which("time") or "/usr/bin/time"
    use = Path(timer).exists()
    full = [timer, "-v", *cmd] if use else cmd
    with CpuWatch() as w:
        p = subprocess.run(full, capture_output=True, text=True, env=env, cwd=cwd,
                           timeout=timeout)
    rss = None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if m:
        rss = int(m[1]) * 1024
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)",
                                         p.stderr)]
    _time_v.cpu_s = sum(cpu) if len(cpu) == 2 else None
    return p.returncode, w.wall, rss, p.stdout + p.stderr[-3000:], w.other_cores, use


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------- million
def bench_million(n: int, tmp: Path) -> dict:
    scen = tmp / "w1-million.toml"
    scen.write_text(population_scenario(n))
    out = tmp / "million"
    load0 = _w1.load_average()
    log(f"million: nksim simulate, {n:,} patients (Parquet), under /usr/bin/time -v")
    rc, wall, rss, text, other, timed = _time_v(
        [*NKSIM, "simulate", str(scen), "--out", str(out), "--format", "parquet",
         "--no-progress"])
    cores = os.cpu_count() or 1
    cpu = getattr(_time_v, "cpu_s", None)
    rep = {"patients": n, "returncode": rc, "wall_s": wall, "max_rss_bytes": rss,
           "cpu_s": cpu, "cores": cores,
           # what the wall time would be with every core to itself (CPU time / cores; the
           # serial parts - population, finalisation - make the real figure a bit higher)
           "wall_if_quiet_s": None if cpu is None else cpu / cores,
           "other_cores": other, "load_average_before": load0,
           "load_average_after": _w1.load_average(), "time_v": timed,
           "output": text.strip().splitlines()[-1:] if rc == 0 else text[-2000:]}
    if rc == 0:
        summary = json.loads((out / "summary.json").read_text())
        ex = summary["execution"]
        rep.update(status_counts=summary["status_counts"], chunks=ex["chunks"],
                   chunk_size=ex["chunk_size"], solve_s=summary["run_time_s"],
                   solve_s_per_chunk=summary["run_time_s"] / ex["chunks"],
                   output_bytes=_du(out),
                   parts=len(list((out / "timecourse.parquet").glob("part-*.parquet"))))
        shutil.rmtree(out, ignore_errors=True)
    rep["pass_time"] = rc == 0 and wall <= REQ_MILLION_S
    rep["pass_memory"] = rc == 0 and rss is not None and rss <= REQ_MILLION_GB * 1e9
    return rep


# ---------------------------------------------------------------- csv
def bench_csv(n: int, rounds: int, tmp: Path) -> dict:
    import pandas as pd
    import pyarrow.csv as pcsv

    from nksim.engine import SolverOptions, simulate, timecourse_table

    model, doses = _w1.w1_model()
    P = _w1.population(model.parameter_vector(), n, 0)
    log(f"csv: simulating {n:,} patients once")
    result = simulate(model, _w1.RECORD_TIMES, parameters=P, initial=_w1.Y0, doses=doses,
                      options=SolverOptions(rtol=_w1.RTOL, atol=_w1.ATOL, progress=False))
    old_t, new_t, old_o, new_o = [], [], [], []
    for r in range(rounds):
        with CpuWatch() as w:
            result.to_frame().to_csv(tmp / "old.csv", index=False)
        old_t.append(w.wall)
        old_o.append(w.other_cores)
        with CpuWatch() as w:
            pcsv.write_csv(timecourse_table(result), tmp / "new.csv")
        new_t.append(w.wall)
        new_o.append(w.other_cores)
        log(f"  round {r + 1}: pandas {old_t[-1]:.2f} s, pyarrow {new_t[-1]:.2f} s")
    a, b = pd.read_csv(tmp / "old.csv"), pd.read_csv(tmp / "new.csv")
    same = bool(a.shape == b.shape and list(a.columns) == list(b.columns)
                and all(np.array_equal(a[c].to_numpy(), b[c].to_numpy()) for c in a.columns))
    rep = {"patients": n, "rows": len(a), "pandas_s": old_t, "pyarrow_s": new_t,
           "pandas_other_cores": old_o, "pyarrow_other_cores": new_o,
           "pandas_median_s": statistics.median(old_t),
           "pyarrow_median_s": statistics.median(new_t),
           "bytes_pandas": (tmp / "old.csv").stat().st_size,
           "bytes_pyarrow": (tmp / "new.csv").stat().st_size,
           "same_numbers": same}
    rep["speedup"] = rep["pandas_median_s"] / rep["pyarrow_median_s"]
    rep["pass"] = same and rep["speedup"] >= REQ_CSV_SPEEDUP
    for f in ("old.csv", "new.csv"):
        (tmp / f).unlink()
    return rep


# ---------------------------------------------------------------- per core
_RR = None


def _rr_start(sbml, names, nominal):
    global _RR
    _RR = _w1.RoadRunnerW1(sbml, names)
    _RR.run(list(nominal))  # warm-up, not timed


def _rr_block(rows):
    """(failures, CPU seconds of this worker process) for a block of patients."""
    cpu = time.process_time()
    fails = 0
    for row in rows:
        ok, _msg, _res = _RR.run(row)
        fails += not ok
    return fails, time.process_time() - cpu


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_per_core(n_cli: int, n_rr: int, rounds: int, tmp: Path) -> dict:
    import pandas as pd

    from nksim.model import to_sbml

    cores = os.cpu_count() or 1
    model, doses = _w1.w1_model()
    nominal = model.parameter_vector()
    P = _w1.population(nominal, max(n_cli, n_rr), 0)
    pfile = tmp / "w1-params.parquet"
    pd.DataFrame(P[:n_cli], columns=list(model.parameter_names)).to_parquet(pfile)
    scen = tmp / "w1.toml"
    scen.write_text(SCENARIO)
    sbml = to_sbml(model, doses=doses)
    names = list(model.parameter_names)
    rows = [P[i].tolist() for i in range(n_rr)]
    pieces = [rows[k::cores * 4] for k in range(cores * 4)]
    ctx = mp.get_context("fork")
    log(f"percore: {cores} cores; nksim CLI {n_cli:,} patients vs roadrunner pool "
        f"{n_rr:,} patients, {rounds} interleaved rounds")
    nk, rr, nk_o, rr_o, rr_fail = [], [], [], [], 0
    nk_cpu, rr_cpu = [], []  # CPU seconds per patient (all processes of each side)
    # warm-up of the CLI (compiled model loaded from the cache)
    subprocess.run([*NKSIM, "simulate", str(scen), "--out", str(tmp / "warm")],
                   capture_output=True, timeout=1200)
    with ctx.Pool(cores, initializer=_rr_start, initargs=(sbml, names, nominal)) as pool:
        pool.map(_rr_block, [[list(nominal)]] * cores)  # every process warmed
        for r in range(rounds):
            cpu0 = _children_cpu()
            with CpuWatch() as w:
                p = subprocess.run([*NKSIM, "simulate", str(scen), "--out", str(tmp / "nk"),
                                    "--parameters-file", str(pfile), "--format", "parquet",
                                    "--no-progress"], capture_output=True, text=True,
                                   timeout=3600)
            if p.returncode != 0:
                return {"error": p.stderr[-2000:]}
            nk.append(w.wall / n_cli)
            nk_cpu.append((_children_cpu() - cpu0) / n_cli)
            nk_o.append(w.other_cores)
            with CpuWatch() as w:
                blocks = pool.map(_rr_block, pieces)
            rr_fail += sum(f for f, _ in blocks)
            rr_cpu.append(sum(c for _, c in blocks) / n_rr)
            rr.append(w.wall / n_rr)
            rr_o.append(w.other_cores)
            log(f"  round {r + 1}: nksim {nk[-1] * 1e3:.4f} ms/patient, roadrunner "
                f"{rr[-1] * 1e3:.4f} ms/patient -> {rr[-1] / nk[-1]:.1f}x (CPU time per "
                f"patient {nk_cpu[-1] * 1e3:.4f} vs {rr_cpu[-1] * 1e3:.4f} ms -> "
                f"{rr_cpu[-1] / nk_cpu[-1]:.1f}x; others used {nk_o[-1] or 0:.2f} and "
                f"{rr_o[-1] or 0:.2f} cores)")
    rep = {"cores": cores, "nksim_patients": n_cli, "roadrunner_patients": n_rr,
           "nksim_ms_per_patient": [x * 1e3 for x in nk],
           "roadrunner_ms_per_patient": [x * 1e3 for x in rr],
           "nksim_other_cores": nk_o, "roadrunner_other_cores": rr_o,
           "roadrunner_failures": rr_fail,
           "ratios": [b / a for a, b in zip(nk, rr, strict=True)],
           "nksim_cpu_ms_per_patient": [x * 1e3 for x in nk_cpu],
           "roadrunner_cpu_ms_per_patient": [x * 1e3 for x in rr_cpu],
           "cpu_ratios": [b / a for a, b in zip(nk_cpu, rr_cpu, strict=True)]}
    rep["cpu_ratio_of_medians"] = statistics.median(rr_cpu) / statistics.median(nk_cpu)
    rep["nksim_median_ms"] = statistics.median(rep["nksim_ms_per_patient"])
    rep["roadrunner_median_ms"] = statistics.median(rep["roadrunner_ms_per_patient"])
    rep["ratio_of_medians"] = rep["roadrunner_median_ms"] / rep["nksim_median_ms"]
    rep["nksim_core_ms_per_patient"] = rep["nksim_median_ms"] * cores
    rep["roadrunner_core_ms_per_patient"] = rep["roadrunner_median_ms"] * cores
    rep["pass"] = rep["ratio_of_medians"] >= REQ_PER_CORE
    return rep


# ---------------------------------------------------------------- start-up
def bench_start(runs: int, tmp: Path) -> dict:
    """First runs (each with its own empty model cache) and cached runs of a one-patient W1
    simulation, after one untimed run that brings Python, the packages and the solver's
    cached code into the file cache (a first run of a *model*, not of the machine)."""
    scen = tmp / "w1-one.toml"
    scen.write_text(SCENARIO)
    rep = {"python_pass_s": [], "runs": []}
    for _ in range(runs):
        with CpuWatch() as w:
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        rep["python_pass_s"].append(w.wall)

    def one(cache: Path, out: Path, cached: bool, label: str = "") -> dict | None:
        env = dict(os.environ, NKSIM_CACHE_DIR=str(cache))
        try:
            with CpuWatch() as w:
                p = subprocess.run([*NKSIM, "simulate", str(scen), "--out", str(out)],
                                   capture_output=True, text=True, env=env, timeout=1200)
        except subprocess.TimeoutExpired:
            rep["error"] = "a one-patient run took more than 1200 s"
            return None
        if p.returncode != 0:
            rep["error"] = p.stderr[-2000:]
            return None
        solve = json.loads((out / "summary.json").read_text())["run_time_s"]
        run = {"cached": cached, "wall_s": w.wall, "solve_s": solve,
               "overhead_s": w.wall - solve, "other_cores": w.other_cores}
        rep["runs"].append(run)
        label = label or ("cached" if cached else "first (empty model cache)")
        log(f"  start {label}: {w.wall:.2f} s")
        return run

    if one(tmp / "warm-cache", tmp / "warm", cached=False, label="warm-up (not counted)") is None:
        return rep
    rep["runs"].clear()
    # a first run, its cached reruns at once (as a user reruns), then more first runs, each
    # with an empty model cache (the solver's code stays cached)
    if one(tmp / "model-cache-0", tmp / "first0", cached=False) is None:
        return rep
    for k in range(max(1, runs)):
        if one(tmp / "model-cache-0", tmp / f"start{k}", cached=True) is None:
            return rep
    for k in range(1, max(1, runs // 2)):
        if one(tmp / f"model-cache-{k}", tmp / f"first{k}", cached=False) is None:
            return rep
    first = [r["wall_s"] for r in rep["runs"] if not r["cached"]]
    cached = [r["overhead_s"] for r in rep["runs"] if r["cached"]]
    rep["first_s"] = statistics.median(first)
    rep["first_runs_s"] = first
    rep["cached_overhead_median_s"] = statistics.median(cached)
    rep["pass_cached_overhead"] = rep["cached_overhead_median_s"] < 1.0
    rep["pass_first"] = rep["first_s"] < 5.0
    return rep


# ---------------------------------------------------------------- report
def print_report(rep: dict) -> None:
    def verdict(ok):
        return "PASS" if ok else "FAIL"

    print(f"\nScale benchmark, {rep['when']}, nksim {rep['git'].get('commit', '?')}, "
          f"{rep['machine'].get('cpu_model')} x{rep['machine'].get('cpu_count')}, "
          f"load average at start {rep['load_average_start']}")
    m = rep.get("million")
    if m:
        rss = m["max_rss_bytes"]
        print(f"million: {m['patients']:,} patients in {m['wall_s']:.1f} s, peak RSS "
              f"{rss / 1e9 if rss else float('nan'):.2f} GB (other processes "
              f"{m['other_cores'] or 0:.2f} cores; load {m['load_average_before']}) "
              f"time {verdict(m['pass_time'])} memory {verdict(m['pass_memory'])}")
        if m.get("cpu_s"):
            print(f"  CPU time {m['cpu_s']:.0f} s: {m['cpu_s'] / m['patients'] * 1e3:.3f} ms "
                  f"per patient; CPU time / {m['cores']} cores = {m['wall_if_quiet_s']:.0f} s")
        if "chunks" in m:
            print(f"  {m['chunks']} chunks of {m['chunk_size']}, solve {m['solve_s']:.1f} s "
                  f"({m['solve_s_per_chunk']:.2f} s per chunk), output "
                  f"{m['output_bytes'] / 1e9:.2f} GB, {m['status_counts']}")
    c = rep.get("csv")
    if c:
        print(f"csv: {c['patients']:,} patients ({c['rows']:,} rows): pandas "
              f"{c['pandas_median_s']:.2f} s, pyarrow {c['pyarrow_median_s']:.2f} s -> "
              f"{c['speedup']:.1f}x, same numbers {c['same_numbers']} {verdict(c['pass'])}")
    p = rep.get("percore")
    if p and "error" not in p:
        print(f"per core ({p['cores']} cores each): nksim CLI {p['nksim_median_ms']:.4f} "
              f"ms/patient, roadrunner pool {p['roadrunner_median_ms']:.4f} ms/patient -> "
              f"{p['ratio_of_medians']:.1f}x (rounds: "
              f"{', '.join(f'{x:.1f}' for x in p['ratios'])}) {verdict(p['pass'])}")
        print(f"  CPU time per patient (every process of each side): nksim "
              f"{statistics.median(p['nksim_cpu_ms_per_patient']):.4f} ms, roadrunner "
              f"{statistics.median(p['roadrunner_cpu_ms_per_patient']):.4f} ms -> "
              f"{p['cpu_ratio_of_medians']:.1f}x (less sensitive to other processes' load)")
    s = rep.get("start")
    if s and "error" not in s:
        print(f"start: python -c pass {statistics.median(s['python_pass_s']):.2f} s; first "
              f"run (empty model cache, median of {len(s['first_runs_s'])}) "
              f"{s['first_s']:.1f} s {verdict(s['pass_first'])}; "
              f"cached overhead {s['cached_overhead_median_s']:.2f} s "
              f"{verdict(s['pass_cached_overhead'])}")
    for name in ("percore", "start"):
        if rep.get(name, {}).get("error"):
            print(f"{name}: error {rep[name]['error'][-400:]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--million", type=int, default=1_000_000)
    ap.add_argument("--csv-patients", type=int, default=20_000)
    ap.add_argument("--cli-patients", type=int, default=100_000)
    ap.add_argument("--rr-patients", type=int, default=4_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--start-runs", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["million", "csv", "percore", "start"])
    ap.add_argument("--json", type=Path, default=HERE / "results" / "scale-latest.json")
    args = ap.parse_args(argv)
    compile_bytecode()  # new processes are timed: nksim's bytecode as installed
    rep = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "git": git_state(),
           "machine": _w1.machine_info(), "load_average_start": _w1.load_average(),
           "settings": vars(args) | {"json": str(args.json)}}
    with tempfile.TemporaryDirectory(prefix="nksim-bench-scale-") as tmp:
        tmp = Path(tmp)
        if "start" not in args.skip:
            rep["start"] = bench_start(args.start_runs, tmp)
        if "csv" not in args.skip:
            rep["csv"] = bench_csv(args.csv_patients, args.rounds, tmp)
        if "percore" not in args.skip:
            rep["percore"] = bench_per_core(args.cli_patients, args.rr_patients, args.rounds,
                                            tmp)
        if "million" not in args.skip:
            rep["million"] = bench_million(args.million, tmp)
    rep["load_average_end"] = _w1.load_average()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rep, indent=2, default=str))
    print_report(rep)
    print(f"(details: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
