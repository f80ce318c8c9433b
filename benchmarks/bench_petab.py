"""PEtab benchmark collection: import, nominal log-likelihood, multi-start fits, times.

    .venv/bin/python benchmarks/bench_petab.py nominal [--timeout 300]
    .venv/bin/python benchmarks/bench_petab.py fit PROBLEM [--starts 100] [--gradient sensitivities]

Each problem runs in its own process (a time limit per problem; numba compilation of a new
model is counted apart as the first call's extra time). Results are appended to
benchmarks/results/petab.jsonl; docs/estimation.md tabulates them. Research use only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = ROOT.parent / "shared" / "data" / "petab-benchmark" / "Benchmark-Models"
OUT = ROOT / "benchmarks" / "results" / "petab.jsonl"


def _yaml(problem: str) -> Path:
    folder = COLLECTION / problem
    return sorted(folder.glob("*.yaml"))[0]


def one_nominal(problem: str) -> dict:
    from nksim.analysis import read_petab
    from nksim.errors import UserError

    t0 = time.perf_counter()
    try:
        prob = read_petab(_yaml(problem))
    except UserError as exc:
        return {"problem": problem, "status": "refused", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        return {"problem": problem, "status": "error",
                "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    t_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = prob.nominal_summary()  # includes compilation on a first run
    t_first = time.perf_counter() - t1
    t2 = time.perf_counter()
    again = prob.nominal_summary()
    t_sim = time.perf_counter() - t2
    return {"problem": problem, "status": "ok", **again, "read_s": t_read,
            "first_call_s": t_first, "simulate_s": t_sim,
            "n_estimated": prob.n_estimated, "n_conditions": len(prob.conditions),
            "n_states": len(prob.model.states),
            "gradient": __import__("nksim.analysis._objective", fromlist=["x"])
            .gradient_method(prob), "llh_first": first["llh"]}


def one_fit(problem: str, starts: int, gradient: str = "") -> dict:
    from nksim.analysis import multistart, read_petab

    prob = read_petab(_yaml(problem))
    if gradient:
        prob.gradient = gradient
    prob.nominal_summary()  # compile outside the timing
    t0 = time.perf_counter()
    res = multistart(prob, starts, seed=0)
    seconds = time.perf_counter() - t0
    from nksim.analysis._objective import gradient_method

    method = gradient_method(prob)
    nominal_nll = -prob.nominal_summary()["llh"]
    return {"problem": problem, "status": "fit", "starts": starts, "best_nll": res.best_nll,
            "nominal_nll_without_priors": nominal_nll,
            "within_0.1": int((res.starts["nll"] - res.best_nll < 0.1).sum()),
            "seconds": seconds, "batches": res.n_batches, "gradient": method}


def _record(row: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["_nominal"]:
        print(json.dumps(one_nominal(argv[1])))
        return
    if argv[:1] == ["_fit"]:
        print(json.dumps(one_fit(argv[1], int(argv[2]), *argv[3:4])))
        return
    timeout = int(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 300
    if argv[:1] == ["nominal"]:
        names = argv[1:] if len(argv) > 1 and not argv[1].startswith("--") else \
            sorted(p.name for p in COLLECTION.iterdir() if p.is_dir())
        jobs = [(n, ["_nominal", n]) for n in names]
    elif argv[:1] == ["fit"]:
        starts = int(argv[argv.index("--starts") + 1]) if "--starts" in argv else 100
        grad = argv[argv.index("--gradient") + 1] if "--gradient" in argv else ""
        jobs = [(argv[1], ["_fit", argv[1], str(starts), grad])]
    else:
        raise SystemExit(__doc__)
    for name, args in jobs:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, __file__, *args], capture_output=True,
                                  text=True, timeout=timeout)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            row = json.loads(lines[-1]) if lines else {
                "problem": name, "status": "error",
                "reason": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
        except subprocess.TimeoutExpired:
            row = {"problem": name, "status": "timeout", "reason": f"over {timeout} s"}
        row["wall_s"] = time.perf_counter() - t0
        _record(row)


if __name__ == "__main__":
    main(sys.argv[1:])
