"""Agreement between two annotators of the claim corpus (``docs/claims-labelling.md``).

The corpus labels (annotator 1, :func:`nksim.evidence._corpus.load_corpus`) were made by one
person per split. A second annotator labelled English texts again, blind (from the text,
site and URL only), in one file per batch (:data:`ANNOTATIONS`):
``data/corpus/second_annotation.jsonl`` holds the ``dev`` texts (136) and the former
``test3`` split (166, since retired to train/dev; ``retired_from == "test3"``);
``data/corpus/second_annotation_test4.jsonl`` the 188 texts of the ``test4`` split;
``data/corpus/second_annotation_test5.jsonl`` the 189 texts of the ``test5`` split (selected
by ``"test5" in (split, retired_from)``, so the file stays valid when ``test5`` is retired).

:func:`annotator_agreement` measures, for one file, per group (:data:`GROUPS`) and, when
the file covers more than one group, over all its texts (group ``"all"``), the
agreement on the binary red-flag label (a text is positive when it has at least one rule):
percent agreement, Cohen's kappa (``sklearn.metrics.cohen_kappa_score``) with a 95 %
bootstrap interval that resamples *sites* (texts of one site are not independent), per-rule
agreement, and the precision, recall and specificity of annotator 2 scored against
annotator 1 (and the reverse): what a checker that read the texts like a second careful
person would score on these labels. All figures are dimensionless fractions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
from sklearn.metrics import cohen_kappa_score

from ._corpus import CorpusText, load_corpus
from ._scores import BinaryScores

#: Groups in the order they are reported (see :func:`group_of`).
GROUPS = ("dev", "test3", "test4", "test5")
#: The second-annotation files (in ``data/corpus``) and the groups each covers.
ANNOTATIONS = {
    "second_annotation.jsonl": ("dev", "test3"),
    "second_annotation_test4.jsonl": ("test4",),
    "second_annotation_test5.jsonl": ("test5",),
}
DEFAULT_ANNOTATION = "second_annotation.jsonl"
#: A rule with fewer positives than this (both annotators together) is reported by its
#: positive agreement only: kappa of a rare label is unstable.
RARE_RULE = 10


@dataclass(frozen=True)
class Scores(BinaryScores):
    """Precision, recall and specificity of one annotator scored against the other
    (the reference), with the counts they come from."""

    tp: int
    fp: int
    fn: int
    tn: int


@dataclass(frozen=True)
class GroupAgreement:
    """Binary red-flag agreement of one group of texts."""

    group: str
    n: int
    n_sites: int
    positives_1: int
    positives_2: int
    agreement: float
    kappa: float
    kappa_ci: tuple[float, float]
    a2_vs_a1: Scores
    a1_vs_a2: Scores


@dataclass(frozen=True)
class RuleAgreement:
    """Agreement on one rule over all texts: counts, positive agreement
    2·both/(n1+n2) and Cohen's kappa (``None`` when the rule is rare, see :data:`RARE_RULE`)."""

    rule: str
    n_1: int
    n_2: int
    both: int
    positive_agreement: float
    kappa: float | None


@dataclass(frozen=True)
class Disagreement:
    """A text on which the two annotators' label sets differ."""

    id: str
    group: str
    labels_1: tuple[str, ...]
    labels_2: tuple[str, ...]
    note: str

    @property
    def binary(self) -> bool:
        """True when they disagree on whether the text is a red flag at all."""
        return bool(self.labels_1) != bool(self.labels_2)


@dataclass(frozen=True)
class AgreementReport:
    groups: dict[str, GroupAgreement]
    rules: tuple[RuleAgreement, ...]
    disagreements: tuple[Disagreement, ...]


def load_second_annotation(annotation: str = DEFAULT_ANNOTATION) -> list[dict]:
    """Rows of one second-annotation file (a key of :data:`ANNOTATIONS`):
    ``{"id", "labels", "note"}``, in id order."""
    if annotation not in ANNOTATIONS:
        raise ValueError(f"unknown annotation file {annotation!r}; choose from {list(ANNOTATIONS)}")
    path = resources.files("nksim.evidence").joinpath("data", "corpus", annotation)
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def group_of(text: CorpusText) -> str:
    """``"test5"``, ``"test4"`` or ``"test3"`` for the texts of those test splits (retired or
    not), else ``"dev"``."""
    for name in reversed(GROUPS[1:]):  # the latest split first
        if name in (text.split, text.retired_from):
            return name
    return "dev"


