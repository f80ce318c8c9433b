"""The fourth fresh English test split, ``test4``: frozen before it was measured, measured
once (measurement 6, docs/evidence.md), then retired to train and dev.

Its 188 texts were collected into ``claims_corpus_test4.jsonl`` by a collector who had not
worked on the checker, from sites found nowhere else in the corpus, and labelled by the
guide in ``docs/claims-labelling.md`` without running the checker on them. These tests
check that the retired texts, put back, are the frozen split, unchanged.
"""

from __future__ import annotations

from collections import Counter

from nksim.evidence._corpus import TEST4_SHA256, load_corpus, retired_test_sha256


def _test4():
    return [t for t in load_corpus() if t.retired_from == "test4"]


def test_test4_was_retired_unchanged():
    # changing, adding or removing a test4 text changes this hash
    assert retired_test_sha256("test4") == TEST4_SHA256
    texts = _test4()
    assert len(texts) == 188 and {t.split for t in texts} == {"train", "dev"}
    # by site: no site on both sides
    sides = {}
    for t in texts:
        assert sides.setdefault(t.site, t.split) == t.split


def test_test4_shape():
    texts = _test4()
    positives = sum(t.red_flag for t in texts)
    assert positives == 76
    assert {t.lang for t in texts} == {"en"}
    assert all(t.url.startswith(("http://", "https://")) for t in texts)
    assert all(t.id.startswith("en4-") for t in texts)
    # a legitimate text (news, regulator, study, patient group) never carries a label
    assert not any(t.labels for t in texts if t.kind == "legitimate")
    assert {t.kind for t in texts} == {"marketing", "legitimate"}


def test_test4_sites_were_fresh_and_few_texts_per_site():
    texts = _test4()
    per_site = Counter(t.site for t in texts)
    assert max(per_site.values()) <= 2  # one or two texts per site
    assert len(per_site) >= 120
    others = [t for t in load_corpus() if t.retired_from != "test4"]
    assert not set(per_site) & {t.site for t in others}  # no test4 site elsewhere
    assert not {t.text for t in texts} & {t.text for t in others}
