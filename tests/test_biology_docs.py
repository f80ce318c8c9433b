"""docs/nk-biology.md stays in step with the code: its parameter tables and its examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nksim.biology import (
    ASSAY_PARAMETERS,
    DECISION_PARAMETERS,
    ESCAPE_PARAMETERS,
    KILLING_PARAMETERS,
    VAV1_SWITCH_MODEL,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "nk-biology.md"
ALL = (*VAV1_SWITCH_MODEL.parameters, *DECISION_PARAMETERS, *KILLING_PARAMETERS,
       *ASSAY_PARAMETERS, *ESCAPE_PARAMETERS)


@pytest.mark.parametrize("p", ALL, ids=lambda p: p.name)
def test_parameter_tables_match_the_declarations(p):
    row = (f"| `{p.name}` | {p.value:g} | {p.unit} | {p.description} | "
           f"{p.source.label()} |")
    assert row in DOC.read_text(), f"docs/nk-biology.md is stale for {p.name}"


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})


def test_figures_exist():
    for name in re.findall(r"\(figures/(nk-[a-z0-9-]+\.png)\)", DOC.read_text()):
        assert (DOC.parent / "figures" / name).stat().st_size > 1000
