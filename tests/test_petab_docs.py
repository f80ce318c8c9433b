"""The examples of docs/estimation.md run as written (one namespace, in order)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_estimation_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "estimation.md").read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/estimation.md[{i}]", "exec"), namespace)
        assert capsys.readouterr().out, f"example {i} prints nothing"
    fit = namespace["fit"]
    # the fit recovers the simulated parameters within its own intervals
    ci = fit.intervals
    for name, true in {"a": 10.0, "b": 0.5, "c": 0.1}.items():
        assert ci.loc[name, "lower_linear"] <= true <= ci.loc[name, "upper_linear"], name
