"""PEtab benchmark collection: import, nominal log-likelihood, multi-start fits, times.

    .venv/bin/python benchmarks/bench_petab.py nominal [--timeout 300]
    .venv/bin/python benchmarks/bench_petab.py fit PROBLEM [--starts 100] [--gradient sensitivities]
    .venv/bin/python benchmarks/bench_petab.py table   # Markdown for docs/estimation.md

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


# Reference log-likelihoods at the nominal parameters: AMICI's benchmark tests
# (AMICI-dev/AMICI, tests/benchmark_models/benchmark_models.yaml, commit 5c524dd).
AMICI_LLH = {
    "Bachmann_MSB2011": 418.40573341425295, "Beer_MolBioSystems2014": 58622.9145631413,
    "Boehm_JProteomeRes2014": -138.22199693517703, "Borghans_BiophysChem1997": 83.3237191357272,
    "Brannmark_JBC2010": -141.889113770537, "Bruno_JExpBot2016": 46.688176988431806,
    "Chen_MSB2009": -115700.1192629893, "Crauste_CellSystems2017": -190.96521897435176,
    "Elowitz_Nature2000": 63.20279991419332, "Fiedler_BMCSystBiol2016": 58.58390161681,
    "Fujita_SciSignal2010": 53.08377736998929, "Isensee_JCB2018": -3949.375966548649,
    "Lucarelli_CellSystems2018": -1681.6059879426584, "Schwen_PONE2014": -943.9992988598723,
    "Sneyd_PNAS2002": 319.79177818768756, "Smith_BMCSystBiol2013": -888198.436541014,
    "Weber_BMC2015": -296.2017922646865, "Zheng_PNAS2012": 278.33353271001477,
}


def table() -> str:
    """Markdown table of the latest result per problem in benchmarks/results/petab.jsonl."""
    nominal, fits = {}, {}
    for line in OUT.read_text().splitlines():
        row = json.loads(line)
        (fits if row.get("status") == "fit" else nominal)[row["problem"]] = row
    lines = ["| problem | states | estimated | nksim llh (nominal) | AMICI llh | difference "
             "| one simulation (s) | best of starts (nll) | starts within 0.1 | fit time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in sorted(nominal):
        r = nominal[name]
        f = fits.get(name)
        fit_cells = (f"{f['best_nll']:.6f} ({f['starts']} starts, {f['gradient']})",
                     str(f["within_0.1"]), f"{f['seconds']:.0f}") if f else ("", "", "")
        if r["status"] != "ok":
            lines.append(f"| {name} | | | {r['status']}: {r['reason']} | "
                         f"{AMICI_LLH.get(name, '')} | | | | | |")
            continue
        ref = AMICI_LLH.get(name)
        diff = f"{r['llh'] - ref:.2e}" if ref is not None else ""
        lines.append(f"| {name} | {r['n_states']} | {r['n_estimated']} | {r['llh']:.6f} | "
                     f"{'' if ref is None else f'{ref:.6f}'} | {diff} | "
                     f"{r['simulate_s']:.3f} | {' | '.join(fit_cells)} |")
    return "\n".join(lines)


def _record(row: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["_nominal"]:
        print(json.dumps(one_nominal(argv[1])))
        return
    if argv[:1] == ["table"]:
        print(table())
        return
    if argv[:1] == ["_fit"]:
        print(json.dumps(one_fit(argv[1], int(argv[2]), *argv[3:4])))
        return
    timeout = int(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 300
    if argv[:1] == ["nominal"]:
        args = argv[1:argv.index("--timeout")] + argv[argv.index("--timeout") + 2:] \
            if "--timeout" in argv else argv[1:]
        names = args or sorted(p.name for p in COLLECTION.iterdir() if p.is_dir())
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
