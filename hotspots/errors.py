"""The HotspotsError family: failures a sergeant or analyst can act on."""

from __future__ import annotations


class HotspotsError(Exception):
    """Base class for every error the library raises on purpose.

    The message is one line that names the thing at fault and what to do; the CLI prints it and
    exits 2, the dashboard shows it with ``st.error`` and keeps running.
    """


class InputError(HotspotsError):
    """An input file or folder cannot be read as incident data."""


class ParameterError(HotspotsError):
    """A parameter is out of range or inconsistent with the data."""


class NoDataError(HotspotsError):
    """A filter or area leaves nothing to analyse."""


class StoreError(HotspotsError):
    """The incident store is missing, empty or damaged."""
