"""docs/evidence.md stays true: its offline examples run, its rule tables list every rule,
and its held-out precision/recall row matches what the checker measures now."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.evidence import evaluate_claims
from nksim.evidence._rules import claim_rules, nk_rules

from .conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "evidence.md"


def _blocks(lang):
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _console_examples():
    out = []
    for block in _blocks("console"):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ nksim "):
                shown = next((ln for ln in lines[i + 1 :] if ln.strip()), None)
                out.append((line[2:], None if shown is None or shown.startswith("$") else shown))
    return out


def test_docs_exist_and_have_examples():
    assert DOC.is_file()
    assert len(_console_examples()) >= 4 and _blocks("python")


@pytest.mark.parametrize(("command", "shown"), _console_examples(), ids=lambda v: str(v)[:50])
def test_console_examples_run(command, shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    if shown:
        assert shown in result.stdout


def test_python_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for block in _blocks("python"):
        exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 (our own documentation)


def test_every_rule_is_documented():
    text = DOC.read_text(encoding="utf-8")
    r = nk_rules()
    ids = [d.id for d in r.design_exclusions] + [x.id for x in r.lookalikes] + [r.conflict.id]
    ids += [rule.id for rule in claim_rules().rules]
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing


def test_documented_heldout_scores_match_measurement():
    ev = evaluate_claims("heldout3")
    row = next(ln for ln in DOC.read_text(encoding="utf-8").splitlines() if "**held-out 3**" in ln)
    assert f"**{ev.precision:.2f}** ({ev.tp}/{ev.tp + ev.fp})" in row
    assert f"**{ev.recall:.2f}** ({ev.tp}/{ev.tp + ev.fn})" in row
    assert f"{ev.likely_scam_of_red_flags} of {ev.tp + ev.fn}" in row


def test_evidence_package_only_imports_errors_and_io_from_nksim():
    """Layering: the evidence layer knows nothing of the simulation."""
    import ast

    pkg = REPO_ROOT / "src" / "nksim" / "evidence"
    allowed = {"nksim.errors", "nksim._io"}
    for path in pkg.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name == "nksim" or name.startswith("nksim."):
                    assert name in allowed, f"{path.name} imports {name}"
