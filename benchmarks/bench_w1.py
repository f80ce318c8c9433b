"""W1 benchmark: nksim against libRoadRunner and SciPy, with accuracy against Radau.

Run from the repository root (``make bench`` runs it with the defaults):

    .venv/bin/python benchmarks/bench_w1.py [--patients 10000] [--rr-patients N]
        [--lsoda-patients 100] [--reference-patients 200] [--threads N] [--seed 0]
        [--json PATH]

It is a measurement: the exit status is 0 whether or not a requirement passes (2 only
for bad arguments). See benchmarks/README.md and docs/performance.md for the method.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _w1  # noqa: E402
from _bytecode import compile_bytecode  # noqa: E402

REQ_RATIO = 20.0  # roadrunner per-patient cost / nksim per-patient cost, at 10,000 patients
REQ_PATIENTS = 10_000
REQ_REL, REQ_CELLS = 1e-4, 1.0  # |T - T_ref| <= max(1e-4 |T_ref|, 1 cell)
REQ_COLD_S = 3.0
RR_BLOCK = 1000  # roadrunner patients per timed block
REF_RTOL = REF_ATOL = 1e-10


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- load accounting
class CpuWatch:
    """CPU used by *other* processes while a block runs (from /proc/stat).

    ``other_cores`` = (busy CPU time of the whole machine - CPU time of this process and
    its finished children) / wall time: about 0 on a quiet machine, 1.0 = one core busy.
    """

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.busy0 = _busy_seconds()
        self.own0 = _own_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        busy = _busy_seconds()
        if busy is None or self.busy0 is None or self.wall <= 0:
            self.other_cores = None
        else:
            other = (busy - self.busy0) - (_own_cpu() - self.own0)
            self.other_cores = round(max(0.0, other) / self.wall, 3)


def _busy_seconds():
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Quiet:
    """Waiting for a quiet machine, and re-running a timing that others disturbed.

    Before each timed block, wait (up to ``max_wait`` s) until other processes use less
    than ``threshold`` cores over a 2 s window; if they used more than ``threshold``
    during the block, run it again (up to ``retries`` times) and keep the least disturbed.
    """

    def __init__(self, threshold=0.2, max_wait=0.0, retries=0):
        self.threshold, self.max_wait, self.retries = threshold, max_wait, retries
        self.log = []  # one entry per timed block: label, attempts, waited, other_cores

    def wait(self) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < self.max_wait:
            b0, o0 = _busy_seconds(), _own_cpu()
            time.sleep(2.0)
            b1, o1 = _busy_seconds(), _own_cpu()
            if b0 is None or ((b1 - b0) - (o1 - o0)) / 2.0 < self.threshold / 2:
                break
        return time.perf_counter() - t0

    def run(self, label, fn):
        """``fn()`` timed under :class:`CpuWatch`; returns (value, watch)."""
        best, waited, attempts = None, 0.0, 0
        for attempts in range(1, self.retries + 2):  # noqa: B007
            waited += self.wait()
            with CpuWatch() as w:
                value = fn()
            other = w.other_cores if w.other_cores is not None else 0.0
            if best is None or other < best[2]:
                best = (value, w, other)
            value = None
            if other <= self.threshold:
                break
            log(f"  {label}: other processes used {other:.2f} cores; again")
        self.log.append({"label": label, "attempts": attempts, "waited_s": round(waited, 1),
                         "other_cores": best[1].other_cores})
        return best[0], best[1]


QUIET = Quiet()


# ---------------------------------------------------------------- nksim
def run_nksim(model, doses, P, threads, label):
    """One timed ``simulate`` call on all patients; returns (result, watch)."""
    from nksim.engine import SolverOptions, simulate

    opts = SolverOptions(rtol=_w1.RTOL, atol=_w1.ATOL, threads=threads, progress=False)
    return QUIET.run(label, lambda: simulate(
        model, _w1.RECORD_TIMES, parameters=P, initial=_w1.Y0, doses=doses, options=opts))


def nksim_summary(result):
    pt = result.patients
    T = result.dataset["T"].values
    failed = pt.index[pt["status"] != "ok"].tolist()
    return {
        "T_final": T[:, -1].copy(),
        "T_min_daily": np.nanmin(T, axis=1),
        "t_extinct": pt["extinction_time_T"].to_numpy(dtype=float),
        "failed": failed,
        "failures": [(int(i), str(pt.loc[i, "message"])) for i in failed[:50]],
        "n_steps_mean": float(pt["n_steps"].mean()),
        "n_rejected_mean": float(pt["n_rejected"].mean()),
        "T_daily": T.copy(),
        "final_all": np.stack([result.dataset[s].values[:, -1] for s in _w1.STATES], axis=1),
    }


# ---------------------------------------------------------------- libRoadRunner
class RoadRunnerBench:
    """libRoadRunner on patients ``idx``, timed block by block (see :class:`Quiet`)."""

    def __init__(self, sbml, names, P, idx, scalar_atol=False):
        self.sbml, self.names, self.idx, self.scalar = sbml, names, np.asarray(idx), scalar_atol
        self.rr = self._instance()
        self.settings = self.rr.settings()
        self.rr.run(P[0].tolist())  # warm-up (not timed): first simulate after load
        self.rows = [P[i].tolist() for i in self.idx]  # conversion outside the timed loop
        self.T_daily = np.full((len(self.idx), _w1.RECORD_TIMES.size), np.nan)
        self.fails = {}
        self.walls = []  # (patients, wall, other_cores) per block
        self.label = "roadrunner" + (" scalar atol" if scalar_atol else "")

    def _instance(self):
        rr = _w1.RoadRunnerW1(self.sbml, self.names)
        if self.scalar:
            rr.rr.integrator.absolute_tolerance = _w1.ATOL  # roadrunner scales it per state
        return rr

    def blocks(self):
        return [(lo, min(lo + RR_BLOCK, len(self.rows))) for lo in range(0, len(self.rows),
                                                                           RR_BLOCK)]

    def run_block(self, lo, hi):
        def work():
            for k in range(lo, hi):
                ok, msg, res = self.rr.run(self.rows[k])
                if ok:
                    self.T_daily[k] = res[:, 1]
                    self.fails.pop(k, None)
                else:
                    self.fails[k] = msg

        _, w = QUIET.run(f"{self.label} {lo}-{hi}", work)
        self.walls.append((hi - lo, w.wall, w.other_cores))
        return w.wall / (hi - lo)

    def finish(self):
        """Totals, and the reset check: patient 0 again, here and on a fresh instance."""
        again = self.rr.run(self.rows[0])[2]
        first = self._instance().run(self.rows[0])[2]
        reproducible = bool(again is not None and first is not None
                            and np.array_equal(again[:, 1], self.T_daily[0])
                            and np.array_equal(first[:, 1], self.T_daily[0]))
        wall = sum(w for _, w, _ in self.walls)
        busy = sum(w * (o or 0.0) for _, w, o in self.walls)
        return {
            "T_daily": self.T_daily,
            "reset_reproducible": reproducible,
            "wall": wall,
            "block_ms_per_patient": [w / n * 1e3 for n, w, _ in self.walls],
            "other_cores": round(busy / wall, 3) if wall > 0 else None,
            "fails": [(int(self.idx[k]), m) for k, m in sorted(self.fails.items())],
            "load_time": self.rr.load_time,
            "settings": self.settings,
        }


def roadrunner_daily_T(sbml, names, P, idx):
    """Untimed roadrunner daily T of patients ``idx`` (for the accuracy check)."""
    rr = _w1.RoadRunnerW1(sbml, names)
    out = np.full((len(idx), _w1.RECORD_TIMES.size), np.nan)
    for k, i in enumerate(idx):
        ok, _, res = rr.run(P[i].tolist())
        if ok:
            out[k] = res[:, 1]
    return out


# ---------------------------------------------------------------- SciPy
def run_lsoda(P, idx, jacobian):

    def loop():
        T_daily = np.full((len(idx), _w1.RECORD_TIMES.size), np.nan)
        fails, nfev = [], 0
        for k, i in enumerate(idx):
            r = _w1.solve_scipy(P[i], "LSODA", _w1.RTOL, _w1.ATOL, jacobian)
            nfev += r.nfev
            if r.ok:
                T_daily[k] = r.T_daily
            else:
                fails.append((int(i), r.message))
        return T_daily, fails, nfev

    (T_daily, fails, nfev), w = QUIET.run(f"LSODA jac={jacobian}", loop)
    return {"T_daily": T_daily, "wall": w.wall, "other_cores": w.other_cores, "fails": fails,
            "nfev_mean": nfev / max(1, len(idx))}


def run_reference(P, idx, processes, rtol=REF_RTOL, atol=REF_ATOL):
    """Radau (analytic Jacobian) on patients ``idx``, in ``processes`` worker processes."""
    idx = [int(i) for i in idx]
    out = {}
    tasks = [(i, P[i], "Radau", rtol, atol, True) for i in idx]
    t0 = time.perf_counter()
    if processes > 1 and len(idx) > 1:
        ctx = mp.get_context("spawn")
        with ctx.Pool(processes) as pool:
            for n, (i, r, dt) in enumerate(pool.imap_unordered(_w1.scipy_worker, tasks), 1):
                out[i] = (r, dt)
                if n % 50 == 0:
                    log(f"  reference {n}/{len(idx)}")
    else:
        for task in tasks:
            i, r, dt = _w1.scipy_worker(task)
            out[i] = (r, dt)
    wall = time.perf_counter() - t0
    return out, wall


# ---------------------------------------------------------------- accuracy
def accuracy(daily_test, daily_ref, idx):
    """Check |T - T_ref| <= max(1e-4 |T_ref|, 1 cell) at day 150 for every patient in ``idx``.

    ``daily_*``: (patients, 151) daily T. The requirement is on the final value; the same
    allowance over all 151 daily values is reported as information (``daily_*``).
    """
    daily_test = np.asarray(daily_test, dtype=float).reshape(len(idx), -1)
    daily_ref = np.asarray(daily_ref, dtype=float).reshape(len(idx), -1)
    T_test, T_ref = daily_test[:, -1], daily_ref[:, -1]
    err = np.abs(T_test - T_ref)
    allow = np.maximum(REQ_REL * np.abs(T_ref), REQ_CELLS)
    finite = np.isfinite(T_test)
    viol = ~finite | (err > allow)
    both_alive = finite & (T_ref > 0)
    rel = np.where(both_alive, err / np.where(T_ref > 0, T_ref, 1.0), np.nan)
    ratio = np.where(finite, err / allow, np.nan)
    worst = int(np.nanargmax(ratio)) if finite.any() else None
    ext_test = finite & (T_test < _w1.EXTINCTION)
    ext_ref = T_ref < _w1.EXTINCTION
    d_ratio = np.abs(daily_test - daily_ref) / np.maximum(REQ_REL * np.abs(daily_ref), REQ_CELLS)
    d_ratio = np.where(np.isfinite(daily_test) & np.isfinite(daily_ref), d_ratio, np.nan)
    d_max = np.nanmax(d_ratio, axis=1) if np.isfinite(d_ratio).any() else np.full(len(idx), np.nan)
    d_worst = int(np.nanargmax(d_max)) if np.isfinite(d_max).any() else None
    return {
        "checked": int(len(idx)),
        "not_finite": int((~finite).sum()),
        "violations": [
            {"patient": int(idx[k]), "T": _num(T_test[k]), "T_ref": _num(T_ref[k]),
             "abs_err": _num(err[k])}
            for k in np.flatnonzero(viol)
        ],
        "max_rel_err_alive": _num(np.nanmax(rel)) if np.isfinite(rel).any() else None,
        "max_abs_err_extinct_ref": _num(np.nanmax(np.where(ext_ref & finite, err, np.nan)))
        if (ext_ref & finite).any() else None,
        "max_err_over_allowance": _num(np.nanmax(ratio)) if finite.any() else None,
        "worst_patient": int(idx[worst]) if worst is not None else None,
        "extinction_disagreements": int((ext_test != ext_ref)[finite].sum()),
        "daily_max_err_over_allowance": _num(d_max[d_worst]) if d_worst is not None else None,
        "daily_worst_patient": int(idx[d_worst]) if d_worst is not None else None,
        "daily_patients_outside": int(np.sum(d_max > 1.0)),
    }


def _max(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def edge_cases(nk, rr_final_T, rr_idx, rng, cap, t_end=_w1.T_END):
    """Patients where the extinction decision is close (from nksim's own results).

    (a) final T in (0, 10] cells; (b) extinct in the last 10 days; (c) the 25 latest
    extinctions and the 25 survivors with the smallest daily minimum of T; (d) patients
    where nksim and roadrunner disagree beyond the accuracy allowance (up to 50).
    """
    T, t_ext, T_min = nk["T_final"], nk["t_extinct"], nk["T_min_daily"]
    groups = {}
    groups["final_T_within_10x_threshold"] = np.flatnonzero((T > 0) & (T <= 10 * _w1.EXTINCTION))
    groups["extinct_in_last_10_days"] = np.flatnonzero(t_ext >= t_end - 10)
    ext = np.flatnonzero(np.isfinite(t_ext))
    groups["latest_25_extinctions"] = ext[np.argsort(t_ext[ext])[-25:]]
    alive = np.flatnonzero(T > 0)
    groups["closest_25_survivors"] = alive[np.argsort(T_min[alive])[:25]]
    if rr_final_T is not None:
        Tn = T[rr_idx]
        d = np.abs(rr_final_T - Tn) > np.maximum(REQ_REL * np.abs(Tn), REQ_CELLS)
        d |= ~np.isfinite(rr_final_T)
        groups["nksim_roadrunner_disagree"] = np.asarray(rr_idx)[np.flatnonzero(d)][:50]
    chosen = np.unique(np.concatenate([g for g in groups.values()] or [np.zeros(0, int)]))
    chosen = chosen.astype(int)
    if chosen.size > cap:
        chosen = np.sort(rng.choice(chosen, cap, replace=False))
    return chosen, {k: int(len(v)) for k, v in groups.items()}


# ---------------------------------------------------------------- cold start
SCENARIO = """\
[model]
name = "depillis2006"
parameter_set = "patient9"

[initial]
T = 1e6
N = 1e3
L = 10
C = 6e8

[[doses]]
state = "M"
amount = 5
start = 7
every = 7
count = 10

[simulation]
t_end = 150
record_every = 1
rtol = 1e-6
atol = 1e-6
"""

FALLBACK = textwrap.dedent("""\
    import numpy as np
    from nksim.dosing import Dose
    from nksim.engine import SolverOptions, simulate
    from nksim.library import get_model
    m = get_model("depillis2006", parameter_set="patient9")
    r = simulate(m, np.arange(151.0), initial=np.array([1e6, 1e3, 10, 6e8, 0, 0]),
                 doses=[Dose("M", 5.0, 7.0, every=7.0, count=10)],
                 options=SolverOptions(rtol=1e-6, atol=1e-6))
    assert r.status_counts == {"ok": 1}, r.status_counts
""")


def cli_available() -> bool:
    try:
        p = subprocess.run([sys.executable, "-m", "nksim", "simulate", "--help"],
                           capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0


def cold_start(runs=3, timeout=600):
    """Wall time of ``python -m nksim simulate`` in fresh processes, first with empty caches.

    NKSIM_CACHE_DIR (generated model code) and NUMBA_CACHE_DIR (numba's compiled code of
    the model *and* of the solver) both point to a new empty folder: the first run
    compiles everything, the later runs load it from the cache.
    """
    use_cli = cli_available()
    with tempfile.TemporaryDirectory(prefix="nksim-bench-cold-") as tmp:
        tmp = Path(tmp)
        scen = tmp / "w1-one-patient.toml"
        scen.write_text(SCENARIO)
        env = dict(os.environ, NKSIM_CACHE_DIR=str(tmp / "nksim-cache"),
                   NUMBA_CACHE_DIR=str(tmp / "numba-cache"))
        times, outputs, others = [], [], []
        for k in range(runs):
            out = tmp / f"out{k}"
            if use_cli:
                cmd = [sys.executable, "-m", "nksim", "simulate", str(scen), "--out", str(out)]
            else:
                cmd = [sys.executable, "-c", FALLBACK]
            QUIET.wait()
            with CpuWatch() as w:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                   timeout=timeout, cwd=tmp)
            dt = w.wall
            others.append(w.other_cores)
            if p.returncode != 0:
                return {"command": "nksim simulate" if use_cli else "python -c (fallback)",
                        "error": f"exit {p.returncode}: {(p.stderr or p.stdout)[-800:]}",
                        "times_s": times}
            times.append(dt)
            outputs.append(sorted(str(f.relative_to(out)) for f in out.rglob("*"))
                           if out.exists() else [])
    return {
        "command": ("python -m nksim simulate SCENARIO.toml --out DIR" if use_cli else
                    "python -c <get_model + simulate> (fallback: nksim simulate not available)"),
        "times_s": times,
        "other_cores": others,
        "first_s": times[0],
        "second_s": times[1] if len(times) > 1 else None,
        "outputs": outputs[-1] if outputs else [],
    }


def git_state() -> dict:
    """Commit of the working tree and whether src/ differs from it (read-only git calls)."""
    def git(*a):
        try:
            p = subprocess.run(["git", *a], cwd=HERE.parent, capture_output=True, text=True,
                               timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return p.stdout.strip() if p.returncode == 0 else None

    dirty = git("status", "--porcelain", "--", "src")
    return {"commit": git("rev-parse", "HEAD"),
            "src_modified": None if dirty is None else bool(dirty),
            "src_changes": dirty.splitlines()[:30] if dirty else []}


# ---------------------------------------------------------------- report
def _g(x):
    return "-" if x is None else f"{x:.3g}"


def fmt_ms(x):
    return "-" if x is None else (f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}")


def fmt_ratio(x):
    return "-" if x is None else f"{x:.1f}x"


def print_report(rep):
    m = rep["machine"]
    print()
    print("=" * 100)
    print("W1 benchmark: de Pillis 2006, patient 9, sigma 0.2, 10 chemo boluses, 150 days, "
          "rtol = atol = 1e-6")
    print(f"Machine: {m['cpu_model']}, {m['cpu_count']} cores, {m.get('memory_gib')} GiB, "
          f"AVX-512 {m.get('avx512f')}; Python {m['python']}, numpy {m['numpy']}, "
          f"scipy {m['scipy']}, numba {m['numba']}, libroadrunner {m['libroadrunner']}, "
          f"nksim {m.get('nksim')}")
    print(f"Load average (1/5/15 min) at start {rep['load_start']}, at end {rep['load_end']}")
    g = rep.get("git") or {}
    print(f"nksim commit {g.get('commit')}, src/ modified since: {g.get('src_modified')}")
    print(f"Date: {rep['date']}   seed {rep['config']['seed']}   "
          f"population {rep['config']['patients']} patients")
    print()
    hdr = (f"{'solver':<44}{'patients':>9}{'wall s':>9}{'ms/pat':>9}{'vs nk(all)':>11}"
           f"{'vs nk(1t)':>10}{'failed':>8}{'max rel err':>12}{'other load':>11}")
    print(hdr)
    print("-" * len(hdr))
    for r in rep["solvers"]:
        acc = r.get("accuracy") or {}
        rel = acc.get("max_rel_err_alive")
        ol = r.get("other_cores")
        print(f"{r['name']:<44}{r['patients']:>9}{r['wall_s']:>9.2f}{fmt_ms(r['ms_per_patient']):>9}"
              f"{fmt_ratio(r.get('ratio_vs_nksim_all')):>11}"
              f"{fmt_ratio(r.get('ratio_vs_nksim_1t')):>10}{r['failed']:>8}"
              f"{('-' if rel is None else f'{rel:.1e}'):>12}"
              f"{('-' if ol is None else f'{ol:.2f}'):>11}")
    print("(ratio = that solver's per-patient cost / nksim's; 'max rel err' = largest "
          "|T_final - T_ref|/T_ref over the checked patients alive in the reference; "
          "'other load' = cores used by other processes during the timed run)")
    print()
    for r in rep["solvers"]:
        acc = r.get("accuracy")
        if acc:
            v = acc["violations"]
            print(f"accuracy {r['name']}: {acc['checked']} checked, {len(v)} outside "
                  f"max(1e-4 rel, 1 cell), worst err/allowance {_g(acc['max_err_over_allowance'])}"
                  f" (patient {acc['worst_patient']}), extinction disagreements "
                  f"{acc['extinction_disagreements']}"
                  + (f"; violators {[x['patient'] for x in v][:20]}" if v else ""))
            print(f"    (information) all 151 daily T values: worst err/allowance "
                  f"{_g(acc['daily_max_err_over_allowance'])} (patient "
                  f"{acc['daily_worst_patient']}), {acc['daily_patients_outside']} patients "
                  f"outside on some day")
    ref = rep["reference"]
    print(f"reference: Radau rtol=atol={REF_RTOL:g}, analytic Jacobian, {ref['checked']} patients "
          f"({ref['random']} random + {ref['edge']} edge cases: {ref['edge_groups']}), "
          f"{ref['failed']} failed")
    if ref.get("self_check"):
        sc = ref["self_check"]
        print(f"reference self-check: Radau 1e-10 vs 1e-12 on {sc['patients']} patients, "
              f"max |diff|/allowance {sc['max_err_over_allowance']:.2e}, "
              f"max rel diff (alive) {_g(sc['max_rel_diff_alive'])}, daily T "
              f"{_g(sc['daily_max_err_over_allowance'])} of the allowance")
    cs = rep.get("cold_start") or {}
    if cs:
        print(f"cold start ({cs.get('command')}): "
              + ("error: " + cs["error"] if "error" in cs else
                 "runs " + ", ".join(f"{t:.2f} s" for t in cs["times_s"])
                 + " (first run: empty NKSIM_CACHE_DIR and NUMBA_CACHE_DIR)"))
    for r in rep["solvers"][:2]:
        ws = r.get("walls_s") or []
        if ws:
            print(f"{r['name']}: {len(ws)} runs, wall {min(ws):.3f}-{max(ws):.3f} s "
                  f"(median {statistics.median(ws):.3f} s)")
    rr_blocks = rep["solvers"][2].get("block_ms_per_patient") or []
    if rr_blocks:
        print(f"libRoadRunner blocks of {RR_BLOCK}: {min(rr_blocks):.3f}-{max(rr_blocks):.3f} ms "
              f"per patient")
    rrat = rep.get("round_ratios") or {}
    if rrat.get("all_threads"):
        a, b = rrat["all_threads"], rrat["one_thread"]
        print(f"ratio roadrunner/nksim per interleaved round: {min(a):.1f}-{max(a):.1f}x "
              f"(median {statistics.median(a):.1f}x) all threads, {min(b):.1f}-{max(b):.1f}x "
              f"(median {statistics.median(b):.1f}x) 1 thread")
    r3 = rep["solvers"][2]
    print(f"libRoadRunner: load (SBML -> LLVM) {r3['load_time_s']:.2f} s, not in the per-patient "
          f"cost; after {r3['patients']} patients, patient 0 again and on a fresh instance gives "
          f"identical results: {r3['reset_reproducible']}")
    nk = rep["nksim"]
    print(f"nksim: {nk['threads_all']} threads; first call in the process (loads cached "
          f"compiled code, 16 patients) {nk['first_call_s']:.2f} s; results identical for "
          f"1 and {nk['threads_all']} threads: {nk['thread_invariant']}; mean steps "
          f"{nk['n_steps_mean']:.0f} accepted + {nk['n_rejected_mean']:.0f} rejected per patient")
    tl = rep.get("timed_runs") or []
    if tl:
        print(f"timed runs: {len(tl)} blocks, {sum(t['attempts'] > 1 for t in tl)} re-run because "
              f"other processes used > {rep['config']['quiet']} core, "
              f"{sum(t['waited_s'] for t in tl):.0f} s spent waiting for a quiet machine")
    busy = [r["name"] for r in rep["solvers"]
            if r.get("other_cores") is not None and r["other_cores"] > 0.2]
    if busy:
        print(f"WARNING: other processes used > 0.2 core during the timed runs of {busy}; "
              f"rerun on a quiet machine for reference numbers")
    print()
    for v in rep["verdicts"]:
        print(f"{v['status']:<13} {v['requirement']}: {v['detail']}")
    print("=" * 100)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=REQ_PATIENTS)
    ap.add_argument("--rr-patients", type=int, default=None,
                    help="patients for libRoadRunner (default: all)")
    ap.add_argument("--rr-scalar-patients", type=int, default=2000,
                    help="patients for roadrunner with a scalar atol (roadrunner-scaled); 0: skip")
    ap.add_argument("--lsoda-patients", type=int, default=100)
    ap.add_argument("--reference-patients", type=int, default=200)
    ap.add_argument("--edge-cap", type=int, default=200, help="most edge cases to check")
    ap.add_argument("--self-check", type=int, default=6,
                    help="patients for the Radau 1e-10 vs 1e-12 check of the reference; 0: skip")
    ap.add_argument("--threads", type=int, default=None,
                    help="nksim threads for the all-cores run (default: every core)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="least number of timed nksim runs per setting (there is one per "
                         "roadrunner block of 1000 patients, interleaved)")
    ap.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1),
                    help="worker processes for the Radau reference")
    ap.add_argument("--cold-runs", type=int, default=3, help="0: skip the cold-start test")
    ap.add_argument("--quiet", type=float, default=0.2,
                    help="cores other processes may use during a timed run (default 0.2)")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="seconds to wait for a quiet machine before each timed run")
    ap.add_argument("--retries", type=int, default=2,
                    help="re-runs of a timed run that other processes disturbed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "w1-latest.json")
    args = ap.parse_args(argv)
    compile_bytecode()  # new processes are timed: nksim's bytecode as installed
    n = args.patients
    n_rr = n if args.rr_patients is None else min(args.rr_patients, n)
    threads_all = args.threads or os.cpu_count() or 1
    QUIET.threshold, QUIET.max_wait, QUIET.retries = args.quiet, args.quiet_wait, args.retries

    from nksim.model import to_sbml

    rep = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
           "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "machine": _w1.machine_info(), "git": git_state(),
           "load_start": _w1.load_average()}
    rep["config"]["patients"] = n
    log(f"load average {rep['load_start']}")
    model, doses = _w1.w1_model()
    if tuple(model.parameter_names) != _w1.PARAMETER_NAMES:
        raise SystemExit(f"parameter order changed: {model.parameter_names}")
    P = _w1.population(model.parameter_vector(), n, args.seed)
    rng = np.random.default_rng(args.seed + 1)

    # ---- nksim
    from nksim.engine import SolverOptions, simulate

    log("nksim: first call (loads or compiles the model)")
    t0 = time.perf_counter()
    simulate(model, _w1.RECORD_TIMES, parameters=P[:16], initial=_w1.Y0, doses=doses,
             options=SolverOptions(rtol=_w1.RTOL, atol=_w1.ATOL, progress=False))
    first_call = time.perf_counter() - t0
    # Interleaved rounds, so that slow and fast periods of the (virtual) machine hit every
    # solver alike: each round times nksim on all cores, nksim on one thread, and one block
    # of roadrunner patients.
    sbml = to_sbml(model, doses=doses)
    rr_idx = np.arange(n_rr)
    rrb = RoadRunnerBench(sbml, model.parameter_names, P, rr_idx)
    blocks = rrb.blocks()
    rounds = max(args.repeats, len(blocks))
    log(f"{rounds} rounds: nksim {n} patients ({threads_all} threads, then 1 thread) and "
        f"libRoadRunner (vector atol) {n_rr} patients in {len(blocks)} blocks")
    walls_all, walls_1, oth_all, oth_1, round_ratios = [], [], [], [], []
    nk = nk1 = None
    failed_any = set()
    for r in range(rounds):
        res, w = run_nksim(model, doses, P, threads_all, f"nksim {threads_all} threads #{r + 1}")
        walls_all.append(w.wall)
        oth_all.append(w.other_cores)
        summary = nksim_summary(res)
        failed_any.update(summary["failed"])
        nk = nk or summary
        del res, summary
        res, w = run_nksim(model, doses, P, 1, f"nksim 1 thread #{r + 1}")
        walls_1.append(w.wall)
        oth_1.append(w.other_cores)
        summary = nksim_summary(res)
        failed_any.update(summary["failed"])
        nk1 = nk1 or summary
        del res, summary
        if r < len(blocks):
            rr_ms = rrb.run_block(*blocks[r]) * 1e3
            round_ratios.append((rr_ms / (walls_all[-1] / n * 1e3),
                                 rr_ms / (walls_1[-1] / n * 1e3)))
        log(f"  round {r + 1}/{rounds}: nksim {walls_all[-1]:.2f} s / {walls_1[-1]:.2f} s"
            + (f", roadrunner {rr_ms:.3f} ms per patient" if r < len(blocks) else ""))
    rr = rrb.finish()
    thread_invariant = bool(np.array_equal(nk["final_all"], nk1["final_all"], equal_nan=True))
    nk_all_ms = statistics.median(walls_all) / n * 1e3
    nk_1_ms = statistics.median(walls_1) / n * 1e3

    rrs = None
    if args.rr_scalar_patients > 0:
        n_s = min(args.rr_scalar_patients, n)
        log(f"libRoadRunner: {n_s} patients (scalar atol, scaled by roadrunner)")
        rrsb = RoadRunnerBench(sbml, model.parameter_names, P, np.arange(n_s), scalar_atol=True)
        for lo, hi in rrsb.blocks():
            rrsb.run_block(lo, hi)
        rrs = rrsb.finish()

    # ---- reference set
    n_rand = max(args.reference_patients, args.lsoda_patients)
    rand = np.sort(rng.choice(n, min(n_rand, n), replace=False))
    ref_rand = rand[: args.reference_patients] if args.reference_patients else rand[:0]
    lsoda_idx = rand[: args.lsoda_patients]
    edge, edge_groups = edge_cases(nk, rr["T_daily"][:, -1], rr_idx, rng, args.edge_cap)
    ref_idx = np.union1d(ref_rand, edge).astype(int)

    # ---- SciPy LSODA
    lsoda = {}
    for jac in (False, True) if len(lsoda_idx) else ():
        log(f"SciPy LSODA ({'analytic' if jac else 'finite-difference'} Jacobian): "
            f"{len(lsoda_idx)} patients")
        lsoda[jac] = run_lsoda(P, lsoda_idx, jac)

    # ---- Radau reference
    log(f"Radau reference: {len(ref_idx)} patients ({len(ref_rand)} random + {len(edge)} edge), "
        f"{args.processes} processes")
    ref_out, ref_wall = run_reference(P, ref_idx, args.processes)
    T_ref = np.array([ref_out[i][0].y_final[0] if ref_out[i][0].ok else np.nan for i in ref_idx])
    ref_failed = [int(i) for i in ref_idx if not ref_out[i][0].ok]
    ref_cpu = sum(ref_out[i][1] for i in ref_idx)
    ok_ref = np.isfinite(T_ref)
    chk_idx = ref_idx[ok_ref]

    self_check = None
    if args.self_check > 0 and chk_idx.size:
        k = args.self_check
        edge_ok = np.intersect1d(chk_idx, edge)
        rand_ok = np.setdiff1d(chk_idx, edge)
        n_edge = min(k - k // 2, edge_ok.size)
        pick = np.union1d(rng.choice(edge_ok, n_edge, replace=False),
                          rng.choice(rand_ok, min(k - n_edge, rand_ok.size), replace=False))
        pick = pick.astype(int)
        log(f"reference self-check: Radau rtol=atol=1e-12 on {pick.size} patients")
        tight, _ = run_reference(P, pick, args.processes, rtol=1e-12, atol=1e-12)
        T12 = np.array([tight[i][0].y_final[0] if tight[i][0].ok else np.nan for i in pick])
        d12 = np.array([tight[i][0].T_daily for i in pick])
        d10 = np.array([ref_out[i][0].T_daily for i in pick])
        a = accuracy(d10, d12, pick)
        self_check = {"patients": int(pick.size), "indices": pick.tolist(),
                      "max_err_over_allowance": a["max_err_over_allowance"],
                      "max_rel_diff_alive": a["max_rel_err_alive"],
                      "daily_max_err_over_allowance": a["daily_max_err_over_allowance"],
                      "failed_1e12": int((~np.isfinite(T12)).sum())}

    # ---- accuracy of each solver on the reference set
    ref_daily = np.array([ref_out[int(i)][0].T_daily for i in chk_idx]).reshape(
        len(chk_idx), _w1.RECORD_TIMES.size)

    def check(daily_of, idx_run):
        """Accuracy of a solver that ran patients ``idx_run`` (daily T rows ``daily_of``)."""
        pos = {int(i): k for k, i in enumerate(idx_run)}
        sel = [k for k, i in enumerate(chk_idx) if int(i) in pos]
        if not sel:
            return None
        return accuracy(daily_of[[pos[int(chk_idx[k])] for k in sel]], ref_daily[sel],
                        chk_idx[sel])

    acc_nk = check(nk["T_daily"], np.arange(n))
    acc_nk1 = check(nk1["T_daily"], np.arange(n))
    rr_ref_daily = rr["T_daily"]
    rr_ref_idx = rr_idx
    missing = np.setdiff1d(chk_idx, rr_idx)
    if missing.size:  # reference patients beyond --rr-patients: run them untimed
        log(f"libRoadRunner: {missing.size} more reference patients (untimed)")
        rr_ref_daily = np.concatenate(
            [rr_ref_daily, roadrunner_daily_T(sbml, model.parameter_names, P, missing)])
        rr_ref_idx = np.concatenate([rr_idx, missing])
    acc_rr = check(rr_ref_daily, rr_ref_idx)
    acc_rrs = check(rrs["T_daily"], np.arange(len(rrs["T_daily"]))) if rrs is not None else None
    acc_ls = {jac: check(lsoda[jac]["T_daily"], lsoda_idx) for jac in lsoda}

    # ---- cold start
    cold = None
    if args.cold_runs > 0:
        log(f"cold start: {args.cold_runs} fresh processes")
        cold = cold_start(args.cold_runs)

    rep["load_end"] = _w1.load_average()

    # ---- assemble
    def row(name, patients, wall, fails, acc, other, extra=None):
        ms = wall / patients * 1e3 if patients else None
        d = {"name": name, "patients": int(patients), "wall_s": wall, "ms_per_patient": ms,
             "ratio_vs_nksim_all": ms / nk_all_ms if ms else None,
             "ratio_vs_nksim_1t": ms / nk_1_ms if ms else None,
             "failed": len(fails), "failures": fails[:50], "accuracy": acc, "other_cores": other}
        d.update(extra or {})
        return d

    solvers = [
        row(f"nksim Rodas5P ({threads_all} threads)", n, statistics.median(walls_all),
            nk["failures"], acc_nk, _max(oth_all), {"walls_s": walls_all, "threads": threads_all}),
        row("nksim Rodas5P (1 thread)", n, statistics.median(walls_1), nk1["failures"], acc_nk1,
            _max(oth_1), {"walls_s": walls_1, "threads": 1}),
        row("libRoadRunner CVODE (1 thread, atol vector)", n_rr, rr["wall"], rr["fails"], acc_rr,
            rr["other_cores"], {"load_time_s": rr["load_time"], "settings": rr["settings"],
                                "reset_reproducible": rr["reset_reproducible"],
                                "block_ms_per_patient": rr["block_ms_per_patient"]}),
    ]
    if rrs is not None:
        solvers.append(row("libRoadRunner CVODE (atol scalar, scaled)", len(rrs["T_daily"]),
                           rrs["wall"], rrs["fails"], acc_rrs, rrs["other_cores"],
                           {"settings": rrs["settings"]}))
    for jac, label in ((False, "SciPy LSODA (FD Jacobian)"),
                       (True, "SciPy LSODA (analytic Jacobian)")):
        if jac not in lsoda:
            continue
        solvers.append(row(label, len(lsoda_idx), lsoda[jac]["wall"], lsoda[jac]["fails"],
                           acc_ls[jac], lsoda[jac]["other_cores"],
                           {"nfev_mean": lsoda[jac]["nfev_mean"]}))
    solvers.append(row("SciPy Radau 1e-10 (reference, per core)", len(ref_idx), ref_cpu,
                       [(i, ref_out[i][0].message) for i in ref_failed], None, None,
                       {"wall_parallel_s": ref_wall, "processes": args.processes}))
    rep["solvers"] = solvers
    rep["round_ratios"] = {
        "all_threads": [a for a, _ in round_ratios], "one_thread": [b for _, b in round_ratios],
        "note": "per round: roadrunner block ms per patient / nksim ms per patient of that round"}
    rep["nksim"] = {"threads_all": threads_all, "first_call_s": first_call,
                    "thread_invariant": thread_invariant,
                    "n_steps_mean": nk["n_steps_mean"], "n_rejected_mean": nk["n_rejected_mean"],
                    "extinct_fraction": float(np.mean(nk["T_final"] == 0)),
                    "t_extinct_max": _num(np.nanmax(nk["t_extinct"]))
                    if np.isfinite(nk["t_extinct"]).any() else None}
    rep["reference"] = {"checked": int(chk_idx.size), "random": int(len(ref_rand)),
                        "edge": int(len(edge)), "edge_groups": edge_groups,
                        "failed": len(ref_failed), "failed_patients": ref_failed,
                        "wall_s": ref_wall, "self_check": self_check,
                        "indices": ref_idx.tolist()}
    rep["cold_start"] = cold
    rep["timed_runs"] = QUIET.log

    # ---- verdicts
    verdicts = []
    ratio = solvers[2]["ratio_vs_nksim_all"]
    at_full = n >= REQ_PATIENTS and n_rr >= REQ_PATIENTS
    verdicts.append({
        "requirement": f">= {REQ_RATIO:g}x lower per-patient cost than libRoadRunner at "
                       f"{REQ_PATIENTS} patients",
        "status": ("PASS" if ratio >= REQ_RATIO else "FAIL") if at_full else "NOT MEASURED",
        "detail": f"{ratio:.1f}x with {threads_all} threads (nksim {nk_all_ms:.4f} ms, roadrunner "
                  f"{solvers[2]['ms_per_patient']:.3f} ms per patient; {n} nksim / {n_rr} rr "
                  f"patients); single thread {solvers[2]['ratio_vs_nksim_1t']:.1f}x"
                  + (f"; per-round ratios {min(a for a, _ in round_ratios):.1f}-"
                     f"{max(a for a, _ in round_ratios):.1f}x" if round_ratios else "")})
    verdicts.append({
        "requirement": "no failed patient (nksim)",
        "status": "PASS" if not failed_any else "FAIL",
        "detail": f"{len(failed_any)} patients failed of {n} in any of the {2 * rounds} runs "
                  f"({rounds} with {threads_all} threads, {rounds} with 1 thread)"
                  + (f": {sorted(failed_any)[:20]}" if failed_any else "")})
    acc_req = "final T within max(1e-4 rel, 1 cell) of Radau rtol 1e-10"
    if acc_nk is None:
        verdicts.append({"requirement": acc_req, "status": "NOT MEASURED",
                         "detail": "no reference patients"})
    else:
        verdicts.append({
            "requirement": acc_req,
            "status": "PASS" if not acc_nk["violations"] and not ref_failed else "FAIL",
            "detail": f"{acc_nk['checked']} patients checked ({len(ref_rand)} random + "
                      f"{len(edge)} edge cases), {len(acc_nk['violations'])} outside; max rel "
                      f"err (alive) {_g(acc_nk['max_rel_err_alive'])}, worst err/allowance "
                      f"{_g(acc_nk['max_err_over_allowance'])}"
                      + (f"; reference failed on {ref_failed}" if ref_failed else "")})
    if cold is None:
        verdicts.append({"requirement": f"second cold start < {REQ_COLD_S:g} s",
                         "status": "NOT MEASURED", "detail": "--cold-runs 0"})
    elif "error" in cold or cold.get("second_s") is None:
        verdicts.append({"requirement": f"second cold start < {REQ_COLD_S:g} s",
                         "status": "FAIL" if "error" in cold else "NOT MEASURED",
                         "detail": cold.get("error", "only one run")})
    else:
        fallback = "fallback" in cold["command"]
        verdicts.append({
            "requirement": f"second cold start < {REQ_COLD_S:g} s",
            "status": ("PASS" if cold["second_s"] < REQ_COLD_S else "FAIL")
            + (" (fallback)" if fallback else ""),
            "detail": f"{cold['second_s']:.2f} s (first, nothing cached: {cold['first_s']:.1f} s) "
                      f"via {cold['command']}"})
    rep["verdicts"] = verdicts

    print_report(rep)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rep, indent=1, default=_json_default) + "\n")
    log(f"wrote {args.json}")
    return 0


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _num(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


if __name__ == "__main__":
    sys.exit(main())
