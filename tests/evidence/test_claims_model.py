"""The learned component: the shipped precomputed model is the one scikit-learn fits on the
current train split, and the numpy scorer gives scikit-learn's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.evidence import _claims_model as cm
from nksim.evidence._corpus import load_corpus, split_sha256


@pytest.fixture(scope="module")
def pipe():
    pytest.importorskip("sklearn")
    return cm.fit()


def test_shipped_model_belongs_to_the_current_train_split():
    # a corpus change without `python -m nksim.evidence._claims_model` fails here
    assert cm.model().train_sha256 == split_sha256("train")


def test_char_ngrams_are_scikit_learns(pipe):
    analyzer = pipe[0].build_analyzer()
    for text in [
        "Our NK cells cure  all\ndiseases!",
        "本院 NK细胞回输 a",
        "x",
        "  ",
        "ab abc abcd",
    ]:
        assert cm.char_wb_ngrams(text) == analyzer(text)


def test_numpy_scorer_equals_scikit_learn_predict_proba(pipe):
    texts = [t.text for t in load_corpus()][::3] + ["", "NK", "包治百病 " * 50]
    prepared = [cm._prep(t) for t in texts]
    expected = pipe.predict_proba(prepared)[:, 1]
    fresh = cm.scorer_from_arrays(cm.export_model(pipe))
    got = np.array([fresh.probability(p) for p in prepared])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # and the shipped file holds the same fit (deterministic liblinear fit)
    shipped = np.array([cm.model().probability(p) for p in prepared])
    np.testing.assert_allclose(shipped, expected, rtol=0, atol=1e-9)


def test_probability_is_a_probability():
    for text in ["", "   ", "Our NK cell infusion cures all diseases. 100% safe!", "细胞"]:
        p = cm.red_flag_probability(text)
        assert 0.0 <= p <= 1.0
