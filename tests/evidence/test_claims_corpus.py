"""The real-text corpus: its shape, its split by site, and the frozen test split."""

from __future__ import annotations

from collections import Counter

from nksim.evidence._corpus import LANGS, SPLITS, TEST_SHA256, load_corpus, split_sha256
from nksim.evidence._rules import claim_rules


def test_test_split_is_frozen():
    # changing, adding or removing a test text changes this hash: the test split is
    # frozen; new texts go to train or dev only.
    assert split_sha256("test") == TEST_SHA256


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
        for key in (("en", True), ("en", False), ("zh", True), ("zh", False)):
            assert c[key] >= 4, (split, key, c)
