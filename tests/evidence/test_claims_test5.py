"""The fifth fresh English test split, ``test5``: frozen before it was measured.

Its 189 texts were collected into ``claims_corpus_test5.jsonl`` by a collector who had not
worked on the checker, after ``test4`` had been measured and retired, from sites found
nowhere else in the corpus (nor a subdomain or parent domain of such a site), and labelled
by the guide in ``docs/claims-labelling.md`` without running the checker on them. These
tests only check the split's shape and that it is unchanged; they never run the checker.
"""

from __future__ import annotations

from collections import Counter

from nksim.evidence._corpus import TEST5_SHA256, load_corpus, split_sha256


def _related(a: str, b: str) -> bool:
    """True when two host names are equal or one is a subdomain of the other."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def test_test5_is_frozen():
    # changing, adding or removing a test5 text changes this hash
    assert split_sha256("test5") == TEST5_SHA256


def test_test5_shape():
    texts = load_corpus("test5")
    assert len(texts) >= 180
    positives = sum(t.red_flag for t in texts)
    assert positives >= 70
    assert 0.35 <= positives / len(texts) <= 0.55
    assert {t.lang for t in texts} == {"en"}
    assert all(t.url.startswith(("http://", "https://")) for t in texts)
    assert all(t.id.startswith("en5-") for t in texts)
    # a legitimate text (news, regulator, study, patient group) never carries a label
    assert not any(t.labels for t in texts if t.kind == "legitimate")
    assert {t.kind for t in texts} == {"marketing", "legitimate"}


def test_test5_sites_are_fresh_and_few_texts_per_site():
    texts = load_corpus("test5")
    per_site = Counter(t.site for t in texts)
    assert max(per_site.values()) <= 2  # one or two texts per site
    assert len(per_site) >= 140
    # every other text, including those retired from earlier test splits (test4 too)
    others = [t for t in load_corpus() if t.split != "test5"]
    assert others and any(t.retired_from == "test4" for t in others)
    other_sites = {t.site for t in others}
    clashes = [(s, o) for s in per_site for o in other_sites if _related(s, o)]
    assert not clashes, clashes[:5]
    assert not {t.text for t in texts} & {t.text for t in others}
    assert len({t.text for t in texts}) == len(texts)  # no duplicate text
