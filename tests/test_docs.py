"""Documentation derived from the declarations stays in step with them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.library import get_model, model_names
from nksim.model import render_markdown
from nksim.scenario import Scenario, plan_simulation, validate

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", model_names())
def test_model_pages_are_generated_from_the_declaration(name):
    page = DOCS / "models" / f"{name}.md"
    assert page.read_text() == render_markdown(get_model(name)) + "\n", (
        f"docs/models/{name}.md is stale: run `make docs`")


ISSUE_EXAMPLE = """
[model]
name = "depillis2006"
parameter_set = "patient9"
[parameters]            # overrides: a number in the model's unit, or a "value unit" string
r2 = 6.5e-11
[initial]               # states not named keep the model's default
T = 1e6
N = 1e3
[[doses]]
state = "M"
amount = 5
times = [7, 14]         # or: start = 7, every = 7, count = 10; optional duration = 1 (infusion)
[simulation]
t_end = 150             # days
record_every = 1        # days; or: times = [10, 30, 100]
rtol = 1e-6
atol = 1e-6
[population]            # optional
size = 10000
seed = 0
lognormal_sigma = { all = 0.2 }          # or per parameter: { a = 0.3, c = 0.2 }
# parameters_file = "patients.csv"       # or: one row per patient, one column per parameter name
"""


def test_the_scenario_example_of_the_specification_works_as_written():
    plan = plan_simulation(validate(Scenario, tomllib.loads(ISSUE_EXAMPLE)))
    assert plan.parameters.shape == (10000, 28)
    assert [d.time for d in plan.doses] == [7.0, 14.0]
    assert plan.times[0] == 0 and plan.times[-1] == 150 and plan.times.size == 151
    result = plan.run(progress=False)
    assert result.status_counts == {"ok": 10000}


def test_readme_commands_exist():
    readme = (DOCS.parent / "README.md").read_text()
    assert readme.index("make demo") < readme.index("make test") < readme.index("## ")
    for command in ("models", "simulate", "trial", "demo", "check-claim", "landscape",
                    "assay", "patrol", "ageing", "article", "schema", "power", "n-of-1",
                    "fit", "sensitivity"):
        assert CliRunner().invoke(cli, [command, "--help"]).exit_code == 0
