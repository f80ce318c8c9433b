"""SDE engine speed: 10^5 virtual mice over a whole lifetime (issue 12: < 30 s on 2 cores).

Workload: the SR model with the Raz 2026 ``raz2026_mice_F`` fit and the Karin 2019 mouse fit,
100,000 mice each from birth to death (everyone dies; follow-up cap 6 years), Euler–Maruyama
with the Brownian-bridge crossing test, mirror reflection at 0, dt = 0.5 day (the default
for mice; lifespans change by < 1 % when dt is halved, tests/test_sde.py), X recorded every
14 days. Timed: the whole ``simulate_arm`` call (parameters, input table, integration,
records), after one warm-up call that loads the compiled kernel; median of ``--repeats``
runs, with every core and with one thread. Also prints the CPU time (all threads) and steps
per second: on a machine shared with other work the wall time overstates the cost, and
CPU time / cores is what an idle machine would take. Writes
``benchmarks/results/sde.json``.

    .venv/bin/python benchmarks/bench_sde.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from nksim.disease.ageing import simulate_arm

LIMIT_S = 30.0


def run(parameter_set: str, n: int, threads: int | None) -> tuple[float, float, float]:
    old = numba.get_num_threads()
    try:
        if threads:
            numba.set_num_threads(threads)
        start, cpu = time.perf_counter(), time.process_time()
        r = simulate_arm("bench", parameter_set, n, dt=0.5, follow_up_days=6 * 365.0,
                         record_every_days=14.0, seed=1)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        numba.set_num_threads(old)
    steps = float(np.nansum(r.durations) / 0.5)
    return elapsed, cpu, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    simulate_arm("warm", "raz2026_mice_F", 100, dt=0.5, follow_up_days=6 * 365.0, seed=0)
    rows = []
    for ps in ("raz2026_mice_F", "karin2019_mouse"):
        for threads in (None, 1):
            times, cpus, steps = [], [], 0.0
            for _ in range(args.repeats):
                t, c, steps = run(ps, args.n, threads)
                times.append(t)
                cpus.append(c)
            med = statistics.median(times)
            cpu = statistics.median(cpus)
            label = f"{numba.get_num_threads()} threads" if threads is None else "1 thread"
            rows.append({"parameter_set": ps, "threads": label, "n": args.n,
                         "median_s": round(med, 2), "min_s": round(min(times), 2),
                         "max_s": round(max(times), 2),
                         "cpu_s": round(cpu, 2), "steps_per_s": round(steps / med, 0),
                         "steps_per_cpu_s": round(steps / cpu, 0)})
            ok = "ok" if med < LIMIT_S else "OVER"
            print(f"{ps:16s} {label:10s} {args.n} mice: median {med:6.2f} s "
                  f"(range {min(times):.2f}-{max(times):.2f}), CPU {cpu:6.2f} s; "
                  f"{steps / med / 1e6:5.1f} M steps/s, {steps / cpu / 1e6:5.1f} M steps per "
                  f"CPU-s; limit {LIMIT_S:.0f} s: {ok}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"load average during the run: {load}")
    out = Path(__file__).parent / "results" / "sde.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cpu_count": os.cpu_count(),
                               "load_average_1min": load, "machine": platform.platform(),
                               "numba": numba.__version__}, indent=2))


if __name__ == "__main__":
    main()
