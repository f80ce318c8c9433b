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
  0.76 -> 0.78) at equal thresholded figures (docs/evidence.md). After ``test3`` was
  retired into train/dev, the English model also reads **what the readable rules found**
  (:func:`rule_feature_names`: rules flagged, rules matched but dropped for their context,
  context word counts, the subject; stacking, weight :data:`RULE_WEIGHT`): ROC AUC on dev
  0.85 -> 0.92, in site-grouped cross-validation 0.79 -> 0.86.
* Chinese: TF-IDF of character 1-4-grams within word boundaries of the normalised text
  (``_normalise.normalise`` also converts traditional to simplified Chinese; n-grams work
  on Chinese without spaces) and, since ``test3`` was retired, the rules' findings as for
  English; same classifier and calibration. Word n-grams do not help
  Chinese without segmentation (dev AUC fell), so they are not used there.

The calibration folds are grouped by site (:func:`site_folds`), so that no site's texts
calibrate a fit they trained; ``_claims_tune`` cross-validates the whole checker the same
way.

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
from ._segment import jieba

MAX_CHARS = 20_000
LANGS = ("en", "zh")
#: the shipped models: per language one on the text alone and one (``<lang>_url``) that
#: also reads the host of the page's address (``_claims_host``), used when a URL is given
MODEL_KEYS = ("en", "zh", "en_url", "zh_url")
#: weight of the host features against the L2-normalised TF-IDF blocks
HOST_WEIGHT = 0.5
#: per language: the TF-IDF blocks (analyzer, n-gram range) and the logistic C
FEATURES: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "en": (("word", (1, 2)), ("char_wb", (2, 5))),
    "zh": (("char_wb", (1, 4)),),
}
C_REG = {"en": 4.0, "zh": 4.0}
MIN_DF = 2
#: per language: whether the readable rules' findings are features beside the n-grams
#: (stacking), and their weight against the L2-normalised TF-IDF blocks (chosen on the
#: English dev split and by site-grouped cross-validation of the English train split; for
#: Chinese, stacking raised ROC AUC on dev 0.70 -> 0.90 and in cross-validation 0.76 ->
#: 0.85, with the same dev figures and one false alarm fewer in cross-validation)
RULE_FEATURES = {"en": True, "zh": True}
RULE_WEIGHT = 0.5
#: context lexicons of ``claim_rules.toml`` whose match counts (log(1 + n)) are features
CONTEXT_FEATURES = (
    "first_person", "second_person", "price", "sales", "cue", "research", "hedge",
    "reporting_verb", "proof", "doubt", "prohibition",
)  # fmt: skip
SUBJECTS = ("car_t", "nk", "exosome", "stem_cell", "immune_cell", "generic")
N_FOLDS = 5
MODEL_FILE = "claims_model.npz"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


def words(text: str) -> list[str]:
    """Word tokens: jieba for Chinese runs, lower-cased words for the rest."""
    jb = jieba()
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


@dataclass(frozen=True)
class RuleEvidence:
    """What the readable rules found in a text, before the combination with the model:
    the rules flagged, the rules matched but dropped for their context (negated, quoted,
    reported, hedged...), and the subject of the text."""

    flagged: frozenset[str]
    suppressed: frozenset[str]
    high: bool
    subject: str


def lang_of(key: str) -> str:
    """The language of a model key (``"en_url"`` -> ``"en"``)."""
    return key.split("_", 1)[0]


def uses_host(key: str) -> bool:
    """Whether the model ``key`` reads the host of the page's address."""
    return key.endswith("_url")


def rule_feature_names(key: str) -> tuple[str, ...]:
    """Names of the rule, context (and, for a ``<lang>_url`` model, host) features of a
    model, in order."""
    from ._claims_host import host_feature_names

    host = tuple(f"host:{n}" for n in host_feature_names()) if uses_host(key) else ()
    if not RULE_FEATURES[lang_of(key)]:
        return host
    from ._rules import claim_rules

    ids = [r.id for r in claim_rules().rules]
    return (
        *(f"flag:{i}" for i in ids),
        *(f"suppressed:{i}" for i in ids),
        "any_high",
        "n_flagged",
        "any_flag",
        *(f"context:{c}" for c in CONTEXT_FEATURES),
        *(f"subject:{s}" for s in SUBJECTS),
        *host,
    )


