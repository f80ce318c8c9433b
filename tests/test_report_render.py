"""The shared report machinery: templates (strict, escaped, shipped in the wheel), number
formats, readable log ticks, the detection-limit cut, the fixed arm palette, and the
headless-Chromium harness the report tests use (checked on a page that must fail)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import numpy as np
import pytest

from nksim.report import _plots
from nksim.report._plots import above_limit, percentile_band, pyplot, readable_log_axis, tick_label
from nksim.report._render import ARM_COLOURS, arm_colour, environment, fmt_number, render

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


# ------------------------------------------------------------------ headless Chromium

def chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


_PROBE = """<script>
window.addEventListener('load', function () {
  var bad = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) {
    if (!(imgs[i].complete && imgs[i].naturalWidth > 0)) { bad++; }
  }
  document.body.setAttribute('data-probe-images', String(imgs.length));
  document.body.setAttribute('data-probe-broken', String(bad));
});
</script>"""


def browse(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """Load ``page`` in headless Chromium: the DOM after load (with the number of images
    and of broken images as ``data-probe-*`` attributes of ``body``) and every console
    message. Skips the test, with the reason, where Chromium is not installed."""
    exe = chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed: `make test` installs the Debian "
                    "'chromium' package where apt-get is available (needs root)")
    probed = tmp / f"probed-{page.name}"
    html = page.read_text(encoding="utf-8")
    assert "</body>" in html
    probed.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    run = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", f"--user-data-dir={tmp / 'chromium-profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
         probed.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return run.stdout, console


def probe(dom: str) -> tuple[int, int]:
    m = re.search(r'data-probe-images="(\d+)" data-probe-broken="(\d+)"', dom)
    assert m, "the probe script did not run"
    return int(m.group(1)), int(m.group(2))


class _Text(HTMLParser):
    """Visible text of a page (script and style contents left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    BLOCK = {"p", "div", "li", "ul", "td", "th", "tr", "table", "br", "h1", "h2", "h3",
             "section", "figcaption", "summary", "details", "title"}

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees, with blocks separated by one space."""
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", "".join(parser.parts))


def test_browser_harness_sees_console_errors_and_broken_images(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html><body><h1>x</h1><img alt="" src="data:image/png;'
                   'base64,AAAA"><script>console.error("boom")</script></body></html>')
    dom, console = browse(bad, tmp_path)
    assert any("boom" in line for line in console)
    assert probe(dom) == (1, 1)
    good = tmp_path / "good.html"
    good.write_text(render("base.html"), encoding="utf-8")
    dom, console = browse(good, tmp_path)
    assert console == [] and probe(dom) == (0, 0)
    assert "Research use only" in dom


# ------------------------------------------------------------------ templates

def test_templates_are_strict_and_escaped():
    env = environment()
    assert env.undefined is jinja2.StrictUndefined
    for page in ("trial.html", "ageing.html"):
        with pytest.raises(jinja2.UndefinedError):
            render(page)  # every variable is required
    html = env.from_string("{{ x }}").render(x="<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_every_report_page_extends_the_base_template():
    folder = ROOT / "src" / "nksim" / "report" / "templates"
    pages = [p for p in folder.glob("*.html") if not p.name.startswith("_")]
    assert {"base.html", "trial.html", "demo.html", "ageing.html"} <= {p.name for p in pages}
    for page in pages:
        if page.name != "base.html":
            assert page.read_text().startswith('{% extends "base.html" %}'), page.name


def test_templates_ship_in_the_wheel(tmp_path):
    pytest.importorskip("hatchling")
    run = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("base.html", "_macros.html", "trial.html", "demo.html", "ageing.html"):
        assert f"nksim/report/templates/{page}" in names


# ------------------------------------------------------------------ formats and figures

@pytest.mark.parametrize(("x", "text"), [
    (0.3, "0.3"), (15.0, "15"), (1234.5, "1,234"), (1e6, "1 × 10⁶"), (9.32e8, "9.32 × 10⁸"),
    (-2.5e7, "−2.5 × 10⁷"), (1e-5, "1 × 10⁻⁵"), (None, "–"), (float("nan"), "–"), (0, "0"),
])
def test_number_format(x, text):
    assert fmt_number(x) == text


@pytest.mark.parametrize(("v", "text"), [
    (0.01, "0.01"), (0.1, "0.1"), (1, "1"), (10, "10"), (1000, "1,000"), (1e4, "10,000"),
    (1e5, "10⁵"), (1e-3, "10⁻³"), (30, ""), (0, ""),
])
def test_log_ticks_are_plain_numbers_at_decades(v, text):
    assert tick_label(v) == text


def test_log_axis_labels_every_decade_in_words():
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1.0, 1e7])
    readable_log_axis(ax, floor=1.0)
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    labels = [t.get_text() for t in ax.get_yticklabels()
              if t.get_text() and lo <= t.get_position()[1] <= hi]
    plt.close(fig)
    assert lo >= 0.5  # the axis starts near the floor, not at 10⁻¹²
    assert labels[:5] == ["1", "10", "100", "1,000", "10,000"]
    assert "10⁶" in labels and not any("e" in s or "$" in s for s in labels)


def test_nothing_below_the_detection_limit():
    rng = np.random.default_rng(1)
    values = 10 ** (rng.uniform(-12, 3, size=(40, 50)) + np.linspace(-3, 9, 50))
    cut = above_limit(values, 1.0)
    assert np.nanmin(cut) >= 1.0
    assert np.array_equal(np.isnan(cut), values < 1.0)
    lo, mid, hi = percentile_band(values, 1.0)
    for arr in (lo, mid, hi):
        assert np.isnan(arr).any() and not np.isnan(arr).all()
        assert np.nanmin(arr) >= 1.0
    # percentiles are of the true values, cut afterwards (not of the cut values)
    true_mid = np.percentile(values, 50, axis=0)
    shown = ~np.isnan(mid)
    np.testing.assert_allclose(mid[shown], true_mid[shown])
    assert np.array_equal(shown, true_mid >= 1.0)


def test_arm_colours_are_fixed_by_position_and_distinct():
    assert [arm_colour(i) for i in range(3)] == list(ARM_COLOURS[:3])
    assert len(set(ARM_COLOURS)) == len(ARM_COLOURS)


def test_the_python_examples_of_the_reports_page_run():
    page = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/reports.md", "exec"), {})


def test_percentiles_and_peak_block_by_block_equal_the_whole(monkeypatch):
    # a streamed trial's panel values are disk-backed and read a few columns at a time
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 3, size=(37, 23))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[0, 5], values[:, 7] = np.inf, np.nan
    whole = percentile_band(values, 1.0)
    peak = np.nanmax(values)
    monkeypatch.setattr(_plots, "BLOCK_VALUES", 37 * 2)  # two columns a block
    assert [b.shape[1] for b in _plots.column_blocks(values)] == [2] * 11 + [1]
    for got, want in zip(percentile_band(values, 1.0), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    assert _plots.nanmax_blocks(values) == peak == np.inf
    assert np.isnan(_plots.nanmax_blocks(np.full((3, 4), np.nan)))
