"""The dashboard (Streamlit). The only package, with ``app.py``, that imports Streamlit.

:mod:`hotspots.ui.compute` holds the dashboard's computations and does not import Streamlit;
:func:`main` (in :mod:`hotspots.ui.dashboard`) draws the page.
"""

from __future__ import annotations


def main() -> None:
    """Draw the dashboard: the whole body of ``app.py``."""
    from hotspots.ui.dashboard import main as _main

    _main()


__all__ = ["main"]
