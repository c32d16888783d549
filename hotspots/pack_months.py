"""Months as the exports count and word them: ``YYYY-MM`` arithmetic, spans and labels.

One place for the pack's month helpers; the words come from :mod:`hotspots.maps`, so the
pack says a period the way the dashboard does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hotspots.errors import ParameterError
from hotspots.maps import missing_months_label, period_label

__all__ = ["MONTH_NAMES", "MONTH_PATTERN", "check_month", "month_index", "month_name",
           "month_span", "period_words", "runs_words"]

MONTH_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")


def month_index(m: str) -> int:
    """``YYYY-MM`` as a count of months, so that consecutive months differ by one."""
    return int(m[:4]) * 12 + int(m[5:7]) - 1


def month_name(i: int) -> str:
    """The ``YYYY-MM`` of a :func:`month_index`."""
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def month_span(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end``, both included."""
    return [month_name(i) for i in range(month_index(start), month_index(end) + 1)]


def check_month(value: Any, what: str) -> str:
    """``value`` when it is a ``YYYY-MM`` month, else a one-line :class:`ParameterError`."""
    if not isinstance(value, str) or not MONTH_PATTERN.fullmatch(value):
        raise ParameterError(f"{what} {value!r} is not a month in the form YYYY-MM")
    return value


def period_words(start: str, end: str) -> str:
    """A period in words, e.g. "Apr–Jun 2025" (:func:`hotspots.maps.period_label`)."""
    return period_label(start, end)


def runs_words(months: Sequence[str]) -> str:
    """Months in words as runs (:func:`hotspots.maps.missing_months_label`)."""
    return missing_months_label(list(months))
