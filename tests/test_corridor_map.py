"""hotspots.corridor_map: junction popups and markers."""

from __future__ import annotations

from support import junctions

from hotspots import corridor_map

XSS = "<img src=x onerror=alert(1)>"


def test_junction_popup_escapes_every_data_string():
    row = junctions().iloc[0].to_dict()
    popup = corridor_map.junction_popup_html(row, radius_m=2000, period="Oct–Dec 2025",
                                             previous_period="Jul–Sep 2025", rank=1, total=2,
                                             group_labels={"acquisitive": "Acquisitive"})
    assert XSS not in popup and "&lt;img src=x onerror=alert(1)&gt;" in popup
    assert "Within 2,000 m of the junction, Oct–Dec 2025" in popup
    assert "Previous period (Jul–Sep 2025)" in popup and "+4 (+50%)" in popup
    assert "Acquisitive" in popup and "1 of 2" in popup
    quiet = corridor_map.junction_popup_html(junctions().iloc[1].to_dict(), radius_m=2000,
                                             period="Oct–Dec 2025")
    assert "Previous period" not in quiet and "no data for previous period" in quiet
    assert XSS not in quiet


def test_junction_markers_sized_by_count_and_ranked():
    markers = corridor_map.junction_markers(junctions(), radius_m=2000, period="Oct–Dec 2025")
    circles = markers.circles["features"]
    assert markers.largest == 12 and len(circles) == 2
    radii = {f["properties"]["rank"]: f["properties"]["style"]["radius"] for f in circles}
    assert radii[1] == corridor_map.JUNCTION_RADIUS_PX[1]
    assert radii[2] < corridor_map.JUNCTION_RADIUS_PX[0]
    assert [f["properties"]["label"] for f in markers.labels["features"]] == ["1"]
    assert all(XSS not in f["properties"]["tooltip"] for f in circles)
