"""Agreement between the two annotators of the claim corpus: the second annotation file is
well formed, Cohen's kappa is computed right, and the figures written in
docs/claims-labelling.md are the ones the files give now."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from nksim.evidence._agreement import (
    ANNOTATIONS,
    Scores,
    _kappa_from_counts,
    agreement_table,
    annotator_agreement,
    group_of,
    kappa,
    load_second_annotation,
    rule_table,
    site_bootstrap_kappa,
)
from nksim.evidence._corpus import load_corpus
from nksim.evidence._rules import claim_rules

from .conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "claims-labelling.md"


TEST4 = "second_annotation_test4.jsonl"
TEST5 = "second_annotation_test5.jsonl"
#: each single-split annotation file: (file, group, number of texts)
FRESH = [(TEST4, "test4", 188), (TEST5, "test5", 189)]


@pytest.fixture(scope="module")
def report():
    return annotator_agreement()


@pytest.fixture(scope="module")
def report4():
    return annotator_agreement(annotation=TEST4)


@pytest.fixture(scope="module")
def report5():
    return annotator_agreement(annotation=TEST5)


@pytest.fixture(scope="module")
def fresh_reports(report4, report5):
    return {TEST4: report4, TEST5: report5}


def test_kappa_matches_a_hand_computed_two_by_two_table():
    # 2x2 table, annotator 1 in rows, annotator 2 in columns:
    #            A2 yes  A2 no
    #   A1 yes     20      5
    #   A1 no      10     15        n = 50
    # p_o = (20 + 15) / 50 = 0.70
    # p_e = (25/50)(30/50) + (25/50)(20/50) = 0.30 + 0.20 = 0.50
    # kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40
    a1 = [True] * 25 + [False] * 25
    a2 = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert kappa(a1, a2) == pytest.approx(0.40, abs=1e-12)
    assert kappa(a2, a1) == pytest.approx(0.40, abs=1e-12)
    # perfect agreement and agreement no better than chance
    assert kappa(a1, a1) == pytest.approx(1.0)
    assert kappa([True, True, False, False], [True, False, True, False]) == pytest.approx(0.0)
    # one class only for both: undefined
    assert math.isnan(kappa([True, True], [True, True]))


def test_vectorised_kappa_of_the_bootstrap_equals_sklearn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    for _ in range(50):
        a = rng.random(40) < rng.random()
        b = np.where(rng.random(40) < 0.8, a, ~a)
        tp, fp = int(np.sum(a & b)), int(np.sum(~a & b))
        fn, tn = int(np.sum(a & ~b)), int(np.sum(~a & ~b))
        got = float(_kappa_from_counts(tp, fp, fn, tn))
        if len(set(a.tolist()) | set(b.tolist())) < 2:
            assert math.isnan(got)
        else:
            want = cohen_kappa_score(a, b, labels=[False, True])
            assert got == pytest.approx(want, abs=1e-12)
            assert kappa(a, b) == pytest.approx(want, abs=1e-12)


def test_scores_and_bootstrap_on_a_constructed_example():
    s = Scores(tp=20, fp=10, fn=5, tn=15)
    assert s.precision == pytest.approx(20 / 30)
    assert s.recall == pytest.approx(20 / 25)
    assert s.specificity == pytest.approx(15 / 25)
    a1 = [True] * 25 + [False] * 25
    a2 = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    sites = [f"s{i // 2}" for i in range(50)]
    low, high = site_bootstrap_kappa(a1, a2, sites, n_boot=400, seed=1)
    assert low < 0.40 < high and -1.0 <= low and high <= 1.0
    assert (low, high) == site_bootstrap_kappa(a1, a2, sites, n_boot=400, seed=1)
    assert site_bootstrap_kappa(a1, a1, sites, n_boot=50, seed=1) == (1.0, 1.0)


# the texts each second-annotation file must cover: the English dev split as it was before
# test3 was retired, and the former test3 texts; the test4 texts; the test5 texts
EXPECTED = {
    "second_annotation.jsonl": (
        lambda t: t.lang == "en" and (
            (t.split == "dev" and t.retired_from in ("", "test", "test2"))
            or "test3" in (t.split, t.retired_from)),
        {"dev": 136, "test3": 166},
    ),
    TEST4: (lambda t: "test4" in (t.split, t.retired_from), {"test4": 188}),
    TEST5: (lambda t: "test5" in (t.split, t.retired_from), {"test5": 189}),
}


@pytest.mark.parametrize("annotation", sorted(ANNOTATIONS))
def test_second_annotation_covers_exactly_its_texts_with_valid_rules(annotation):
    assert set(EXPECTED) == set(ANNOTATIONS)
    selected, sizes = EXPECTED[annotation]
    rows = load_second_annotation(annotation)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == sum(sizes.values())
    assert ids == sorted(ids)
    corpus = {t.id: t for t in load_corpus()}
    assert ids == sorted(t.id for t in corpus.values() if selected(t))
    rule_ids = {r.id for r in claim_rules().rules}
    for r in rows:
        assert set(r) == {"id", "labels", "note"}
        assert isinstance(r["note"], str)
        assert r["labels"] == sorted(set(r["labels"])), r["id"]
        assert set(r["labels"]) <= rule_ids - {"claimed_phase"}, r["id"]
    groups = [group_of(corpus[i]) for i in ids]
    assert {g: groups.count(g) for g in set(groups)} == sizes
    assert tuple(sizes) == ANNOTATIONS[annotation]


def test_unknown_annotation_file_is_refused():
    with pytest.raises(ValueError, match="unknown annotation"):
        load_second_annotation("claims_corpus.jsonl")


def test_report_is_consistent_with_its_counts(report):
    all_ = report.groups["all"]
    assert all_.n == report.groups["dev"].n + report.groups["test3"].n == 302
    s = all_.a2_vs_a1
    assert s.tp + s.fp + s.fn + s.tn == 302
    assert s.fp + s.fn == sum(d.binary for d in report.disagreements)
    assert all_.agreement == pytest.approx(1 - (s.fp + s.fn) / 302)
    # the roles swapped: precision and recall trade places
    r = all_.a1_vs_a2
    assert (r.tp, r.fp, r.fn, r.tn) == (s.tp, s.fn, s.fp, s.tn)
    assert r.precision == pytest.approx(s.recall) and r.recall == pytest.approx(s.precision)
    low, high = all_.kappa_ci
    assert low < all_.kappa < high


@pytest.mark.parametrize(("annotation", "group", "n"), FRESH)
def test_a_fresh_split_report_is_one_group_consistent_with_its_counts(
        fresh_reports, annotation, group, n):
    rep = fresh_reports[annotation]
    assert list(rep.groups) == [group]
    g = rep.groups[group]
    s = g.a2_vs_a1
    assert g.n == s.tp + s.fp + s.fn + s.tn == n
    assert (g.positives_1, g.positives_2) == (s.tp + s.fn, s.tp + s.fp)
    assert s.fp + s.fn == sum(d.binary for d in rep.disagreements)
    assert {d.group for d in rep.disagreements} == {group}
    assert g.agreement == pytest.approx(1 - (s.fp + s.fn) / n)
    assert g.kappa_ci[0] < g.kappa < g.kappa_ci[1]
    assert sum(r.n_1 for r in rep.rules) == sum(
        len(t.labels) for t in load_corpus() if group in (t.split, t.retired_from))


def _section():
    text = DOC.read_text(encoding="utf-8")
    head = "## Agreement between two annotators"
    assert head in text
    return text[text.index(head) :]


def test_documented_tables_match_the_files(report, report4, report5):
    section = _section()
    assert agreement_table(report, report4, report5) in section
    for rep in (report, report4, report5):
        assert rule_table(rep) in section


def test_documented_headline_matches_the_files(report):
    section = _section()
    s = report.groups["all"].a2_vs_a1
    m = re.search(
        r"precision\s+\*\*(\d\.\d+)\*\*,\s+recall\s+\*\*(\d\.\d+)\*\*,"
        r"\s+specificity\s+\*\*(\d\.\d+)\*\*",
        section,
    )
    assert m, "headline sentence missing"
    assert [float(x) for x in m.groups()] == [
        round(s.precision, 3),
        round(s.recall, 3),
        round(s.specificity, 3),
    ]
    n_binary = sum(d.binary for d in report.disagreements)
    flat = " ".join(section.split())
    assert f"all but {n_binary} of 302 texts" in flat
    assert f"all but {len(report.disagreements)} texts" in flat
    # every disagreement on the binary label is quoted by id in the section
    for d in report.disagreements:
        if d.binary:
            assert f"`{d.id}`" in section, d.id


def test_documented_prose_figures_match_the_files(report):
    flat = " ".join(_section().split())
    g = report.groups
    assert (
        f"kappa {g['all'].kappa:.2f} overall ({g['dev'].kappa:.2f} on `dev`, "
        f"{g['test3'].kappa:.2f} on the former `test3`)" in flat
    )
    assert f"(precision {g['dev'].a2_vs_a1.precision:.3f} against A1 on `dev`)" in flat
    s = g["all"].a2_vs_a1
    assert f"({s.fp} that A2 flagged and A1 did not, {s.fn} the reverse)" in flat
    rule = {r.rule: r for r in report.rules}["unapproved_indication"]
    assert f"`unapproved_indication` kappa {rule.kappa:.2f}" in flat
    assert (
        f"A2 alone gave it on {rule.n_2 - rule.both} texts, "
        f"A1 alone on {rule.n_1 - rule.both}" in flat
    )


@pytest.mark.parametrize(("annotation", "group", "n"), FRESH)
def test_documented_fresh_split_figures_match_the_files(fresh_reports, annotation, group, n):
    rep = fresh_reports[annotation]
    section = _section()
    flat = " ".join(section.split())
    g = rep.groups[group]
    s = g.a2_vs_a1
    n_binary = sum(d.binary for d in rep.disagreements)
    assert (
        f"all but {n_binary} of {n} texts ({s.fp} that A2 flagged and A1 did not, "
        f"{s.fn} the reverse) and the same label *set* to all but "
        f"{len(rep.disagreements)}" in flat
    )
    assert (
        f"kappa {g.kappa:.2f} ({g.kappa_ci[0]:.2f}-{g.kappa_ci[1]:.2f}); scored against A1, "
        f"A2 reaches precision **{s.precision:.3f}**, recall **{s.recall:.3f}**, "
        f"specificity **{s.specificity:.3f}** on `{group}`" in flat
    )
    for d in rep.disagreements:
        if d.binary:
            assert f"`{d.id}`" in section, d.id


@pytest.mark.parametrize(("annotation", "rules"), [
    (TEST4, ("unapproved_indication", "comparison_with_treatment", "cure_assertion")),
    (TEST5, ("hype_terms", "cure_assertion", "unapproved_indication")),
])
def test_documented_rule_disagreements_of_a_fresh_split_match_the_file(
        fresh_reports, annotation, rules):
    flat = " ".join(_section().split())
    rep = fresh_reports[annotation]
    # rules one annotator alone gave on texts that both flagged
    both = [d for d in rep.disagreements if d.labels_1 and d.labels_2]
    assert f"On the {len(both)} texts that both flagged with different rules" in flat
    for rule in rules:
        a2 = sum(rule in d.labels_2 and rule not in d.labels_1 for d in both)
        a1 = sum(rule in d.labels_1 and rule not in d.labels_2 for d in both)
        assert f"`{rule}` on {a2} (A1 alone on {a1})" in flat, rule
