"""The real-text corpus: its shape, its split by site, and the frozen test split."""

from __future__ import annotations

from collections import Counter

from nksim.evidence._corpus import (
    FIRST_TEST_SHA256,
    LANGS,
    SPLITS,
    TEST2_SHA256,
    TEST3_SHA256,
    TEST_SHA256,
    load_corpus,
    retired_test_sha256,
    split_sha256,
)
from nksim.evidence._rules import claim_rules


def test_test_split_is_frozen():
    # changing, adding or removing a test text changes this hash: the test split is
    # frozen; new texts go to train or dev only.
    assert split_sha256("test") == TEST_SHA256
    # the English half was retired to dev unchanged: put back, it rebuilds the
    # first frozen test split exactly
    assert retired_test_sha256() == FIRST_TEST_SHA256
    retired = [t for t in load_corpus() if t.retired_from == "test"]
    assert len(retired) == 51 and {t.split for t in retired} == {"dev"}
    assert {t.lang for t in retired} == {"en"}


def test_second_test_split_was_retired_unchanged():
    # test2: fresh English texts frozen before any tuning, measured once, then retired to
    # train and dev (by site) after test3 was frozen; put back, they rebuild its hash
    assert retired_test_sha256("test2") == TEST2_SHA256
    retired = [t for t in load_corpus() if t.retired_from == "test2"]
    assert len(retired) == 126 and {t.split for t in retired} == {"train", "dev"}
    for split in ("train", "dev"):
        sites = {t.site for t in load_corpus(split)}
        assert not sites & {t.site for t in retired if t.split != split}


def test_third_test_split_was_retired_unchanged():
    # test3: fresh English texts (one per site, from sites found nowhere else) collected
    # after test2 was measured once, frozen before any tuning, measured once, then retired
    # to train and dev (by site); put back, they rebuild its hash
    assert retired_test_sha256("test3") == TEST3_SHA256
    retired = [t for t in load_corpus() if t.retired_from == "test3"]
    assert len(retired) == 166 and sum(t.red_flag for t in retired) == 72
    assert {t.split for t in retired} == {"train", "dev"} and {t.lang for t in retired} == {"en"}
    assert len({t.site for t in retired}) == len(retired)  # one text per site
    for split in ("train", "dev"):
        sites = {t.site for t in load_corpus(split)}
        assert not sites & {t.site for t in retired if t.split != split}


def test_corpus_shape_and_labels():
    corpus = load_corpus()
    assert len(corpus) >= 250
    rule_ids = {r.id for r in claim_rules().rules}
    ids = [t.id for t in corpus]
    assert len(ids) == len(set(ids))
    for t in corpus:
        assert t.url.startswith(("http://", "https://")), t.id
        assert t.lang in LANGS and t.split in SPLITS and t.kind in ("marketing", "legitimate")
        assert set(t.labels) <= rule_ids, t.id
        assert t.text.strip() and len(t.text) < 1200, t.id
    assert len({t.text for t in corpus}) == len(corpus)


def test_no_site_on_two_sides_of_the_split():
    where: dict[str, set[str]] = {}
    for t in load_corpus():
        where.setdefault(t.site, set()).add(t.split)
    assert all(len(s) == 1 for s in where.values())


def test_every_split_has_both_classes_in_both_languages():
    for split in SPLITS:
        c = Counter((t.lang_group, t.red_flag) for t in load_corpus(split))
        # test holds the Chinese test texts
        langs = {"test": ("zh",), "test5": ("en",)}.get(split, ("en", "zh"))
        for key in [(lang, flag) for lang in langs for flag in (True, False)]:
            assert c[key] >= 4, (split, key, c)
