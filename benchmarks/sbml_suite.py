"""SBML Test Suite conformance of nksim.model.from_sbml + the nksim engine.

Runs every Level 3 Version 2 semantic case of ``../shared/data/sbml-test-suite`` (or
``$SBML_TEST_SUITE``). A case is skipped only when its tags (componentTags, testTags
and testType in ``NNNNN-model.m``) include one nksim declares unsupported
(:data:`UNSUPPORTED`), decided before running it; every other case is attempted, and a
crash or a wrong value is a failure. A case passes when every reported value satisfies
``|v - expected| <= absolute + relative * |expected|`` (the suite's rule, tolerances from
``NNNNN-settings.txt``).

Usage::

    python benchmarks/sbml_suite.py                 # every case (slow: one compile each)
    python benchmarks/sbml_suite.py --cases 1-100   # a range
    python benchmarks/sbml_suite.py --table         # rewrite the table in docs/sbml.md

Results are cached per case in ``benchmarks/results/sbml_suite.json`` (so that runs can
be resumed); ``--table`` tabulates pass / fail / skip by tag from that file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("SBML_TEST_SUITE",
                            ROOT.parent / "shared" / "data" / "sbml-test-suite")) / "semantic"
RESULTS = ROOT / "benchmarks" / "results" / "sbml_suite.json"
DOC = ROOT / "docs" / "sbml.md"

#: Tags nksim declares unsupported (a case with any of them is skipped before running).
UNSUPPORTED = {
    "CSymbolDelay": "delay() (delay differential equations)",
    "RandomEventExecution": "events executed in random order (a statistical test)",
    "DelayInTrigger": "delay() in event triggers",
    "DelayInEventAssignment": "delay() in event assignments",
    "FastReaction": "fast reactions",
    "BoolNumericSwap": "booleans used as numbers",
    "FluxBalanceSteadyState": "flux balance analysis (not a time course)",
    "comp:ExternalModelDefinition": "external model files (not kept in the suite copy)",
    "comp:TimeConversionFactor": "comp conversion factors",
    "comp:ExtentConversionFactor": "comp conversion factors",
}
UNSUPPORTED_PREFIXES = {"fbc:": "SBML package fbc"}


def case_tags(case: Path) -> set[str]:
    text = (case / f"{case.name}-model.m").read_text(errors="replace")
    tags: set[str] = set()
    for key in ("componentTags", "testTags"):
        m = re.search(rf"{key}:\s*(.*)", text)
        if m:
            tags |= {t.strip() for t in m.group(1).split(",") if t.strip()}
    m = re.search(r"testType:\s*(\S+)", text)
    if m:
        tags.add(m.group(1))
    return tags


def unsupported(tags: set[str]) -> list[str]:
    return sorted({t for t in tags if t in UNSUPPORTED
                   or any(t.startswith(p) for p in UNSUPPORTED_PREFIXES)})


def settings(case: Path) -> dict:
    out = {}
    for line in (case / f"{case.name}-settings.txt").read_text().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def _list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


TIME_LIMIT = 900  # seconds per case (import, code generation, compilation, integration)


class _TimeLimit(Exception):
    pass


def run_case(case: Path, time_limit: int = TIME_LIMIT) -> tuple[str, str]:
    """("pass" | "fail" | "skip", detail) for one case; a case that takes longer than
    ``time_limit`` seconds fails (on a busy machine, compiling a model with many states,
    such as parameters changed by events, can take minutes)."""
    import signal

    def stop(*_):
        raise _TimeLimit()

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(time_limit)
    try:
        return _run_case(case)
    except _TimeLimit:
        return "fail", f"time limit of {time_limit} s reached"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _run_case(case: Path) -> tuple[str, str]:
    import libsbml
    import pandas as pd

    from nksim.engine import SolverOptions, simulate
    from nksim.model._sbml_import import from_sbml_with_symbols

    tags = case_tags(case)
    skip = unsupported(tags)
    if skip:
        return "skip", ", ".join(skip)
    xml = case / f"{case.name}-sbml-l3v2.xml"
    cfg = settings(case)
    start, duration, steps = float(cfg["start"]), float(cfg["duration"]), int(cfg["steps"])
    # by position: the first column is the time, whatever its name (case 01820 has a
    # variable called "Time" besides the time column "Time")
    expected = pd.read_csv(case / f"{case.name}-results.csv", header=None, skiprows=1)
    header = [c.strip() for c in
              (case / f"{case.name}-results.csv").read_text().splitlines()[0].split(",")]
    column = {name: i for i, name in enumerate(header) if i > 0}
    variables = _list(cfg["variables"])
    amounts, concs = set(_list(cfg.get("amount", ""))), set(_list(cfg.get("concentration", "")))
    try:
        # one name for every case: cases of the same structure share compiled code
        model, symbols = from_sbml_with_symbols(xml, name="sbml_suite")
        times = np.linspace(start, start + duration, steps + 1)
        options = SolverOptions(rtol=1e-10, atol=1e-13, threads=1, max_steps=1_000_000)
        t_end_pad = times if times[-1] > start else np.array([start, start + 1e-9])
        result = simulate(model, t_end_pad, t_start=start, options=options)
        if result.patients["status"].iloc[0] == "failed":
            return "fail", f"solver: {result.patients['message'].iloc[0]}"
        sbml = libsbml.readSBMLFromFile(str(xml)).getModel()
        worst = ""
        for var in variables:
            formula = symbols[var]
            sp = sbml.getSpecies(var)
            if sp is not None:
                vol = symbols[sp.getCompartment()]
                hosu = sp.getHasOnlySubstanceUnits()
                if var in amounts and not hosu:
                    formula = f"({formula})*({vol})"
                elif var in concs and hosu:
                    formula = f"({formula})/({vol})"
            got = result.evaluate(formula)[0][: len(times)]
            want = expected[column[var]].to_numpy(dtype=float)
            tol = float(cfg["absolute"]) + float(cfg["relative"]) * np.abs(want)
            ok = np.isclose(got, want, rtol=0, atol=0) | (np.abs(got - want) <= tol)
            ok |= np.isnan(got) & np.isnan(want)
            if not ok.all():
                k = int(np.argmin(ok))
                worst = f"{var} at t={times[k]:g}: got {got[k]:.10g}, expected {want[k]:.10g}"
                break
        return ("fail", worst) if worst else ("pass", "")
    except _TimeLimit:
        raise
    except Exception as exc:  # noqa: BLE001 - every crash of an attempted case is a failure
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return "fail", f"{type(exc).__name__}: {line}"[:300]


class _Worker:
    """A child process that runs cases one after another (imports and compiled solver
    code are loaded once, not per case), killed and restarted when a case passes the
    time limit (a compilation in LLVM does not return to Python to see an alarm)."""

    def __init__(self) -> None:
        self.proc = None

    def _start(self) -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, case: Path) -> tuple[str, str]:
        import select

        if unsupported(case_tags(case)):
            return "skip", ", ".join(unsupported(case_tags(case)))
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(case.name + "\n")
        self.proc.stdin.flush()
        # the first case of a worker also pays for importing nksim and numba
        ready, _, _ = select.select([self.proc.stdout], [], [], TIME_LIMIT + 30)
        if not ready:
            self.stop()
            return "fail", f"time limit of {TIME_LIMIT} s reached (process killed)"
        line = self.proc.stdout.readline()
        try:
            result = json.loads(line)
            return result["outcome"], result["detail"]
        except (ValueError, KeyError):
            self.stop()
            return "fail", f"crashed: {line.strip() or 'no output'}"[:300]


def _serve() -> None:
    """Child side of :class:`_Worker`: one case name per line in, one JSON line out."""
    import warnings

    warnings.simplefilter("ignore")
    out, sys.stdout = sys.stdout, sys.stderr  # whatever a case prints stays off the pipe
    for line in sys.stdin:
        outcome, detail = run_case(SUITE / line.strip())
        out.write(json.dumps({"outcome": outcome, "detail": detail}) + "\n")
        out.flush()


def _cases(spec: str | None) -> list[Path]:
    cases = sorted(p for p in SUITE.iterdir() if p.is_dir())
    if not spec:
        return cases
    lo, _, hi = spec.partition("-")
    lo, hi = int(lo), int(hi or lo)
    return [c for c in cases if lo <= int(c.name) <= hi]


def load() -> dict:
    """Cached results (the main file and the shards' files, merged)."""
    results: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for path in sorted(RESULTS.parent.glob(f"{RESULTS.stem}.*.json")):  # newer than the main
        results.update(json.loads(path.read_text()))
    return results


def save(results: dict, shard: str = "") -> None:
    path = RESULTS.with_name(f"{RESULTS.stem}{shard}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=0, sort_keys=True))
    tmp.replace(path)


def merge() -> None:
    """Fold the shards' files into the main one."""
    results = load()
    save(results)
    for path in RESULTS.parent.glob(f"{RESULTS.stem}.*.json"):
        path.unlink()


def table(results: dict) -> str:
    """Markdown: totals, then pass / fail / skip by tag (every case of the suite)."""
    all_cases = sorted(p for p in SUITE.iterdir() if p.is_dir())
    by_tag: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for case in all_cases:
        tags = case_tags(case)
        if unsupported(tags):
            outcome = "skip"
        else:
            outcome = results.get(case.name, {}).get("outcome", "not run")
            outcome = "not run" if outcome == "skip" else outcome
        totals[outcome] += 1
        for tag in tags:
            by_tag[tag][outcome] += 1
    n = len(all_cases)
    attempted = n - totals["skip"]
    lines = [
        f"Cases: {n} (Level 3 Version 2 semantic). Skipped by tag: {totals['skip']}. "
        f"Attempted: {attempted} ({100 * attempted / n:.1f} %). Of those run so far: "
        f"pass {totals['pass']}, fail {totals['fail']}, not yet run {totals['not run']}.",
        "",
        "| tag | pass | fail | skip | not run |",
        "|---|---:|---:|---:|---:|",
    ]
    for tag in sorted(by_tag, key=lambda t: (-sum(by_tag[t].values()), t)):
        c = by_tag[tag]
        lines.append(f"| {tag} | {c['pass']} | {c['fail']} | {c['skip']} | {c['not run']} |")
    return "\n".join(lines) + "\n"


def write_table(results: dict) -> None:
    text = DOC.read_text()
    begin, end = "<!-- sbml-suite-table:begin -->", "<!-- sbml-suite-table:end -->"
    if begin not in text:
        raise SystemExit(f"{DOC} has no {begin} marker")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{table(results)}{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", help="range such as 1-100")
    ap.add_argument("--table", action="store_true", help="only rewrite the table in docs")
    ap.add_argument("--rerun", action="store_true", help="rerun cases already in the cache")
    ap.add_argument("--failed", action="store_true", help="rerun only cached failures")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # run one case, print JSON (child)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # worker
    ap.add_argument("--shard", help="I/N: run every N-th case from the I-th (parallel runs)")
    ap.add_argument("--merge", action="store_true", help="fold shard results into the main file")
    ap.add_argument("--shuffle", action="store_true",
                    help="run in a fixed random order (a partial run is then a fair sample)")
    args = ap.parse_args(argv)
    if args.one:
        outcome, detail = run_case(SUITE / args.one)
        print(json.dumps({"outcome": outcome, "detail": detail}))
        return 0
    if args.serve:
        _serve()
        return 0
    if args.merge:
        merge()
    results = load()
    shard, mine = "", {}
    if args.shard:
        i, n = (int(x) for x in args.shard.split("/"))
        shard = f".{i}"
    if not args.table and not args.merge:
        cases = _cases(args.cases)
        if args.shuffle:
            cases = [cases[i] for i in np.random.default_rng(15).permutation(len(cases))]
        if args.shard:
            cases = cases[i::n]
        worker = _Worker()
        for case in cases:
            prev = results.get(case.name)
            if prev and prev["outcome"] == "skip" and not unsupported(case_tags(case)):
                prev = None  # skipped under an older list of unsupported tags
            if prev and not args.rerun and not (args.failed and prev["outcome"] == "fail"):
                continue
            if args.failed and not prev:
                continue
            t0 = time.perf_counter()
            outcome, detail = worker.run(case)
            results[case.name] = mine[case.name] = {
                "outcome": outcome, "detail": detail,
                "seconds": round(time.perf_counter() - t0, 2)}
            print(f"{case.name} {outcome} {detail}", flush=True)
            save(mine if shard else results, shard)
        worker.stop()
    if DOC.exists() and not shard:
        write_table(results)
    counts = Counter(r["outcome"] for r in results.values())
    print(dict(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
