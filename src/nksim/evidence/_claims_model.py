"""The learned half of the claim checker: calibrated probability that a text makes red-flag claims.

A scikit-learn pipeline on the normalised text (``_normalise.normalise``, which also
converts traditional to simplified Chinese): TF-IDF of character 1-4-grams within word
boundaries (works on Chinese without spaces), then logistic regression with balanced class
weights, calibrated by 5-fold sigmoid (Platt) calibration (``CalibratedClassifierCV``). It
is fitted on the **train split only** of the real-text corpus
(``_corpus.load_corpus("train")``), deterministically, the first time it is needed, and
cached on disk (``~/.cache/nksim``, or ``$NKSIM_CACHE``) under a key made of the train
split's hash and the scikit-learn version, so later processes load it in milliseconds.
Long texts are scored on their first :data:`MAX_CHARS` characters (after normalisation).
jieba word segmentation (:func:`words`) is used by the rule half for Chinese negation
scope, not here: loading its dictionary takes 1-3 s per process.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._corpus import load_corpus, split_sha256
from ._normalise import normalise

MAX_CHARS = 20_000
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
    """Fit the calibrated pipeline on the corpus train split (deterministic)."""
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
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
        clf,
    )
    pipe.fit(x, y)
    return pipe


def _cache_path() -> Path:
    import sklearn

    key = f"{split_sha256('train')[:16]}-sk{sklearn.__version__}"
    base = Path(os.environ.get("NKSIM_CACHE") or Path.home() / ".cache" / "nksim")
    return base / f"claims_model-{key}.pkl"


@lru_cache(maxsize=1)
def model() -> Any:
    """The fitted, calibrated pipeline (train split only), from the disk cache if there."""
    path = _cache_path()
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache file, keyed by content hash
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    pipe = fit()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(pipe, fh)
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: fit again next time
    return pipe


def red_flag_probability(text: str) -> float:
    """Calibrated probability (0-1) that ``text`` makes red-flag claims of its own."""
    if not text.strip():
        return 0.0
    return float(model().predict_proba([_prep(text)])[0, 1])
