"""Precision, recall and specificity from the four counts of a binary comparison."""

from __future__ import annotations


class BinaryScores:
    """Scores of a dataclass with integer fields ``tp``, ``fp``, ``fn`` and ``tn`` (a
    prediction, or one annotator, against a reference); NaN where a score is undefined."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")
