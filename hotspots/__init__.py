"""hotspots: crime hotspot and Strategic Road Network corridor analysis for UK police teams."""
