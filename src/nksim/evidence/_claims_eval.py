"""Measuring the claim checker on the labelled claim sets shipped in ``data/``.

Two constructed sets: ``claims_dev.jsonl`` (used while writing the rules, so its
scores are optimistic) and ``claims_heldout.jsonl`` (written after the rules were
frozen). A text counts as *flagged* when the verdict is not ``no_red_flags``;
precision and recall are for the label ``red_flag``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ._claims import check_claim
from ._scores import BinaryScores

SETS = {
    "dev": "claims_dev.jsonl",
    "heldout1": "claims_heldout1.jsonl",
    "heldout2": "claims_heldout2.jsonl",
    "heldout3": "claims_heldout3.jsonl",
}
LABELS = ("red_flag", "legitimate")


@dataclass(frozen=True)
class LabelledClaim:
    id: str
    lang: str
    label: str
    kind: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class Evaluation:
    """Precision and recall of the checker on one labelled set."""

    name: str
    n: int
    tp: int
    fp: int
    fn: int
    tn: int
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]
    likely_scam_of_red_flags: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": self.name,
            "n": self.n,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "false_positives": list(self.false_positives),
            "false_negatives": list(self.false_negatives),
            "likely_scam_of_red_flags": self.likely_scam_of_red_flags,
        }


def load_labelled_claims(name: str = "dev") -> list[LabelledClaim]:
    """Read a labelled claim set (``"dev"`` or ``"heldout"``)."""
    if name not in SETS:
        raise ValueError(f"unknown claim set {name!r}; choose from {sorted(SETS)}")
    path = resources.files("nksim.evidence").joinpath("data", SETS[name])
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "_comment" in obj:
            continue
        if obj["label"] not in LABELS:
            raise ValueError(f"{SETS[name]}: {obj['id']}: bad label {obj['label']!r}")
        out.append(LabelledClaim(**obj))
    return out


def evaluate_claims(name: str = "dev", lang: str | None = None) -> Evaluation:
    """Run :func:`check_claim` on a labelled set and count agreements.

    Parameters
    ----------
    lang
        Restrict to ``"en"`` or ``"zh"`` claims.
    """
    tp = fp = fn = tn = strong = 0
    fps: list[str] = []
    fns: list[str] = []
    claims = [c for c in load_labelled_claims(name) if lang is None or c.lang == lang]
    for claim in claims:
        result = check_claim(claim.text)
        positive = claim.label == "red_flag"
        if result.flagged and positive:
            tp += 1
            strong += result.verdict == "likely_scam"
        elif result.flagged:
            fp += 1
            fps.append(claim.id)
        elif positive:
            fn += 1
            fns.append(claim.id)
        else:
            tn += 1
    return Evaluation(
        name=name if lang is None else f"{name}/{lang}",
        n=len(claims),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        false_positives=tuple(fps),
        false_negatives=tuple(fns),
        likely_scam_of_red_flags=strong,
    )


# ------------------------------------------------------------ the real-text corpus


@dataclass(frozen=True)
class CorpusEvaluation(BinaryScores):
    """Precision, recall and specificity of the checker on one corpus split and language."""

    split: str
    lang: str
    learned: bool
    tp: int
    fp: int
    fn: int
    tn: int
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "lang": self.lang,
            "learned": self.learned,
            "n": self.n,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "specificity": round(self.specificity, 3),
            "false_positives": list(self.false_positives),
            "false_negatives": list(self.false_negatives),
        }


def evaluate_corpus(
    split: str, lang: str, *, learned: bool = True, url: bool = False
) -> CorpusEvaluation:
    """Run :func:`check_claim` on one split of the real-text corpus (``_corpus``).

    Parameters
    ----------
    split
        ``"train"``, ``"dev"`` or ``"test"`` (the frozen test split: measure, never tune).
    lang
        ``"en"`` or ``"zh"`` (simplified and traditional Chinese together).
    learned
        Include the learned component (default) or use the readable rules alone.
    url
        Give the checker each text's URL (``check_claim(text, url=...)``): the mode with
        the host as evidence of who speaks; default the text alone.

    A text is positive when it carries at least one label, and predicted positive when
    the verdict is not ``no_red_flags``.
    """
    from ._corpus import load_corpus

    if lang not in ("en", "zh"):
        raise ValueError("lang must be 'en' or 'zh'")
    tp = fp = fn = tn = 0
    fps: list[str] = []
    fns: list[str] = []
    for text in load_corpus(split):
        if text.lang_group != lang:
            continue
        flagged = check_claim(text.text, learned=learned, url=text.url if url else None).flagged
        if flagged and text.red_flag:
            tp += 1
        elif flagged:
            fp += 1
            fps.append(text.id)
        elif text.red_flag:
            fn += 1
            fns.append(text.id)
        else:
            tn += 1
    return CorpusEvaluation(split, lang, learned, tp, fp, fn, tn, tuple(fps), tuple(fns))
