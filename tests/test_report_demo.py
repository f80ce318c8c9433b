"""The demo report: the same conventions as the trial report (legend on every figure,
fixed arm colours, lines that overlap drawn distinguishably, nothing below 1 cell, doses
marked and written in words, no page of raw TOML), and the page in headless Chromium."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.report import demo
from nksim.report._plots import pyplot
from nksim.report._render import ARM_COLOURS
from test_report_render import browse, probe, visible_text


@pytest.fixture(scope="module")
def arms():
    return demo.run_demo()


@pytest.fixture(scope="module")
def page(arms, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    demo.write_demo(arms, folder)
    return folder / "demo.html"


def _arm_lines(ax, arms):
    return [next(ln for ln in ax.lines if ln.get_label() == a.name) for a in arms]


def test_every_figure_has_a_legend_and_distinguishable_arm_lines(arms):
    figures = demo.demo_figures(arms)
    assert [f[0] for f in figures] == [p[0] for p in demo.PANELS]
    for _, _, fig in figures:
        (ax,) = fig.axes
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [a.name for a in arms] == texts[:len(arms)]
        lines = _arm_lines(ax, arms)
        assert [ln.get_color() for ln in lines] == list(ARM_COLOURS[:len(arms)])
        styles = {(ln.get_linestyle(), ln.get_marker()) for ln in lines}
        assert len(styles) == len(arms)  # no two arms share line style and marker
        pyplot().close(fig)


def test_the_overlapping_arms_really_overlap(arms):
    """The styles matter: untreated and chemotherapy tumours coincide at the end."""
    t_untreated = arms[0].result.dataset["T"].values[0]
    t_chemo = arms[1].result.dataset["T"].values[0]
    np.testing.assert_allclose(t_untreated[-1], t_chemo[-1], rtol=0.05)


def test_nothing_below_one_cell_is_drawn(arms):
    # the cut is exercised: the third arm's tumour is cleared (below one cell)
    assert np.nanmin(arms[2].result.dataset["T"].values) < demo.CELL_LIMIT
    for state, _, fig in demo.demo_figures(arms):
        (ax,) = fig.axes
        if state == "M":
            pyplot().close(fig)
            continue
        for line in ax.lines:
            if line.get_transform() != ax.transData:
                continue  # dose markers, drawn in axes coordinates
            y = np.asarray(line.get_ydata(), float)
            y = y[np.isfinite(y)]
            assert not y.size or y.min() >= demo.CELL_LIMIT
        assert ax.get_ylim()[0] >= demo.CELL_LIMIT / 2
        pyplot().close(fig)


def test_doses_are_marked_on_the_time_axis(arms):
    ev = demo.events(2, arms[2])
    assert ev.infusions == (7.0,)  # TIL
    kinds = dict(ev.other)
    assert kinds["chemotherapy drug in the body"] == tuple(7.0 + 7 * k for k in range(10))
    assert kinds["interleukin-2 (IL-2)"] == (7.0, 8.0, 9.0, 10.0, 11.0)
    assert demo.events(0, arms[0]).infusions == () and demo.events(0, arms[0]).other == ()


def test_regimens_in_words_and_no_raw_toml(arms, page):
    html = page.read_text(encoding="utf-8")
    text = visible_text(html)
    for words in demo.regimen_words(arms[2]):
        assert words in text
    assert "tumour-specific CD8+ T cells: 1 × 10⁹ cell given over 1 day(s), on day 7" in text
    for toml in ("[[doses]]", "[simulation]", "record_every", "parameter_set ="):
        assert toml not in html
    assert "Research use only" in text and 'id="caveats"' in html


@pytest.mark.slow
def test_demo_renders_in_headless_chromium(page, tmp_path):
    dom, console = browse(page, tmp_path)
    assert console == [], console
    images, broken = probe(dom)
    assert images == len(demo.PANELS) and broken == 0
    for section in ("research-use-only", "regimens", "results", "figures", "caveats"):
        assert f'id="{section}"' in dom