def kappa(labels_1: Sequence[bool], labels_2: Sequence[bool]) -> float:
    """Cohen's kappa of two binary labellings (``sklearn.metrics.cohen_kappa_score``);
    NaN when both annotators gave one and the same class to every text."""
    a = np.asarray(labels_1, dtype=bool)
    b = np.asarray(labels_2, dtype=bool)
    if a.size == 0:
        return float("nan")
    if len(set(a.tolist()) | set(b.tolist())) < 2:
        return float("nan")
    return float(cohen_kappa_score(a, b, labels=[False, True]))


def _kappa_from_counts(tp, fp, fn, tn):
    """Cohen's kappa of 2x2 tables given as arrays of counts (vectorised; NaN where
    undefined). The same formula as ``cohen_kappa_score``; checked against it by a test."""
    tp, fp, fn, tn = (np.asarray(x, dtype=float) for x in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    observed = (tp + tn) / n
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected < 1.0, (observed - expected) / (1.0 - expected), np.nan)


def site_bootstrap_kappa(
    labels_1: Sequence[bool],
    labels_2: Sequence[bool],
    sites: Sequence[str],
    *,
    n_boot: int = 2000,
    seed: int = 20261207,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of Cohen's kappa, resampling sites with replacement (all texts of a
    drawn site come along); resamples where kappa is undefined are dropped. Seeded: the same
    inputs give the same interval."""
    a = np.asarray(labels_1, dtype=bool)
    b = np.asarray(labels_2, dtype=bool)
    names = sorted(set(sites))
    lookup = {s: i for i, s in enumerate(names)}
    index = np.asarray([lookup[s] for s in sites])
    # per-site 2x2 counts: (A1 yes & A2 yes, A1 no & A2 yes, A1 yes & A2 no, both no)
    cells = np.zeros((len(names), 4))
    np.add.at(cells, (index, 0), a & b)
    np.add.at(cells, (index, 1), ~a & b)
    np.add.at(cells, (index, 2), a & ~b)
    np.add.at(cells, (index, 3), ~a & ~b)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(names), size=(n_boot, len(names)))
    weights = np.apply_along_axis(np.bincount, 1, drawn, minlength=len(names))
    counts = weights @ cells
    values = _kappa_from_counts(*counts.T)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return (float(low), float(high))


def _scores(predicted: Sequence[bool], reference: Sequence[bool]) -> Scores:
    tp = sum(p and r for p, r in zip(predicted, reference, strict=True))
    fp = sum(p and not r for p, r in zip(predicted, reference, strict=True))
    fn = sum(r and not p for p, r in zip(predicted, reference, strict=True))
    tn = sum(not p and not r for p, r in zip(predicted, reference, strict=True))
    return Scores(tp=tp, fp=fp, fn=fn, tn=tn)


def _group(name: str, rows: list[tuple[CorpusText, tuple[str, ...]]], n_boot: int, seed: int):
    l1 = [bool(t.labels) for t, _ in rows]
    l2 = [bool(second) for _, second in rows]
    sites = [t.site for t, _ in rows]
    return GroupAgreement(
        group=name,
        n=len(rows),
        n_sites=len(set(sites)),
        positives_1=sum(l1),
        positives_2=sum(l2),
        agreement=sum(x == y for x, y in zip(l1, l2, strict=True)) / len(rows),
        kappa=kappa(l1, l2),
        kappa_ci=site_bootstrap_kappa(l1, l2, sites, n_boot=n_boot, seed=seed),
        a2_vs_a1=_scores(l2, l1),
        a1_vs_a2=_scores(l1, l2),
    )


def annotator_agreement(
    second: Sequence[Mapping] | None = None,
    corpus: Sequence[CorpusText] | None = None,
    *,
    annotation: str = DEFAULT_ANNOTATION,
    n_boot: int = 2000,
    seed: int = 20261207,
) -> AgreementReport:
    """Agreement of the second annotation with the corpus labels (see the module docstring).

    ``second`` defaults to the rows of the file ``annotation`` (:func:`load_second_annotation`),
    ``corpus`` to the whole corpus; every id of ``second`` must be in ``corpus``. Groups are
    those of :data:`GROUPS` that have texts, then ``"all"`` when there are two or more.
    """
    second = load_second_annotation(annotation) if second is None else list(second)
    by_id = {t.id: t for t in (load_corpus() if corpus is None else corpus)}
    missing = [r["id"] for r in second if r["id"] not in by_id]
    if missing:
        raise ValueError(f"second annotation ids not in the corpus: {missing[:5]}")
    paired = [(by_id[r["id"]], tuple(sorted(r["labels"]))) for r in second]
    notes = {r["id"]: r.get("note", "") for r in second}

    groups: dict[str, GroupAgreement] = {}
    for name in GROUPS:
        rows = [p for p in paired if group_of(p[0]) == name]
        if rows:
            groups[name] = _group(name, rows, n_boot, seed)
    if len(groups) > 1:
        groups["all"] = _group("all", paired, n_boot, seed)

    rule_ids = sorted({r for t, s in paired for r in (*t.labels, *s)})
    rules = []
    for rule in rule_ids:
        x = [rule in t.labels for t, _ in paired]
        y = [rule in s for _, s in paired]
        n1, n2 = sum(x), sum(y)
        both = sum(a and b for a, b in zip(x, y, strict=True))
        rules.append(
            RuleAgreement(
                rule=rule,
                n_1=n1,
                n_2=n2,
                both=both,
                positive_agreement=2 * both / (n1 + n2),
                kappa=None if n1 + n2 < RARE_RULE else kappa(x, y),
            )
        )

    disagreements = tuple(
        Disagreement(t.id, group_of(t), tuple(sorted(t.labels)), s, notes[t.id])
        for t, s in paired
        if tuple(sorted(t.labels)) != s
    )
    return AgreementReport(groups=groups, rules=tuple(rules), disagreements=disagreements)


def agreement_table(*reports: AgreementReport) -> str:
    """The binary-agreement table of ``docs/claims-labelling.md`` (Markdown): one row per
    group of each report, in order; a report's ``"all"`` row is named by its groups
    ("dev + test3")."""
    head = (
        "| group | texts (sites) | positive: A1 / A2 | agreement | Cohen's kappa (95 % CI) "
        "| A2 vs A1: precision / recall / specificity "
        "| A1 vs A2: precision / recall / specificity |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for report in reports:
        for g in report.groups.values():
            lines.append(_agreement_row(g, report))
    return "\n".join(lines)


def _agreement_row(g: GroupAgreement, report: AgreementReport) -> str:
    name = " + ".join(k for k in report.groups if k != "all") if g.group == "all" else g.group
    s, r = g.a2_vs_a1, g.a1_vs_a2
    return (
        f"| {name} | {g.n} ({g.n_sites}) | {g.positives_1} / {g.positives_2} "
        f"| {g.agreement:.3f} | {g.kappa:.3f} ({g.kappa_ci[0]:.3f}-{g.kappa_ci[1]:.3f}) "
        f"| {s.precision:.3f} / {s.recall:.3f} / {s.specificity:.3f} "
        f"| {r.precision:.3f} / {r.recall:.3f} / {r.specificity:.3f} |"
    )


def rule_table(report: AgreementReport) -> str:
    """A per-rule table of ``docs/claims-labelling.md`` (Markdown), over all texts of ``report``."""
    lines = [
        "| rule | A1 | A2 | both | positive agreement | kappa |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.rules:
        k = "rare" if r.kappa is None else f"{r.kappa:.3f}"
        lines.append(
            f"| `{r.rule}` | {r.n_1} | {r.n_2} | {r.both} | {r.positive_agreement:.3f} | {k} |"
        )
    return "\n".join(lines)
