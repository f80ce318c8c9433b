"""Start-up time of the command line: ``nksim models`` must answer in well under a second
(issue 8 §5), so listing models may not build them and other commands are imported lazily.

Runs each command in a fresh process (what a user waits for), ``--repeats`` times, and
prints the median and the range of the wall-clock times; writes
``benchmarks/results/cli.json``.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "nksim models": ["models"],
    "nksim --help": ["--help"],
    "nksim schema simulate": ["schema", "simulate"],
    "nksim --version": ["--version"],
}


def wall_times(args: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nksim", *args], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    wall_times(["models"], 1)  # warm the file cache and byte-code
    rows = {}
    for name, args in COMMANDS.items():
        t = wall_times(args, repeats)
        rows[name] = {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}
        print(f"{name:24s} median {rows[name]['median_s']:.3f} s "
              f"(range {min(t):.3f}-{max(t):.3f} s, {repeats} runs)")
    out = Path(__file__).parent / "results" / "cli.json"
    out.write_text(json.dumps({"python": sys.version.split()[0], "machine": platform.machine(),
                               "processor": platform.processor(), "repeats": repeats,
                               "commands": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