def rule_features(
    prepared: str, evidence: RuleEvidence | None, names: tuple[str, ...], url: str | None = None
) -> np.ndarray:
    """The feature vector ``names`` (:func:`rule_feature_names`) of one prepared text
    (host features from ``url``; rule features need ``evidence``). Host features are
    scaled by ``HOST_WEIGHT / RULE_WEIGHT`` so that, after the common weight, they weigh
    ``HOST_WEIGHT``."""
    from ._claims_host import host_features, parse_host
    from ._prefilter import LiteralIndex, finditer
    from ._rules import claim_rules

    context = claim_rules().context
    index = LiteralIndex(prepared)  # prepared text is normalised: prefiltered searches
    out = np.zeros(len(names))
    host_names = tuple(n[5:] for n in names if n.startswith("host:"))
    if host_names:
        scale = HOST_WEIGHT / RULE_WEIGHT
        vals = host_features(parse_host(url), host_names)
        out[len(names) - len(host_names) :] = np.array(vals) * scale
    for j, name in enumerate(names):
        kind, _, what = name.partition(":")
        if kind == "host":
            continue
        if evidence is None:
            raise ValueError("the rule features need the rules' evidence")
        if kind == "flag":
            out[j] = what in evidence.flagged
        elif kind == "suppressed":
            out[j] = what in evidence.suppressed
        elif kind == "any_high":
            out[j] = evidence.high
        elif kind == "n_flagged":
            out[j] = math.log1p(len(evidence.flagged))
        elif kind == "any_flag":
            out[j] = bool(evidence.flagged)
        elif kind == "context":
            out[j] = math.log1p(sum(1 for _ in finditer(context[what], prepared, index)))
        elif kind == "subject":
            out[j] = evidence.subject == what
    return out


def model_input(
    text: str, key: str, evidence: RuleEvidence | None = None, url: str | None = None
) -> tuple[str, np.ndarray]:
    """What a model (a key of :data:`MODEL_KEYS`) reads: the prepared text and its rule
    (and host) features (the rules are run on ``text`` when ``evidence`` is not given)."""
    prepared = _prep(text)
    names = rule_feature_names(key)
    if not names:
        return prepared, np.zeros(0)
    if evidence is None and RULE_FEATURES[lang_of(key)]:
        from ._claims import rule_evidence

        evidence = rule_evidence(text)
    return prepared, rule_features(prepared, evidence, names, url)


def _vectorizer(analyzer: str, ngram_range: tuple[int, int]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, min_df=MIN_DF
    )


def _texts_of(inputs: Any) -> list[str]:
    return [x[0] for x in inputs]


def _rules_of(inputs: Any) -> np.ndarray:
    return np.array([x[1] for x in inputs], dtype=np.float64) * RULE_WEIGHT


