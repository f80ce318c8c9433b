"""Where the time of ``nksim simulate`` goes on W1 (issue 13): start-up imports and the
parts of one chunk, measured with timers (no sampling profiler needed).

Run from the repository root:

    .venv/bin/python benchmarks/bench_profile.py [--patients 13796] [--rounds 3]

Prints, per patient and as a share of the chunk's CPU time: the population draw
(``[population]`` log-normal, one random stream per patient), the solve (all cores; wall
and CPU time), the two Arrow tables, the Parquet write of the time course and of the
status table; then the import time of the modules a cached ``nksim simulate`` loads
(``python -X importtime``, cumulative, top level of each package). CPU times are those of
this process (all threads), so other processes' load inflates wall times, not CPU times
(up to cache effects and, in a virtual machine, steal time). A measurement: exits 0.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _w1  # noqa: E402


class _Clock:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def chunk_parts(n: int, rounds: int, tmp: Path) -> dict[str, list[tuple[float, float]]]:
    import pyarrow.parquet as pq

    from nksim.engine import SolverOptions
    from nksim.engine._chunked import _raw_tables
    from nksim.engine._simulate import integrate
    from nksim.execution._folder import PARQUET_OPTIONS
    from nksim.population import lognormal_parameters

    model, doses = _w1.w1_model()
    opts = SolverOptions(rtol=_w1.RTOL, atol=_w1.ATOL, progress=False)
    y0 = np.tile(_w1.Y0, (n, 1))
    integrate(model, _w1.RECORD_TIMES, parameters=model.parameter_vector()[None, :].repeat(64, 0),
              initial=y0[:64], doses=doses, options=opts)  # load the compiled model
    parts: dict[str, list[tuple[float, float]]] = {}

    def add(name, clock):
        parts.setdefault(name, []).append((clock.wall, clock.cpu))

    for _ in range(rounds):
        with _Clock() as c:
            P = lognormal_parameters(model, n, 0, 0.2)
        add("population draw", c)
        with _Clock() as c:
            raw = integrate(model, _w1.RECORD_TIMES, parameters=P, initial=y0, doses=doses,
                            options=opts, patient_ids=np.arange(n))
        add("solve (all cores)", c)
        with _Clock() as c:
            tc, st = _raw_tables(raw)
        add("Arrow tables", c)
        with _Clock() as c:
            pq.write_table(tc, tmp / "tc.parquet", **PARQUET_OPTIONS)
            pq.write_table(st, tmp / "st.parquet")
        add("Parquet write", c)
    return parts


#: Modules whose import time is reported (cumulative, wherever they are first imported).
WATCH = ("nksim.scenario", "nksim.config", "nksim.engine", "nksim.engine._rodas5p",
         "nksim.units", "nksim.execution", "numpy", "pandas", "pyarrow", "pyarrow.parquet",
         "pydantic", "pint", "dask", "numba", "scipy.linalg", "scipy.stats", "xarray", "click")


def imports() -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as d:
        scen = Path(d) / "one.toml"
        from bench_w1 import SCENARIO

        scen.write_text(SCENARIO)
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "nksim", "simulate",
                            str(scen), "--out", str(Path(d) / "out")],
                           capture_output=True, text=True, timeout=600)
    found = {}
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| \s*(\S+)$", line)
        if m and m[2] in WATCH:
            found.setdefault(m[2], int(m[1]) / 1e6)  # where it is first imported
    return sorted(found.items(), key=lambda r: -r[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=13_796)  # one default W1 chunk
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"load average at start {_w1.load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        parts = chunk_parts(args.patients, args.rounds, Path(tmp))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in parts.items()}
    total = sum(c for _, c in med.values())
    print(f"\none chunk of {args.patients:,} W1 patients (medians of {args.rounds} rounds)")
    print(f"{'part':22s} {'wall s':>8s} {'CPU s':>8s} {'CPU us/patient':>15s} {'share':>6s}")
    for k, (w, c) in med.items():
        print(f"{k:22s} {w:8.3f} {c:8.3f} {c / args.patients * 1e6:15.2f} {c / total:6.1%}")
    print(f"{'total':22s} {'':8s} {total:8.3f} {total / args.patients * 1e6:15.2f}")
    print("\nimports of a cached `nksim simulate` (cumulative s where first imported; "
          "nested ones are inside their parents)")
    for name, s in imports():
        print(f"  {name:40s} {s:6.3f}")
    print(f"load average at end {_w1.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
