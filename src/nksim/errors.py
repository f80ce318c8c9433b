"""Exceptions that nksim raises on purpose.

`UserError` and its subclasses mean "the input is wrong": the command line prints
their one-line message and exits with status 2, without a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a person: a scenario field, a file, a name or a unit.

    The message is one line that names the field and the problem, e.g.
    ``"simulation.t_end: must be > 0 (got -3)"``.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = message  # without the field
        super().__init__(f"{field}: {message}" if field else message)


class UnitError(UserError):
    """A quantity whose unit does not convert to the unit that is needed."""


class OfflineError(UserError):
    """A network resource was needed but could not be reached."""
