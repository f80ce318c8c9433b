"""Exceptions that nksim raises on purpose.

`UserError` and its subclasses mean "the input is wrong": the command line prints
their one-line message and exits with status 2, without a traceback.
"""

from __future__ import annotations

import errno
import os

#: errors of the surroundings, not of nksim: a full disk or quota, a read-only or failing
#: file system, a stale network file handle, a file grown past the file system's limit
SURROUNDINGS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ESTALE,
                          errno.EFBIG})
#: the exit status of a command stopped by its surroundings (2 is bad input)
STOPPED_EXIT = 1


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


def shown(value) -> str:
    """``repr`` of a value for an error message, NumPy scalars as plain Python values
    (``1``, ``nan``, not ``np.int64(1)``, ``np.float64(nan)``)."""
    plain = value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value
    return repr(plain)


def cannot_write(exc: BaseException) -> str | None:
    """``"cannot write the output: <reason> (<file>)"`` when ``exc`` is an error of the
    surroundings (:data:`SURROUNDINGS`); ``None`` otherwise."""
    if not (isinstance(exc, OSError) and exc.errno in SURROUNDINGS):
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    return f"cannot write the output: {os.strerror(exc.errno)}{where}"
