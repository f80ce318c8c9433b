"""Partial dates as the registry writes them: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

Source: evidence.md §1.2 (third-party live testing): all three precisions occur, so
only the first four characters are trusted for a start year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, the month or the day.

    Attributes
    ----------
    year, month, day
        ``month`` and ``day`` are ``None`` when the registry did not give them.
    raw
        The string as the registry wrote it.
    """

    year: int
    month: int | None
    day: int | None
    raw: str

    @property
    def precision(self) -> str:
        """``"year"``, ``"month"`` or ``"day"``."""
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"


def parse_partial_date(value: object) -> PartialDate | None:
    """Parse a registry date string; return ``None`` for a missing or unreadable date.

    Examples
    --------
    >>> parse_partial_date("2024-08").precision
    'month'
    >>> parse_partial_date("2024").year
    2024
    >>> parse_partial_date("") is None
    True
    """
    if not isinstance(value, str):
        return None
    m = _DATE.match(value)
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    if month is not None and not 1 <= month <= 12:
        month, day = None, None
    if day is not None and not 1 <= day <= 31:
        day = None
    return PartialDate(year, month, day, value.strip())
