"""Developer tool: how the claim checker's thresholds were chosen (never imported at run time).

``python -m nksim.evidence._claims_tune [en|zh]`` prints, for the English or Chinese texts
of the corpus, the precision, recall and specificity of the whole checker (rules plus
learned component) on

* the **dev** split, with the shipped model (fitted on the train split), and
* the **train** split by **site-grouped 5-fold cross-validation**: each fold's texts get
  the probability of a model fitted (:func:`_claims_model.fit`) on the other folds only,
  so no site is scored by a model that saw it; the readable rules are the same for every
  fold (they were written from many of these texts, so the figures are optimistic for
  the rules),

* by **collector** (English): the texts of each retired fresh split (``test2``,
  ``test3``, ``test4``, by ``retired_from``; in train and dev) are scored by a model fitted
  on the train texts of every other origin (leave one collector out). Cross-validation on
  a retired fresh split's texts predicted that split's fresh measurement, and dev did not
  (docs/evidence.md), so thresholds and changes are chosen on this too,

for a grid of the two thresholds of :func:`_claims._combine` (``P_ALONE``, ``P_KEEP``), for
the text alone and (``--url``) with the host of each text's URL (the ``<lang>_url``
model). Only train and dev texts are read: a test split is measured once, elsewhere.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _claims as cl
from . import _claims_model as cm
from ._corpus import load_corpus


@dataclass(frozen=True)
class Scored:
    """One corpus text with the rules' result (``learned=False``) and a probability."""

    text: Any
    rules: Any
    probability: float


#: the retired fresh splits, each collected by its own collector (``retired_from``)
COLLECTORS = ("test2", "test3", "test4")


def _texts(split: str, lang: str) -> list[Any]:
    return [t for t in load_corpus(split) if t.lang_group == lang]


def _rules(t: Any, url: bool) -> Any:
    return cl.check_claim(t.text, learned=False, url=t.url if url else None)


def dev_scored(lang: str, url: bool = False) -> list[Scored]:
    """Dev texts of a language with the shipped model's probabilities (``url``: with the
    host of each text's URL)."""
    out = []
    for t in _texts("dev", lang):
        rules = _rules(t, url)
        p = cm.red_flag_probability(t.text, lang, rules.evidence, t.url if url else None)
        out.append(Scored(t, rules, p))
    return out


def _out_of_fold(
    key: str, train: list[Any], scored: list[Any], folds: list[tuple[list[int], list[int]]]
) -> list[Scored]:
    """``scored`` texts with the probability of a model fitted on ``train[fit]`` for each
    ``(fit, held)`` fold (``held`` indexes ``scored``)."""
    url = cm.uses_host(key)
    rules = [_rules(t, url) for t in scored]
    inputs = [
        cm.model_input(t.text, key, r.evidence, t.url if url else None)
        for t, r in zip(scored, rules, strict=True)
    ]
    index = {id(t): i for i, t in enumerate(scored)}
    p = np.full(len(scored), np.nan)
    for fit_idx, held_idx in folds:
        fit_texts = [train[i] for i in fit_idx]
        fit_inputs = (
            [inputs[index[id(t)]] for t in fit_texts]
            if all(id(t) in index for t in fit_texts)
            else None
        )
        pipe = cm.fit(key, fit_texts, fit_inputs)
        p[held_idx] = pipe.predict_proba([inputs[i] for i in held_idx])[:, 1]
    return [Scored(t, r, float(q)) for t, r, q in zip(scored, rules, p, strict=True) if q == q]


def cross_validated(lang: str, url: bool = False) -> list[Scored]:
    """Train texts of a language with out-of-fold probabilities (site-grouped folds)."""
    key = f"{lang}_url" if url else lang
    train = _texts("train", lang)
    folds = [(list(a), list(b)) for a, b in cm.site_folds([t.site for t in train])]
    return _out_of_fold(key, train, train, folds)


def collector_cross_validated(lang: str = "en", url: bool = False) -> dict[str, list[Scored]]:
    """For each retired fresh split (:data:`COLLECTORS`), its train and dev texts scored by
    a model fitted on the train texts of all other origins (leave one collector out)."""
    key = f"{lang}_url" if url else lang
    train = _texts("train", lang)
    everything = train + _texts("dev", lang)
    out = {}
    for origin in COLLECTORS:
        held = [i for i, t in enumerate(everything) if t.retired_from == origin]
        if not held:
            continue
        fit_idx = [i for i, t in enumerate(train) if t.retired_from != origin]
        out[origin] = _out_of_fold(key, train, everything, [(fit_idx, held)])
    return out


def flagged(s: Scored, lang: str, p_alone: float, p_keep: float) -> bool:
    """The checker's decision for a scored text at the given thresholds."""
    flags = cl._combine(
        list(s.rules.flags),
        s.probability,
        "en",
        [],
        long_enough=len(s.text.text.strip()) >= 40,
        p_alone=p_alone,
        p_keep=p_keep,
    )
    return bool(flags)


def counts(scored: list[Scored], lang: str, p_alone: float, p_keep: float) -> dict[str, Any]:
    """tp, fp, fn, tn and precision, recall, specificity."""
    tp = fp = fn = tn = 0
    for s in scored:
        f = flagged(s, lang, p_alone, p_keep)
        y = s.text.red_flag
        tp += f and y
        fp += f and not y
        fn += y and not f
        tn += not y and not f

    def ratio(a: int, b: int) -> float:
        return a / (a + b) if a + b else float("nan")

    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": ratio(tp, fp), "recall": ratio(tp, fn), "specificity": ratio(tn, fp),
    }  # fmt: skip


def _line(c: dict[str, Any]) -> str:
    return (
        f"{c['precision']:.2f} / {c['recall']:.2f} / {c['specificity']:.2f} "
        f"({c['tp']}/{c['tp'] + c['fp']}, {c['tp']}/{c['tp'] + c['fn']}, "
        f"{c['tn']}/{c['tn'] + c['fp']})"
    )


def main(lang: str = "en", url: bool = False) -> None:  # pragma: no cover - developer command
    dev = dev_scored(lang, url)
    cv = cross_validated(lang, url)
    by = collector_cross_validated(lang, url) if lang == "en" else {}
    pooled = [s for v in by.values() for s in v]
    mode = "text and URL host" if url else "text only"
    print(f"{lang} ({mode}): dev {len(dev)} texts, train (site-grouped 5-fold CV) {len(cv)}")
    print("p_alone p_keep | dev P / R / S | train CV P / R / S | by collector | smallest")
    keys = ("precision", "recall", "specificity")
    for p_keep in (0.10, 0.2, 0.3, 0.4):
        for p_alone in np.arange(0.30, 0.71, 0.05):
            d = counts(dev, lang, p_alone, p_keep)
            c = counts(cv, lang, p_alone, p_keep)
            parts = [d, c]
            coll = ""
            if pooled:
                b = counts(pooled, lang, p_alone, p_keep)
                parts.append(b)
                coll = (
                    " | "
                    + _line(b)
                    + "".join(
                        f" {o} " + _line(counts(v, lang, p_alone, p_keep)) for o, v in by.items()
                    )
                )
            worst = min(x[k] for x in parts for k in keys)
            print(f"{p_alone:.2f} {p_keep:.2f} | {_line(d)} | {_line(c)}{coll} | {worst:.3f}")


if __name__ == "__main__":  # pragma: no cover - developer command
    main(sys.argv[1] if len(sys.argv) > 1 else "en", "--url" in sys.argv[2:])
