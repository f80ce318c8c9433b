"""The learned half of the claim checker: calibrated probability that a text makes red-flag claims.

One model per language group, each fitted on the **train split only** of the real-text
corpus (``_corpus.load_corpus("train")``, texts of that language), deterministically, by
:func:`fit`:

* English: TF-IDF of word 1-2-grams and, beside them, of character 2-5-grams within word
  boundaries (scikit-learn ``FeatureUnion``; each block L2-normalised), then logistic
  regression with balanced class weights, calibrated by 5-fold sigmoid (Platt) calibration
  (``CalibratedClassifierCV``). Word n-grams were added when the English train split grew
  (the retired ``test2`` texts and 59 new texts): on the English dev split they raised the
  ranking quality (ROC AUC 0.81 -> 0.85; site-grouped 5-fold cross-validation on train
  0.76 -> 0.78) at equal thresholded figures (docs/evidence.md).
* Chinese: TF-IDF of character 1-4-grams within word boundaries of the normalised text
  (``_normalise.normalise`` also converts traditional to simplified Chinese; n-grams work
  on Chinese without spaces), same classifier and calibration. Word n-grams do not help
  Chinese without segmentation (dev AUC fell), so they are not used there.

The fitted numbers (vocabularies, idf weights, the five folds' coefficients and sigmoid
parameters) are shipped precomputed in ``data/claims_model.npz`` (:func:`export_model`,
``python -m nksim.evidence._claims_model``), with the hash of the train texts each model
was fitted on. At run time :func:`red_flag_probability` scores with numpy alone
(:class:`Scorer`): no scikit-learn import and no fit, so the first call of a process takes
milliseconds. ``tests/evidence/test_claims_model.py`` checks that the shipped file belongs
to the current train split and that the scorer equals scikit-learn's ``predict_proba``.
Long texts are scored on their first :data:`MAX_CHARS` characters (after normalisation).
jieba word segmentation (:func:`words`) is used by the rule half for Chinese negation scope,
not here; it is loaded only when a Chinese text has a negator character before a match.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ._corpus import load_corpus
from ._normalise import normalise

MAX_CHARS = 20_000
LANGS = ("en", "zh")
#: per language: the TF-IDF blocks (analyzer, n-gram range) and the logistic C
FEATURES: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "en": (("word", (1, 2)), ("char_wb", (2, 5))),
    "zh": (("char_wb", (1, 4)),),
}
C_REG = {"en": 4.0, "zh": 4.0}
MIN_DF = 2
MODEL_FILE = "claims_model.npz"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


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


def guess_language(text: str) -> str:
    """``"zh"`` when Chinese characters dominate, else ``"en"`` (as the rule half decides)."""
    sample = text[:MAX_CHARS]
    cjk = len(_CJK.findall(sample))
    return "zh" if cjk and cjk * 3 >= len(_LATIN.findall(sample)) else "en"


def train_texts(lang: str) -> list[Any]:
    """The train-split texts a language's model is fitted on."""
    return [t for t in load_corpus("train") if t.lang_group == lang]


def train_sha256(lang: str) -> str:
    """SHA-256 of the train texts of one language (canonical JSON, sorted by id)."""
    rows = sorted(
        (
            {"id": t.id, "labels": list(t.labels), "text": t.text, "site": t.site}
            for t in train_texts(lang)
        ),
        key=lambda r: r["id"],
    )
    canon = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _vectorizer(analyzer: str, ngram_range: tuple[int, int]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, min_df=MIN_DF
    )


def fit(lang: str = "en") -> Any:
    """Fit the calibrated scikit-learn pipeline of one language on its train texts
    (deterministic)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    train = train_texts(lang)
    x = [_prep(t.text) for t in train]
    y = [int(t.red_flag) for t in train]
    clf = CalibratedClassifierCV(
        LogisticRegression(C=C_REG[lang], class_weight="balanced", solver="liblinear"),
        method="sigmoid",
        cv=5,
    )
    union = make_union(*(_vectorizer(a, r) for a, r in FEATURES[lang]))
    pipe = make_pipeline(union, clf)
    pipe.fit(x, y)
    return pipe


def char_wb_ngrams(text: str, ngram_range: tuple[int, int] = (1, 4)) -> list[str]:
    """Character n-grams inside word boundaries, words padded with one space: the same
    n-grams as scikit-learn's ``TfidfVectorizer(analyzer="char_wb", lowercase=True)``."""
    lo, hi = ngram_range
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


