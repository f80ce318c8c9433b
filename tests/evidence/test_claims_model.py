"""The learned component: the shipped precomputed models are the ones scikit-learn fits on
the current train split, and the numpy scorer gives scikit-learn's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.evidence import _claims_model as cm
from nksim.evidence._corpus import load_corpus


@pytest.fixture(scope="module")
def pipes():
    pytest.importorskip("sklearn")
    return {key: cm.fit(key) for key in cm.MODEL_KEYS}


@pytest.mark.parametrize("key", cm.MODEL_KEYS)
def test_shipped_model_belongs_to_the_current_train_split(key):
    # a corpus change without `python -m nksim.evidence._claims_model` fails here
    lang = cm.lang_of(key)
    assert cm.model(key).train_sha256 == cm.train_sha256(lang)
    # each model is fitted on the train texts of its own language only
    assert {t.lang_group for t in cm.train_texts(lang)} == {lang}
    assert {t.split for t in cm.train_texts(lang)} == {"train"}


def test_ngrams_are_scikit_learns(pipes):
    texts = ["Our NK cells cure  all\ndiseases!", "本院 NK细胞回输 a", "x", "  ", "ab abc abcd"]
    for key, pipe in pipes.items():
        lang = cm.lang_of(key)
        text_parts = [part for _, part in pipe[0].transformer_list if hasattr(part, "steps")]
        for part, (analyzer, ngram_range) in zip(text_parts, cm.FEATURES[lang], strict=True):
            sk = part[-1].build_analyzer()
            name = analyzer
            for text in texts:
                assert cm._ngrams(analyzer, text, ngram_range) == sk(text), (lang, name, text)


@pytest.mark.parametrize("lang", cm.MODEL_KEYS)
def test_numpy_scorer_equals_scikit_learn_predict_proba(pipes, lang):
    pipe = pipes[lang]
    # train and dev texts only: a fresh test split is not even scored outside its measurement
    corpus = (load_corpus("train") + load_corpus("dev"))[::3]
    texts = [t.text for t in corpus] + ["", "NK", "包治百病 " * 50]
    urls = [t.url for t in corpus] + ["https://www.fda.gov/x", None, "http://spa.example.com"]
    if not cm.uses_host(lang):
        urls = [None] * len(texts)
    # prepared text, rule (and host) features
    inputs = [cm.model_input(t, lang, url=u) for t, u in zip(texts, urls, strict=True)]
    expected = pipe.predict_proba(inputs)[:, 1]
    fresh = cm.scorer_from_arrays(cm.export_model(pipe, lang), lang)
    got = np.array([fresh.probability(*x) for x in inputs])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # and the shipped file holds the same fit (deterministic liblinear fit)
    shipped = np.array([cm.model(lang).probability(*x) for x in inputs])
    np.testing.assert_allclose(shipped, expected, rtol=0, atol=1e-9)


def test_english_model_reads_the_rules_findings():
    # stacking: each model reads which rules flagged or were suppressed, context counts
    # and the subject beside the n-grams
    names = cm.rule_feature_names("en")
    assert cm.model("en").rule_names == names and "flag:absolute_safety" in names
    assert cm.model("zh").rule_names == cm.rule_feature_names("zh") == names
    text = "Stem cell infusions at our clinic in Cancun for knee pain and fatigue."
    none = cm.RuleEvidence(frozenset(), frozenset(), False, "stem_cell")
    high = cm.RuleEvidence(frozenset({"absolute_safety"}), frozenset(), True, "stem_cell")
    quiet = cm.RuleEvidence(frozenset(), frozenset({"absolute_safety"}), False, "stem_cell")
    p_none, p_high, p_quiet = (cm.red_flag_probability(text, "en", e) for e in (none, high, quiet))
    assert p_high > p_none  # a flagged claim raises the probability
    assert p_quiet != p_high  # a claim its context suppressed is not a flagged one
    with pytest.raises(ValueError):
        cm.model("en").probability(cm._prep(text))  # rule features are required


def test_url_model_reads_the_host_and_no_url_means_the_text_model():
    text = "Stem cell infusions for knee pain and fatigue: book your consultation today."
    assert cm.model_key("en", None) == "en" and cm.model_key("en", "not a url") == "en"
    assert cm.model_key("en", "https://clinic.example.com/a") == "en_url"
    names = cm.rule_feature_names("en_url")
    assert names[: len(cm.rule_feature_names("en"))] == cm.rule_feature_names("en")
    assert "host:tld:gov" in names and "host:piece:clinic" in names
    assert cm.model("en_url").rule_names == names
    # without a URL the probability is the text-only model's, whatever else is passed
    assert cm.red_flag_probability(text, "en") == cm.red_flag_probability(text, "en", url="")
    assert cm.red_flag_probability(text, "en") == cm.model("en").probability(
        *cm.model_input(text, "en")
    )
    p_gov = cm.red_flag_probability(text, "en", url="https://www.nih.gov/news/x")
    p_spa = cm.red_flag_probability(text, "en", url="https://stemcellwellnessmedspa.com/x")
    assert 0.0 <= p_gov <= 1.0 and 0.0 <= p_spa <= 1.0 and p_gov != p_spa


def test_site_folds_keep_each_site_on_one_side():
    train = cm.train_texts("en")
    folds = cm.site_folds([t.site for t in train])
    assert len(folds) == cm.N_FOLDS
    for fit_idx, held_idx in folds:
        assert not {train[i].site for i in fit_idx} & {train[i].site for i in held_idx}


def test_probability_is_a_probability():
    for text in ["", "   ", "Our NK cell infusion cures all diseases. 100% safe!", "细胞"]:
        p = cm.red_flag_probability(text)
        assert 0.0 <= p <= 1.0
    assert cm.guess_language("细胞回输包治百病") == "zh"
    assert cm.guess_language("NK cell infusion") == "en"
    with pytest.raises(ValueError):
        cm.model("fr")


def test_threshold_tool_reproduces_the_checker_on_dev():
    # _claims_tune (how the thresholds were chosen) decides exactly as check_claim does
    from nksim.evidence import _claims as cl
    from nksim.evidence import _claims_tune as tu
    from nksim.evidence import evaluate_corpus

    for lang in cm.LANGS:
        for url in (False, True):
            ev = evaluate_corpus("dev", lang, url=url)
            c = tu.counts(tu.dev_scored(lang, url), lang, cl.P_ALONE[lang], cl.P_VETO)
            assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (ev.tp, ev.fp, ev.fn, ev.tn)
