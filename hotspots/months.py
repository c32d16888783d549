"""Calendar months as ``YYYY-MM`` strings: check, count, shift, span, and find the gaps.

The store is partitioned by month and police.uk publishes by month, so periods throughout the
package are pairs of ``YYYY-MM`` strings, both ends included. Arithmetic runs on month indices
(``12 * year + month - 1``): differences of indices are calendar-month differences, so
``2025-01`` minus ``2024-12`` is 1 and a gap in a list of months shows as a step above 1.

Month *wording* ("Oct–Dec 2025") is in :mod:`hotspots.wording`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hotspots.errors import ParameterError

__all__ = [
    "check_month",
    "is_month",
    "missing_months",
    "month_index",
    "month_index_of",
    "month_name",
    "month_range",
    "month_runs",
    "months_between",
    "previous_period",
    "shift_month",
    "split_month",
]

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def is_month(value: Any) -> bool:
    """Whether ``value`` is a month string ``YYYY-MM`` (month 01..12)."""
    return isinstance(value, str) and _MONTH.fullmatch(value) is not None


def check_month(value: Any, what: str = "") -> str:
    """Return ``value`` if it is a ``YYYY-MM`` month, else raise :class:`ParameterError`.

    Parameters
    ----------
    value : object
        The month to check.
    what : str
        What the month is, for the message (e.g. ``"start"``).

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        ``"start '2025-13' is not a month in the form YYYY-MM"``.
    """
    if not is_month(value):
        prefix = f"{what} " if what else ""
        raise ParameterError(f"{prefix}{value!r} is not a month in the form YYYY-MM")
    return value


def check_period(start: Any, end: Any) -> tuple[str, str]:
    """Return ``(start, end)`` if both are months and ``end`` is not before ``start``.

    Raises
    ------
    ParameterError
        A malformed month, or ``"the period ends (2025-01) before it starts (2025-06)"``.
    """
    first, last = check_month(start, "start"), check_month(end, "end")
    if last < first:
        raise ParameterError(f"the period ends ({last}) before it starts ({first})")
    return first, last


def month_index(month: str) -> int:
    """Return a ``YYYY-MM`` month as a count of months, ``12 * year + month - 1``.

    Raises
    ------
    ParameterError
        If ``month`` is not a ``YYYY-MM`` month.
    """
    m = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if m is None:
        check_month(month)
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def split_month(month: str) -> tuple[int, int]:
    """Return the year and the month number (1..12) of a ``YYYY-MM`` month."""
    year, month0 = divmod(month_index(month), 12)
    return year, month0 + 1


def month_index_of(year: Any, month: Any) -> Any:
    """Return the month index of a year and a month number (1..12); works elementwise on
    arrays and pandas Series (e.g. ``occurred.dt.year``, ``occurred.dt.month``)."""
    return year * 12 + month - 1


def month_name(index: int) -> str:
    """Return the ``YYYY-MM`` month of a month index (inverse of :func:`month_index`)."""
    year, month = divmod(int(index), 12)
    return f"{year:04d}-{month + 1:02d}"


def shift_month(month: str, n: int) -> str:
    """Return the month ``n`` months after ``month`` (before it for negative ``n``)."""
    return month_name(month_index(month) + int(n))


def months_between(start: str, end: str) -> int:
    """Return how many months ``end`` is after ``start`` (0 for the same month, negative
    when ``end`` is earlier)."""
    return month_index(end) - month_index(start)


def month_range(start: str, end: str) -> list[str]:
    """Return every calendar month from ``start`` to ``end`` inclusive (empty if ``end`` is
    before ``start``)."""
    return [month_name(i) for i in range(month_index(start), month_index(end) + 1)]


def previous_period(start: str, end: str) -> tuple[str, str]:
    """Return the period of equal length just before ``start``..``end``.

    ``previous_period("2025-10", "2025-12")`` is ``("2025-07", "2025-09")``.
    """
    length = months_between(start, end) + 1
    return shift_month(start, -length), shift_month(start, -1)


def missing_months(start: str, end: str, held: Iterable[str]) -> list[str]:
    """Return the months of ``start``..``end`` that are not among the months ``held``."""
    have = {str(m) for m in held}
    return [m for m in month_range(start, end) if m not in have]


def month_runs(months: Iterable[str]) -> list[list[str]]:
    """Split months into runs of consecutive months, in the order given.

    ``["2024-05", "2024-06", "2024-09"]`` gives ``[["2024-05", "2024-06"], ["2024-09"]]``;
    sort the months first for runs in calendar order.
    """
    runs: list[list[str]] = []
    for month in months:
        if runs and month_index(month) == month_index(runs[-1][-1]) + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs
