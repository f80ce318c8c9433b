"""Speed of the claim checker on 1 MB texts (issue 14 section 5: 1 MB of any text in < 2 s).

Workloads, each about 1,000,000 characters:
  en_flags   English red flags repeated ("cures all diseases. 100% safe, no side effects!")
  zh_flags   Chinese red flags repeated (包治百病，绝对安全，一针见效)
  zh_prose   Chinese prose without red flags, no sentence ends for long stretches
  evasive    red flags with zero-width characters, U+3000, look-alike letters and pinyin
  random     random printable characters (no structure at all)

Each is timed after one warm-up call (the learned component is fitted or loaded from its
disk cache once per process, and jieba loads its dictionary once; both are reported
separately as "first call"). Run: ``python benchmarks/bench_claims.py``; results are
written to benchmarks/results/claims.json. Research use only.
"""

from __future__ import annotations

import json
import platform
import random
import string
import time
from pathlib import Path

from nksim.evidence import check_claim

N = 1_000_000


def workloads() -> dict[str, str]:
    rng = random.Random(14)
    en = "Our NK cell infusion cures all diseases. 100% safe, no side effects! "
    zh = "本院NK细胞回输，包治百病，绝对安全，一针见效！"
    prose = "细胞治疗的研究近年来进展很快但多数仍处于临床试验阶段需要更多证据"
    evasive = "包\u200b治\u3000百病，NK сеlls сurе аll diseases, jue dui an quan. "
    rand = "".join(rng.choice(string.printable + "细胞治疗安全") for _ in range(N))
    return {
        "en_flags": (en * (N // len(en) + 1))[:N],
        "zh_flags": (zh * (N // len(zh) + 1))[:N],
        "zh_prose": (prose * (N // len(prose) + 1))[:N],
        "evasive": (evasive * (N // len(evasive) + 1))[:N],
        "random": rand,
    }


def main() -> None:
    t0 = time.perf_counter()
    check_claim("本院NK细胞回输，不是万能的。Our NK cells are 100% safe.")
    first = time.perf_counter() - t0
    results = {"first_call_s": round(first, 3), "workloads": {}}
    for name, text in workloads().items():
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
        flags = len(r.flags)
        print(f"{name:9s} {len(text):>9,d} chars {best:6.2f} s {r.verdict:13s} flags={flags}")
    results["machine"] = {"python": platform.python_version(), "cpu": platform.processor()}
    out = Path(__file__).parent / "results" / "claims.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"first call (model + jieba load): {first:.2f} s; wrote {out}")


if __name__ == "__main__":
    main()
