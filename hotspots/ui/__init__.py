"""The dashboard (Streamlit). The only package, with ``app.py``, that imports Streamlit.

:func:`hotspots.ui.dashboard.main` draws the page (the body of ``app.py``): the sidebar, then
one view (:mod:`hotspots.ui.hotspot_view`, :mod:`hotspots.ui.corridors`,
:mod:`hotspots.ui.disruption`, :mod:`hotspots.ui.evaluation`). What the views share is
:mod:`hotspots.ui.common`; :mod:`hotspots.ui.compute` and :mod:`hotspots.ui.corridor_compute`
hold their computations and do not import Streamlit. Nothing is imported here, so importing a
Streamlit-free module of the package does not import Streamlit.
"""
