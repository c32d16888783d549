"""The HotspotsError family: failures a sergeant or analyst can act on.

Every error the library raises on purpose is one of these, and the same fault raises the same
error everywhere: a bad parameter or input is a :class:`ParameterError` / :class:`InputError`
(both also ``ValueError``, the builtin a caller would catch), a filter that leaves nothing to
analyse is a :class:`NoDataError`, whichever face (CLI, dashboard, library) meets it.
"""

from __future__ import annotations


class HotspotsError(Exception):
    """Base class for every error the library raises on purpose.

    The message is one line that names the thing at fault and what to do; the CLI prints it and
    exits 2, the dashboard shows it with ``st.error`` and keeps running.
    """


class InputError(HotspotsError, ValueError):
    """An input file or folder cannot be read as incident data."""


class ParameterError(HotspotsError, ValueError):
    """A parameter is out of range or inconsistent with the data."""


class NoDataError(HotspotsError):
    """A filter or area leaves nothing to analyse."""


class StoreError(HotspotsError):
    """The incident store is missing, empty or damaged."""


class AuditError(HotspotsError):
    """The export audit log cannot be written or read."""



class AccessError(HotspotsError, PermissionError):
    """The signed-in user's role does not allow the action (e.g. a viewer asks for an export)."""
