"""The corpus of real texts behind the claim checker (``data/corpus/claims_corpus.jsonl``).

830 excerpts (1-5 sentences each, copied from public web pages found through a stored
web index, each with its URL) of clinic, wellness-centre and agency marketing of NK,
immune-cell, stem-cell and exosome infusions, and of legitimate texts using the same
words (regulators' warnings, news, trial descriptions, consent forms, abstracts), in
English, simplified and traditional Chinese. Each is labelled with the red-flag rules
it makes as its own claim (``docs/claims-labelling.md``). The corpus was split once,
by source site (no site in two splits), into ``train``, ``dev`` and ``test`` before any
tuning; the test split is frozen: :data:`TEST_SHA256` is checked by a test. Texts
collected later were added to train and dev only.

The English half of that first test split was measured three times (plus once by
accident) and was retired: its 51 texts moved to ``dev`` (each keeps
``retired_from = "test"``; :func:`retired_test_sha256` rebuilds the original split and
its hash, :data:`FIRST_TEST_SHA256`). A fresh English test split, ``test2`` (126
excerpts from 111 sites that appear nowhere else in the corpus), was collected,
labelled and frozen (:data:`TEST2_SHA256`) before any further change to the checker.
The Chinese test texts stay in ``test``.

``test2`` was measured once (precision 0.65, recall 0.43, specificity 0.79) and a third
fresh English test split, ``test3`` (166 excerpts from 166 sites that appear nowhere else
in the corpus, 72 positive), was then collected, labelled and frozen
(:data:`TEST3_SHA256`) before any further change to the checker. Only then were the
``test2`` texts retired to ``train`` and ``dev`` (by site; each keeps
``retired_from = "test2"``; :func:`retired_test_sha256` rebuilds ``test2`` and its hash).

``test3`` was measured once (precision 0.66, recall 0.71, specificity 0.72) and then
retired the same way, to ``train`` (120 texts) and ``dev`` (46) by site (a site goes to dev
when the SHA-256 of its name is 0, 1 or 2 modulo 10), each keeping
``retired_from = "test3"``; :func:`retired_test_sha256` rebuilds it and its hash. A fourth
fresh English test split, ``test4`` (188 excerpts from 172 sites that appear nowhere else in
the corpus, 76 positive), was collected by a new collector into ``claims_corpus_test4.jsonl``,
labelled and frozen (:data:`TEST4_SHA256`) before it was measured. It was measured once
(precision 0.66, recall 0.63, specificity 0.78) and then retired the same way (its texts
stay in ``claims_corpus_test4.jsonl``, 147 in ``train`` and 41 in ``dev``, each keeping
``retired_from = "test4"``). A fifth fresh English test split, ``test5`` (189 excerpts from
188 sites that appear nowhere else in the corpus, 77 positive), was then collected by a new
collector into ``claims_corpus_test5.jsonl``, labelled and frozen (:data:`TEST5_SHA256`)
before it was measured.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SPLITS = ("train", "dev", "test", "test5")
LANGS = ("en", "zh-Hans", "zh-Hant")

#: SHA-256 of the frozen test split (sorted by id, one canonical JSON object a line):
#: since the English half was retired, the Chinese test texts only (unchanged).
TEST_SHA256 = "8a774e08bd7fab2a4b1ac1a0d48900ec35a5b550bf14a6ff753f3489bfb545e4"
#: SHA-256 of the first test split as frozen at the start (English and Chinese); the
#: retired English texts, put back, must still give it.
FIRST_TEST_SHA256 = "fdb7c013c9d45d037c40e47589f0db9fe238dbd1fa65dce3ca50105eb31a3d02"
#: SHA-256 of the fresh English test split ``test2``, frozen before any tuning, measured
#: once and then retired to train/dev; the retired texts, put back, must still give it.
TEST2_SHA256 = "22ad435ba35b27882b871c27beadf7f94d13e98a68b6e59a6c9706e532f8251d"
#: SHA-256 of the third fresh English test split ``test3``, frozen before any tuning
#: (collected after ``test2`` had been measured once), measured once and then retired to
#: train/dev; the retired texts, put back, must still give it.
TEST3_SHA256 = "100ce5e2cd31eb43f0cf7597d7a9d99d5473c10f86ded0be3ecd6722a1e64e47"
#: SHA-256 of the fourth fresh English test split ``test4``, frozen before any measurement
#: (collected by a new collector after ``test3`` had been measured once), measured once and
#: then retired to train/dev; the retired texts, put back, must still give it.
TEST4_SHA256 = "05f4f56445e3a299da8196f1a839a49e4a48ceeefc9caae16118141d46271fdb"
#: SHA-256 of the fifth fresh English test split ``test5``, frozen before any measurement
#: (collected by a new collector after ``test4`` had been measured once and retired).
TEST5_SHA256 = "9fa50d8323cb0a7f2b8b46dc5809afff184579825e0df415c16d065f33963df6"


@dataclass(frozen=True)
class CorpusText:
    """One labelled excerpt. ``labels`` are rule ids of ``claim_rules.toml``."""

    id: str
    lang: str
    kind: str
    labels: tuple[str, ...]
    split: str
    site: str
    url: str
    text: str
    retired_from: str = ""

    @property
    def red_flag(self) -> bool:
        """True when the text makes at least one red-flag claim of its own."""
        return bool(self.labels)

    @property
    def lang_group(self) -> str:
        """``"en"`` or ``"zh"`` (simplified and traditional together)."""
        return "zh" if self.lang.startswith("zh") else "en"


def _raw_lines() -> list[str]:
    """Lines of ``claims_corpus.jsonl``, then of any ``claims_corpus_*.jsonl`` beside it
    (a fresh test split is collected into a file of its own), in name order."""
    folder = resources.files("nksim.evidence").joinpath("data", "corpus")
    names = sorted(
        p.name for p in folder.iterdir()
        if p.name.startswith("claims_corpus_") and p.name.endswith(".jsonl")
    )
    lines: list[str] = []
    for name in ["claims_corpus.jsonl", *names]:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        lines += [line for line in text.splitlines() if line.strip()]
    return lines


@lru_cache(maxsize=1)
def _all() -> tuple[CorpusText, ...]:
    out = []
    for line in _raw_lines():
        obj = json.loads(line)
        obj["labels"] = tuple(obj["labels"])
        out.append(CorpusText(**obj))
    return tuple(out)


def load_corpus(split: str | None = None) -> list[CorpusText]:
    """The corpus, or one split of it (one of :data:`SPLITS`)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    return [t for t in _all() if split is None or t.split == split]


def _sha256(rows: list[dict]) -> str:
    rows = sorted(rows, key=lambda r: r["id"])
    canon = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def split_sha256(split: str = "test") -> str:
    """SHA-256 of one split in canonical form (the value frozen in :data:`TEST_SHA256`)."""
    return _sha256([r for r in map(json.loads, _raw_lines()) if r["split"] == split])


def retired_test_sha256(split: str = "test") -> str:
    """SHA-256 of a test split rebuilt from the texts retired from it (and, for
    ``"test"``, the Chinese texts still in it).

    Equal to :data:`FIRST_TEST_SHA256` (``split="test"``), :data:`TEST2_SHA256`
    (``split="test2"``), :data:`TEST3_SHA256` (``split="test3"``) or :data:`TEST4_SHA256`
    (``split="test4"``) when none of those texts was changed after it was frozen.
    """
    rows = []
    for r in map(json.loads, _raw_lines()):
        if r["split"] == split or r.get("retired_from") == split:
            r = {k: v for k, v in r.items() if k != "retired_from"}
            rows.append({**r, "split": split})
    return _sha256(rows)