def word_ngrams(text: str, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Word n-grams as scikit-learn's ``TfidfVectorizer(analyzer="word", lowercase=True)``
    makes them (default token pattern, n-grams joined by one space)."""
    lo, hi = ngram_range
    tokens = _WORD.findall(text.lower())
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), hi + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


def _ngrams(analyzer: str, text: str, ngram_range: tuple[int, int]) -> list[str]:
    if analyzer == "word":
        return word_ngrams(text, ngram_range)
    return char_wb_ngrams(text, ngram_range)


@dataclass(frozen=True)
class Block:
    """One TF-IDF block: its analyzer, n-gram range, vocabulary and idf weights."""

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int  # column of the block's first feature in the classifier


@dataclass(frozen=True)
class Scorer:
    """One language's fitted model as plain arrays: per block sublinear TF-IDF with L2
    norm, blocks side by side, then the mean over the calibration folds of
    ``expit(-(a * (x . coef + intercept) + b))``."""

    blocks: tuple[Block, ...]
    coef: np.ndarray  # (folds, features)
    intercept: np.ndarray  # (folds,)
    a: np.ndarray  # (folds,)
    b: np.ndarray  # (folds,)
    train_sha256: str

    def probability(self, prepared: str) -> float:
        x_dot = np.zeros(len(self.intercept))
        for block in self.blocks:
            grams = _ngrams(block.analyzer, prepared, block.ngram_range)
            counts = Counter(block.vocabulary.get(g, -1) for g in grams)
            counts.pop(-1, None)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * block.idf[idx]
            w /= math.sqrt(float(w @ w))
            x_dot = x_dot + self.coef[:, block.offset + idx] @ w
        d = x_dot + self.intercept
        return float(np.mean(1.0 / (1.0 + np.exp(self.a * d + self.b))))


def export_model(pipe: Any, lang: str) -> dict[str, np.ndarray]:
    """The arrays of one language's fitted pipeline (:func:`fit`), keys prefixed
    ``"<lang>_"``, as stored in ``data/claims_model.npz``."""
    union, cal = pipe[0], pipe[-1]
    out: dict[str, np.ndarray] = {}
    for i, (_, vec) in enumerate(union.transformer_list):
        vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
        out[f"{lang}_vocabulary{i}"] = np.array(vocab, dtype=str)
        out[f"{lang}_idf{i}"] = np.asarray(vec.idf_, dtype=np.float64)
        out[f"{lang}_analyzer{i}"] = np.array(vec.analyzer)
        out[f"{lang}_ngrams{i}"] = np.array(vec.ngram_range, dtype=np.int64)
    folds = cal.calibrated_classifiers_
    out[f"{lang}_coef"] = np.vstack([f.estimator.coef_[0] for f in folds]).astype(np.float64)
    out[f"{lang}_intercept"] = np.array([f.estimator.intercept_[0] for f in folds], dtype=float)
    out[f"{lang}_a"] = np.array([f.calibrators[0].a_ for f in folds], dtype=np.float64)
    out[f"{lang}_b"] = np.array([f.calibrators[0].b_ for f in folds], dtype=np.float64)
    out[f"{lang}_train_sha256"] = np.array(train_sha256(lang))
    return out


def scorer_from_arrays(arrays: Any, lang: str) -> Scorer:
    blocks = []
    offset = 0
    i = 0
    while f"{lang}_vocabulary{i}" in arrays:
        vocab = [str(v) for v in arrays[f"{lang}_vocabulary{i}"]]
        lo, hi = (int(v) for v in arrays[f"{lang}_ngrams{i}"])
        blocks.append(
            Block(
                analyzer=str(arrays[f"{lang}_analyzer{i}"]),
                ngram_range=(lo, hi),
                vocabulary={g: j for j, g in enumerate(vocab)},
                idf=np.asarray(arrays[f"{lang}_idf{i}"], dtype=np.float64),
                offset=offset,
            )
        )
        offset += len(vocab)
        i += 1
    return Scorer(
        blocks=tuple(blocks),
        coef=np.asarray(arrays[f"{lang}_coef"], dtype=np.float64),
        intercept=np.asarray(arrays[f"{lang}_intercept"], dtype=np.float64),
        a=np.asarray(arrays[f"{lang}_a"], dtype=np.float64),
        b=np.asarray(arrays[f"{lang}_b"], dtype=np.float64),
        train_sha256=str(arrays[f"{lang}_train_sha256"]),
    )


@lru_cache(maxsize=2)
def model(lang: str = "en") -> Scorer:
    """The shipped, precomputed model of one language (fitted on its train texts by
    :func:`fit`)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose from {LANGS}")
    with resources.files("nksim.evidence").joinpath("data", MODEL_FILE).open("rb") as fh:
        with np.load(fh, allow_pickle=False) as arrays:
            return scorer_from_arrays(arrays, lang)


def red_flag_probability(text: str, lang: str | None = None) -> float:
    """Calibrated probability (0-1) that ``text`` makes red-flag claims of its own, from
    the model of ``lang`` (``"en"`` or ``"zh"``; guessed from the text when omitted)."""
    if not text.strip():
        return 0.0
    return model(lang or guess_language(text)).probability(_prep(text))


def _write_model() -> str:
    """Fit on the train split and write ``data/claims_model.npz`` (developer command)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / MODEL_FILE
    arrays: dict[str, np.ndarray] = {}
    for lang in LANGS:
        arrays.update(export_model(fit(lang), lang))
    np.savez_compressed(path, **arrays)
    return str(path)


if __name__ == "__main__":  # pragma: no cover - developer command
    print("wrote", _write_model())
