"""Streamlit entry point of the hotspots dashboard: ``streamlit run app.py``.

Streamlit reads this file twice: ``streamlit run`` imports it to find ``app`` (the server,
with the hotspots guard in front of every request: hotspots/ui/server.py), and then runs it
as each session's page script (``__main__``), which draws the dashboard.
"""

import streamlit as st

if __name__ == "__main__":
    from hotspots.ui.dashboard import main

    main()
else:
    from hotspots.ui.server import launch_middleware

    app = st.App(__file__, middleware=launch_middleware())
