"""Streamlit entry point of the hotspots dashboard: ``streamlit run app.py``."""

from hotspots.ui.dashboard import main

main()
