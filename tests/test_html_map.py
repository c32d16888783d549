"""The self-contained HTML map download."""

from __future__ import annotations

from datetime import UTC, datetime

import folium

from hotspots.html_map import write_html_map

CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Offline HTML map
# --------------------------------------------------------------------------------------------


def test_html_map_is_written_self_contained(tmp_path):
    from hotspots.leaflet import remote_references

    m = folium.Map(location=[52.3, -1.5], zoom_start=9, tiles=None)
    folium.GeoJson({"type": "Feature", "properties": {},
                    "geometry": {"type": "Point", "coordinates": [-1.5, 52.3]}}).add_to(m)
    path = write_html_map(m, tmp_path / "map.html")
    page = path.read_text(encoding="utf-8")
    assert "<html" in page.lower() and "L.map" in page
    assert remote_references(page) == []

