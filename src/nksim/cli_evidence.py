"""Command-line commands of the evidence layer: ``nksim landscape`` and ``nksim check-claim``."""

from __future__ import annotations

import click


@click.group()
def landscape() -> None:
    """The ClinicalTrials.gov landscape of NK-cell-therapy trials."""


@click.command("check-claim")
def check_claim() -> None:
    """Check a cell-therapy marketing claim for regulators' red flags."""
