"""Speed of the claim checker on 1 MB texts (issue 14 section 5: 1 MB of any text in < 2 s).

Workloads, each about 1,000,000 characters:
  en_flags   English red flags repeated ("cures all diseases. 100% safe, no side effects!")
  zh_flags   Chinese red flags repeated (包治百病，绝对安全，一针见效)
  zh_prose   Chinese prose without red flags, no sentence ends for long stretches
  evasive    red flags with zero-width characters, U+3000, look-alike letters and pinyin
  random     random printable characters (no structure at all)
  keywords   a "keyword salad": random words drawn from the literals the rules' prefilter
             looks for, with quotes and sentence ends (every pattern runs over the whole
             text; the slowest 1 MB found, by the hostile-input review of session 11)
  numbers    long runs of digits before price units (9...9元/次, 9...9 USD): a pattern that
             starts with a digit run and is tried at every digit is quadratic on it
             (6.5 s for this text before session 13)
  digit_gaps distinct random digit runs of 350 after "package" and "helped" (a lazy gap
             that steps into a digit run, two digit repeats that can split one run): found
             by the hostile-input review of session 13 (18 s before that session)
  distinct   a million different code points, shuffled, with a negated Chinese red flag
             every 1,000 characters (each character went once through the normaliser's
             Python-level character map: 2.3-2.8 s through the command line before session
             14; found by its hostile-input review)
  pinyin     "an " repeated (333,000 pinyin syllables that never form a phrase: 1.6 s
             through the command line before session 14)
  price_runs distinct runs of 200 digits and commas between "一次一次一次一次一次$" and
             "shot", after "细胞": two fee patterns gave back the run one digit at a time
             (3.4-5.0 s through the command line before session 14; found by its second
             hostile-input review)

Each is timed after one warm-up call (best of two), and through the command line
(``nksim check-claim --file``, a new process each time: median and slowest of three). The
first call of a fresh process is timed separately, each in its own new Python process
(``cold``): importing ``nksim.evidence``, then one call on a short English text, a short
Chinese text, a Chinese text with a negator before a match (the only case that loads
jieba's dictionary), and 1 MB of random characters. Run:
``python benchmarks/bench_claims.py``; results are written to
benchmarks/results/claims.json. Research use only.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_bytecode

from nksim.evidence import check_claim

N = 1_000_000


def keyword_salad(rng: random.Random, n: int) -> str:
    """``n`` characters of words the rules' prefilter looks for (so that no pattern can skip
    any of the text), with quotes and sentence ends."""
    from nksim.evidence._prefilter import required_literals
    from nksim.evidence._rules import claim_rules

    words = sorted({lit for rule in claim_rules().rules for rx in rule.patterns
                    for lit in required_literals(rx.pattern, rx.flags) or ()})
    out, size = [], 0
    while size < n:
        word = rng.choice(words)
        word = rng.choice(['"', "“"]) + word + "”" if rng.random() < 0.05 else word
        word += rng.choice([" ", " ", " ", " ", ". ", ", ", "! "])
        out.append(word)
        size += len(word)
    return "".join(out)[:n]


def distinct_code_points(rng: random.Random) -> str:
    """A million different code points (no surrogates), shuffled, with "不包治百病" (a
    negated red flag: jieba is loaded) in every 1,000 characters."""
    codes = [c for c in range(0xA0, 0x110000) if not 0xD800 <= c < 0xE000]
    rng.shuffle(codes)
    text = "".join(map(chr, codes[:N]))
    flag = "不包治百病"
    return "".join(text[i : i + 1000 - len(flag)] + flag for i in range(0, N, 1000))[:N]


def workloads() -> dict[str, str]:
    rng = random.Random(14)
    en = "Our NK cell infusion cures all diseases. 100% safe, no side effects! "
    zh = "本院NK细胞回输，包治百病，绝对安全，一针见效！"
    prose = "细胞治疗的研究近年来进展很快但多数仍处于临床试验阶段需要更多证据"
    evasive = "包\u200b治\u3000百病，NK сеlls сurе аll diseases, jue dui an quan. "
    rand = "".join(rng.choice(string.printable + "细胞治疗安全") for _ in range(N))
    numbers = "9" * 300 + "元/次 " + "9," * 100 + " USD 5."
    return {
        "en_flags": (en * (N // len(en) + 1))[:N],
        "zh_flags": (zh * (N // len(zh) + 1))[:N],
        "zh_prose": (prose * (N // len(prose) + 1))[:N],
        "evasive": (evasive * (N // len(evasive) + 1))[:N],
        "random": rand,
        "keywords": keyword_salad(rng, N),
        "numbers": (numbers * (N // len(numbers) + 1))[:N],
        "distinct": distinct_code_points(rng),
        "pinyin": ("an " * (N // 3 + 1))[:N],
        "price_runs": ("细胞" + "".join(
            "一次" * 5 + "$1" + "".join(rng.choice(string.digits + ",") for _ in range(200))
            + "shot" for _ in range(4700)))[:N],
        "digit_gaps": ("cells. " + "".join(
            "package " * 5 + "helped " + "".join(rng.choice(string.digits) for _ in range(350))
            + "x patients " for _ in range(2500)))[:N],
    }


_COLD = """
import json, sys, time
t0 = time.perf_counter()
from nksim.evidence import check_claim
t1 = time.perf_counter()
text = sys.stdin.read()
t2 = time.perf_counter()
r = check_claim(text)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t3 - t2, "verdict": r.verdict,
                  "jieba_loaded": "jieba" in sys.modules}))
