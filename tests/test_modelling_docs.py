"""The examples of docs/modelling.md and docs/sbml.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCKS = [(page, i, block) for page in ("modelling.md", "sbml.md")
          for i, block in enumerate(re.findall(r"```python\n(.*?)```",
                                               (DOCS / page).read_text(), flags=re.S))]


def test_the_pages_have_examples():
    assert sum(p == "modelling.md" for p, _, _ in BLOCKS) >= 5
    assert sum(p == "sbml.md" for p, _, _ in BLOCKS) >= 1


@pytest.mark.parametrize("page, index, block", BLOCKS, ids=[f"{p}[{i}]" for p, i, _ in BLOCKS])
def test_example_runs(page, index, block, capsys):
    # the examples of one page share a namespace, in order (like a notebook)
    namespace = _NAMESPACES.setdefault(page, {})
    for p, i, earlier in BLOCKS:
        if p == page and i < index and (page, i) not in _DONE:
            exec(compile(earlier, f"docs/{page}[{i}]", "exec"), namespace)
            _DONE.add((page, i))
    exec(compile(block, f"docs/{page}[{index}]", "exec"), namespace)
    _DONE.add((page, index))
    assert capsys.readouterr().out  # every example prints something


_NAMESPACES: dict[str, dict] = {}
_DONE: set = set()
