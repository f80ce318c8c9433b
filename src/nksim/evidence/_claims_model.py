"""The learned half of the claim checker: calibrated probability that a text makes red-flag claims.

The model: TF-IDF of character 1-4-grams within word boundaries of the normalised text
(``_normalise.normalise``, which also converts traditional to simplified Chinese; n-grams
work on Chinese without spaces), then logistic regression with balanced class weights,
calibrated by 5-fold sigmoid (Platt) calibration (scikit-learn ``CalibratedClassifierCV``),
fitted on the **train split only** of the real-text corpus (``_corpus.load_corpus("train")``),
deterministically, by :func:`fit`.

The fitted numbers (vocabulary, idf weights, the five folds' coefficients and sigmoid
parameters) are shipped precomputed in ``data/claims_model.npz`` (:func:`export_model`,
``python -m nksim.evidence._claims_model``), with the hash of the train split they were
fitted on. At run time :func:`red_flag_probability` scores with numpy alone
(:class:`Scorer`): no scikit-learn import and no fit, so the first call of a process takes
milliseconds. ``tests/evidence/test_claims_model.py`` checks that the shipped file belongs to
the current train split and that the scorer equals scikit-learn's ``predict_proba``.
Long texts are scored on their first :data:`MAX_CHARS` characters (after normalisation).
jieba word segmentation (:func:`words`) is used by the rule half for Chinese negation scope,
not here; it is loaded only when a Chinese text has a negator character before a match.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ._corpus import load_corpus, split_sha256
from ._normalise import normalise

MAX_CHARS = 20_000
NGRAMS = (1, 4)
MODEL_FILE = "claims_model.npz"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """Word tokens: jieba for Chinese runs, lower-cased words for the rest."""
    jb = _jieba()
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(text):
        out.extend(re.findall(r"[a-z]{2,}", text[pos : m.start()].lower()))
        out.extend(w for w in jb.lcut(m.group()) if w.strip())
        pos = m.end()
    out.extend(re.findall(r"[a-z]{2,}", text[pos:].lower()))
    return out


def _prep(text: str) -> str:
    return normalise(text[: MAX_CHARS * 2]).text[:MAX_CHARS]


def fit() -> Any:
    """Fit the calibrated scikit-learn pipeline on the corpus train split (deterministic)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = load_corpus("train")
    x = [_prep(t.text) for t in train]
    y = [int(t.red_flag) for t in train]
    clf = CalibratedClassifierCV(
        LogisticRegression(C=4.0, class_weight="balanced", solver="liblinear"),
        method="sigmoid",
        cv=5,
    )
    pipe = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, min_df=2),
        clf,
    )
    pipe.fit(x, y)
    return pipe


def char_wb_ngrams(text: str) -> list[str]:
    """Character n-grams inside word boundaries, words padded with one space: the same
    n-grams as scikit-learn's ``TfidfVectorizer(analyzer="char_wb", lowercase=True)``."""
    lo, hi = NGRAMS
    out: list[str] = []
    append = out.append
    for w in text.lower().split():
        w = f" {w} "
        w_len = len(w)
        for n in range(lo, hi + 1):
            if w_len <= n:  # a short word gives itself once, and nothing longer
                append(w)
                break
            for i in range(w_len - n + 1):
                append(w[i : i + n])
    return out


@dataclass(frozen=True)
class Scorer:
    """The fitted model as plain arrays: sublinear TF-IDF, L2 norm, then the mean over the
    calibration folds of ``expit(-(a * (x . coef + intercept) + b))``."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (folds, features)
    intercept: np.ndarray  # (folds,)
    a: np.ndarray  # (folds,)
    b: np.ndarray  # (folds,)
    train_sha256: str

    def probability(self, prepared: str) -> float:
        counts = Counter(self.vocabulary.get(g, -1) for g in char_wb_ngrams(prepared))
        counts.pop(-1, None)
        if not counts:
            x_dot = np.zeros(len(self.intercept))
        else:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * self.idf[idx]
            w /= math.sqrt(float(w @ w))
            x_dot = self.coef[:, idx] @ w
        d = x_dot + self.intercept
        return float(np.mean(1.0 / (1.0 + np.exp(self.a * d + self.b))))


def export_model(pipe: Any) -> dict[str, np.ndarray]:
    """The arrays of a fitted pipeline (:func:`fit`), as stored in ``data/claims_model.npz``."""
    vec, cal = pipe[0], pipe[-1]
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
    folds = cal.calibrated_classifiers_
    return {
        "vocabulary": np.array(vocab, dtype=str),
        "idf": np.asarray(vec.idf_, dtype=np.float64),
        "coef": np.vstack([f.estimator.coef_[0] for f in folds]).astype(np.float64),
        "intercept": np.array([f.estimator.intercept_[0] for f in folds], dtype=np.float64),
        "a": np.array([f.calibrators[0].a_ for f in folds], dtype=np.float64),
        "b": np.array([f.calibrators[0].b_ for f in folds], dtype=np.float64),
        "train_sha256": np.array(split_sha256("train")),
    }


def scorer_from_arrays(arrays: Any) -> Scorer:
    vocab = [str(v) for v in arrays["vocabulary"]]
    return Scorer(
        vocabulary={g: i for i, g in enumerate(vocab)},
        idf=np.asarray(arrays["idf"], dtype=np.float64),
        coef=np.asarray(arrays["coef"], dtype=np.float64),
        intercept=np.asarray(arrays["intercept"], dtype=np.float64),
        a=np.asarray(arrays["a"], dtype=np.float64),
        b=np.asarray(arrays["b"], dtype=np.float64),
        train_sha256=str(arrays["train_sha256"]),
    )


@lru_cache(maxsize=1)
def model() -> Scorer:
    """The shipped, precomputed model (fitted on the train split by :func:`fit`)."""
    with resources.files("nksim.evidence").joinpath("data", MODEL_FILE).open("rb") as fh:
        with np.load(fh, allow_pickle=False) as arrays:
            return scorer_from_arrays(arrays)


def red_flag_probability(text: str) -> float:
    """Calibrated probability (0-1) that ``text`` makes red-flag claims of its own."""
    if not text.strip():
        return 0.0
    return model().probability(_prep(text))


def _write_model() -> str:
    """Fit on the train split and write ``data/claims_model.npz`` (developer command)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / MODEL_FILE
    np.savez_compressed(path, **export_model(fit()))
    return str(path)


if __name__ == "__main__":  # pragma: no cover - developer command
    print("wrote", _write_model())