"""

COLD_PROBES = {
    "en_short": "Our NK cell infusion cures all diseases. 100% safe, no side effects!",
    "zh_short": "本院NK细胞回输，包治百病，绝对安全，一针见效！",
    "zh_negated": "细胞治疗不是万能的，更不存在绝对安全的疗法。",
    "random_1mb": "",  # filled in main()
}


def cold_start(text: str) -> dict[str, object]:
    """Import and first call in a fresh Python process (best of two processes)."""
    best: dict[str, object] = {}
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", _COLD],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        res = json.loads(out.stdout)
        if not best or res["first_call_s"] < best["first_call_s"]:  # type: ignore[operator]
            best = res
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in best.items()}


def through_cli(text: str, runs: int = 3) -> dict[str, float]:
    """Wall-clock seconds of ``nksim check-claim --file`` on ``text``, each run a new
    process (start-up, imports, compiling the patterns and loading what the text needs
    included): median and slowest of ``runs``."""
    nksim = Path(sys.executable).with_name("nksim")
    command = [str(nksim)] if nksim.exists() else [sys.executable, "-m", "nksim.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "text.txt"
        path.write_text(text, encoding="utf-8")
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([*command, "check-claim", "--file", str(path)], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def main() -> None:
    compile_bytecode()
    work = workloads()
    results: dict[str, object] = {"cold": {}, "workloads": {}}
    for name, text in COLD_PROBES.items():
        res = cold_start(text or work["random"])
        results["cold"][name] = res  # type: ignore[index]
        print(
            f"cold {name:11s} import {res['import_s']:5.2f} s, first call "
            f"{res['first_call_s']:5.2f} s ({res['verdict']}, jieba loaded: {res['jieba_loaded']})"
        )
    check_claim("本院NK细胞回输，不是万能的。Our NK cells are 100% safe.")  # warm-up
    for name, text in work.items():
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            r = check_claim(text)
            best = min(best, time.perf_counter() - t)
        results["workloads"][name] = {
            "chars": len(text),
            "seconds": round(best, 3),
            "verdict": r.verdict,
            "flags": len(r.flags),
            "max_count": max((f.count for f in r.flags), default=0),
            "explanation_chars": len(r.explanation),
        }
        cli = results["workloads"][name]["cli"] = through_cli(text)  # type: ignore[index]
        flags = len(r.flags)
        print(f"{name:10s} {len(text):>9,d} chars {best:6.2f} s {r.verdict:13s} flags={flags:<3d}"
              f" command line {cli['median_s']:5.2f} s (slowest {cli['max_s']:.2f} s)")
    results["machine"] = {
        "python": platform.python_version(),
        "cpu": platform.processor(),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    out = Path(__file__).parent / "results" / "claims.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"load average {os.getloadavg()[0]:.1f}; wrote {out}")


if __name__ == "__main__":
    main()
