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
