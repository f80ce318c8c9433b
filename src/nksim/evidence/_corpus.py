"""The corpus of real texts behind the claim checker (``data/corpus/claims_corpus.jsonl``).

443 excerpts (1-5 sentences each, copied from public web pages found through a stored
web index, each with its URL) of clinic, wellness-centre and agency marketing of NK,
immune-cell, stem-cell and exosome infusions, and of legitimate texts using the same
words (regulators' warnings, news, trial descriptions, consent forms, abstracts), in
English, simplified and traditional Chinese. Each is labelled with the red-flag rules
it makes as its own claim (``docs/claims-labelling.md``). The corpus was split once,
by source site (no site in two splits), into ``train``, ``dev`` and ``test`` before any
tuning; the test split is frozen: :data:`TEST_SHA256` is checked by a test. Texts
collected later were added to train and dev only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SPLITS = ("train", "dev", "test")
LANGS = ("en", "zh-Hans", "zh-Hant")

#: SHA-256 of the frozen test split (sorted by id, one canonical JSON object a line).
TEST_SHA256 = "fdb7c013c9d45d037c40e47589f0db9fe238dbd1fa65dce3ca50105eb31a3d02"


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

    @property
    def red_flag(self) -> bool:
        """True when the text makes at least one red-flag claim of its own."""
        return bool(self.labels)

    @property
    def lang_group(self) -> str:
        """``"en"`` or ``"zh"`` (simplified and traditional together)."""
        return "zh" if self.lang.startswith("zh") else "en"


def _raw_lines() -> list[str]:
    path = resources.files("nksim.evidence").joinpath("data", "corpus", "claims_corpus.jsonl")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@lru_cache(maxsize=1)
def _all() -> tuple[CorpusText, ...]:
    out = []
    for line in _raw_lines():
        obj = json.loads(line)
        obj["labels"] = tuple(obj["labels"])
        out.append(CorpusText(**obj))
    return tuple(out)


def load_corpus(split: str | None = None) -> list[CorpusText]:
    """The corpus, or one split of it (``"train"``, ``"dev"`` or ``"test"``)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    return [t for t in _all() if split is None or t.split == split]


def split_sha256(split: str = "test") -> str:
    """SHA-256 of one split in canonical form (the value frozen in :data:`TEST_SHA256`)."""
    rows = [json.loads(line) for line in _raw_lines()]
    rows = sorted((r for r in rows if r["split"] == split), key=lambda r: r["id"])
    canon = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()
