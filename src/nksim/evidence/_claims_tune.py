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

for a grid of the two thresholds of :func:`_claims._combine` (``P_ALONE``, ``P_KEEP``).
Only train and dev texts are read: a test split is measured once, elsewhere.
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


def _texts(split: str, lang: str) -> list[Any]:
    return [t for t in load_corpus(split) if t.lang_group == lang]


def dev_scored(lang: str) -> list[Scored]:
    """Dev texts of a language with the shipped model's probabilities."""
    out = []
    for t in _texts("dev", lang):
        rules = cl.check_claim(t.text, learned=False)
        p = cm.red_flag_probability(t.text, lang, rules.evidence)
        out.append(Scored(t, rules, p))
    return out


def cross_validated(lang: str) -> list[Scored]:
    """Train texts of a language with out-of-fold probabilities (site-grouped folds)."""
    train = _texts("train", lang)
    rules = [cl.check_claim(t.text, learned=False) for t in train]
    p = np.zeros(len(train))
    for fit_idx, held_idx in cm.site_folds([t.site for t in train]):
        pipe = cm.fit(lang, [train[i] for i in fit_idx])
        inputs = [cm.model_input(train[i].text, lang, rules[i].evidence) for i in held_idx]
        p[held_idx] = pipe.predict_proba(inputs)[:, 1]
    return [Scored(t, r, float(q)) for t, r, q in zip(train, rules, p, strict=True)]


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


def main(lang: str = "en") -> None:  # pragma: no cover - developer command
    dev = dev_scored(lang)
    cv = cross_validated(lang)
    print(f"{lang}: dev {len(dev)} texts, train (site-grouped 5-fold CV) {len(cv)} texts")
    print("p_alone p_keep | dev P / R / S | train CV P / R / S | smallest")
    for p_keep in (0.10, 0.2, 0.3, 0.4):
        for p_alone in np.arange(0.30, 0.71, 0.05):
            d = counts(dev, lang, p_alone, p_keep)
            c = counts(cv, lang, p_alone, p_keep)
            worst = min(d[k] for k in ("precision", "recall", "specificity"))
            worst = min(worst, *(c[k] for k in ("precision", "recall", "specificity")))
            print(f"{p_alone:.2f} {p_keep:.2f} | {_line(d)} | {_line(c)} | {worst:.3f}")


if __name__ == "__main__":  # pragma: no cover - developer command
    main(*sys.argv[1:2])