def site_folds(sites: list[str], k: int = N_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` folds with no site on two sides (scikit-learn ``GroupKFold``)."""
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=k).split(np.zeros(len(sites)), groups=sites))


def fit(lang: str = "en", texts: list[Any] | None = None, inputs: list[Any] | None = None) -> Any:
    """Fit the calibrated scikit-learn pipeline of one model (``lang`` is a key of
    :data:`MODEL_KEYS`: ``"en"``, ``"zh"``, or ``"en_url"``/``"zh_url"`` with the host of
    each text's URL) on its train texts (deterministic); ``texts`` replaces them
    (cross-validation), ``inputs`` their :func:`model_input` when already computed. The
    calibration folds are grouped by site, so that no site's texts calibrate a fit they
    trained."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    key, lang = lang, lang_of(lang)
    train = train_texts(lang) if texts is None else texts
    url = uses_host(key)
    x = inputs or [model_input(t.text, key, url=t.url if url else None) for t in train]
    y = [int(t.red_flag) for t in train]
    clf = CalibratedClassifierCV(
        LogisticRegression(C=C_REG[lang], class_weight="balanced", solver="liblinear"),
        method="sigmoid",
        cv=site_folds([t.site for t in train]),
    )
    parts = [
        make_pipeline(FunctionTransformer(_texts_of), _vectorizer(a, r)) for a, r in FEATURES[lang]
    ]
    if rule_feature_names(key):
        parts.append(FunctionTransformer(_rules_of))
    pipe = make_pipeline(make_union(*parts), clf)
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
    rule_names: tuple[str, ...] = ()  # rule and context features after the n-grams
    rule_weight: float = 0.0
    rule_offset: int = 0

    def probability(self, prepared: str, rules: np.ndarray | None = None) -> float:
        """Probability for a prepared text (:func:`_prep`) and, when the model reads
        them, its rule features (:func:`model_input`)."""
        x_dot = np.zeros(len(self.intercept))
        if self.rule_names:
            if rules is None or len(rules) != len(self.rule_names):
                raise ValueError("this model needs the rule features of the text")
            cols = self.coef[:, self.rule_offset : self.rule_offset + len(self.rule_names)]
            x_dot = x_dot + cols @ (np.asarray(rules, dtype=np.float64) * self.rule_weight)
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
    """The arrays of one model's fitted pipeline (:func:`fit`; ``lang`` is its key), keys
    prefixed ``"<key>_"``, as stored in ``data/claims_model.npz``."""
    union, cal = pipe[0], pipe[-1]
    out: dict[str, np.ndarray] = {}
    texts = [t for _, t in union.transformer_list if hasattr(t, "steps")]
    for i, part in enumerate(texts):
        vec = part[-1]
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
    out[f"{lang}_train_sha256"] = np.array(train_sha256(lang_of(lang)))
    out[f"{lang}_rule_names"] = np.array(rule_feature_names(lang), dtype=str)
    out[f"{lang}_rule_weight"] = np.array(RULE_WEIGHT if rule_feature_names(lang) else 0.0)
    return out


def scorer_from_arrays(arrays: Any, lang: str) -> Scorer:
    blocks = []
    offset = 0
    i = 0
    if f"{lang}_coef" not in arrays:
        raise KeyError(f"no model {lang!r} in {MODEL_FILE}")
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
    names = f"{lang}_rule_names"
    rule_names = tuple(str(v) for v in arrays[names]) if names in arrays else ()
    return Scorer(
        rule_names=rule_names,
        rule_weight=float(arrays[f"{lang}_rule_weight"]) if rule_names else 0.0,
        rule_offset=offset,
        blocks=tuple(blocks),
        coef=np.asarray(arrays[f"{lang}_coef"], dtype=np.float64),
        intercept=np.asarray(arrays[f"{lang}_intercept"], dtype=np.float64),
        a=np.asarray(arrays[f"{lang}_a"], dtype=np.float64),
        b=np.asarray(arrays[f"{lang}_b"], dtype=np.float64),
        train_sha256=str(arrays[f"{lang}_train_sha256"]),
    )


@lru_cache(maxsize=4)
def model(lang: str = "en") -> Scorer:
    """The shipped, precomputed model of one key of :data:`MODEL_KEYS` (a language, or
    ``"<lang>_url"``), fitted on its train texts by :func:`fit`."""
    if lang not in MODEL_KEYS:
        raise ValueError(f"unknown language {lang!r}; choose from {LANGS}")
    with resources.files("nksim.evidence").joinpath("data", MODEL_FILE).open("rb") as fh:
        with np.load(fh, allow_pickle=False) as arrays:
            return scorer_from_arrays(arrays, lang)


def model_key(lang: str, url: str | None) -> str:
    """The model that scores a text of ``lang``: ``"<lang>_url"`` when ``url`` has a
    usable host, else the text-only model ``lang``."""
    from ._claims_host import parse_host

    return f"{lang}_url" if parse_host(url) is not None else lang


def red_flag_probability(
    text: str,
    lang: str | None = None,
    evidence: RuleEvidence | None = None,
    url: str | None = None,
) -> float:
    """Calibrated probability (0-1) that ``text`` makes red-flag claims of its own, from
    the model of ``lang`` (``"en"`` or ``"zh"``; guessed from the text when omitted).
    ``evidence``: what the readable rules found (they are run when it is not given and
    the model reads them). ``url``: the page's address; with a usable host the model
    that also reads the host scores the text, without one the text-only model."""
    if not text.strip():
        return 0.0
    lang = lang or guess_language(text)
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose from {LANGS}")
    key = model_key(lang, url)
    scorer = model(key)
    if scorer.rule_names != rule_feature_names(key):
        raise RuntimeError(
            "claims_model.npz was fitted with other rules; refit it with "
            "`python -m nksim.evidence._claims_model`"
        )
    return scorer.probability(*model_input(text, key, evidence, url))


def _write_model() -> str:
    """Fit on the train split and write ``data/claims_model.npz`` (developer command)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / MODEL_FILE
    arrays: dict[str, np.ndarray] = {}
    for key in MODEL_KEYS:
        arrays.update(export_model(fit(key), key))
    np.savez_compressed(path, **arrays)
    return str(path)


if __name__ == "__main__":  # pragma: no cover - developer command
    print("wrote", _write_model())
