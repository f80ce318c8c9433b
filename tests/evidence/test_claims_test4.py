"""The fourth fresh English test split, ``test4``: frozen before it was measured.

Its 188 texts were collected into ``claims_corpus_test4.jsonl`` by a collector who had not
worked on the checker, from sites found nowhere else in the corpus, and labelled by the
guide in ``docs/claims-labelling.md`` without running the checker on them. These tests
only check the split's shape and that it is unchanged; they never run the checker.
"""

from __future__ import annotations

from collections import Counter

from nksim.evidence._corpus import TEST4_SHA256, load_corpus, split_sha256


def test_test4_is_frozen():
    # changing, adding or removing a test4 text changes this hash
    assert split_sha256("test4") == TEST4_SHA256


def test_test4_shape():
    texts = load_corpus("test4")
    assert len(texts) >= 160
    positives = sum(t.red_flag for t in texts)
    assert positives >= 60
    assert 0.35 <= positives / len(texts) <= 0.55
    assert {t.lang for t in texts} == {"en"}
    assert all(t.url.startswith(("http://", "https://")) for t in texts)
    assert all(t.id.startswith("en4-") for t in texts)
    # a legitimate text (news, regulator, study, patient group) never carries a label
    assert not any(t.labels for t in texts if t.kind == "legitimate")
    assert {t.kind for t in texts} == {"marketing", "legitimate"}


def test_test4_sites_are_fresh_and_few_texts_per_site():
    texts = load_corpus("test4")
    per_site = Counter(t.site for t in texts)
    assert max(per_site.values()) <= 2  # one or two texts per site
    assert len(per_site) >= 120
    others = [t for t in load_corpus() if t.split != "test4"]
    assert not set(per_site) & {t.site for t in others}  # no test4 site in another split
    assert not {t.text for t in texts} & {t.text for t in others}
