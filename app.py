"""Streamlit entry point of the hotspots dashboard: ``streamlit run app.py``."""

from hotspots.ui import main

main()
