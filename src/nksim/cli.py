"""The ``nksim`` command line: a thin layer over the library.

Every user error (:class:`nksim.errors.UserError`) becomes one line on stderr and
exit status 2; nothing else is printed and no output is left half-written.
"""

from __future__ import annotations

import sys

import click

from nksim.errors import UserError

USER_ERROR_EXIT = 2


class _Group(click.Group):
    """A click group that turns :class:`UserError` into one line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"nksim: error: {exc}", err=True)
            ctx.exit(USER_ERROR_EXIT)


@click.group(cls=_Group)
@click.version_option(package_name="nksim")
def cli() -> None:
    """nksim: an in-silico laboratory for NK-cell therapy. Research use only: not medical advice."""


def _register_commands() -> None:
    from nksim.cli_evidence import check_claim, landscape

    cli.add_command(landscape)
    cli.add_command(check_claim)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="nksim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
