"""Geometry in British National Grid: grids, boundaries, the SRN graph, corridors, rasters."""
