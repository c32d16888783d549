"""hotspots.corridor_lines: density classes and runs of one class along the SRN."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box
from support import lixels

from hotspots import corridor_lines, density_image
from hotspots.errors import ParameterError

XSS = "<img src=x onerror=alert(1)>"


def test_network_classes_square_root_breaks_and_zero_class():
    density = np.r_[np.zeros(50), np.linspace(0.1, 25.0, 100)]
    classes = corridor_lines.network_classes(density)
    top = np.percentile(density[density > 0], density_image.CLIP_PERCENTILE)
    expected = [top * (k / 5) ** 2 for k in range(1, 5)]
    assert len(classes.breaks) == 4
    assert np.allclose(classes.breaks, expected, rtol=0.05)  # two significant figures
    assert len(classes.colours) == 6 and classes.colours[0] == corridor_lines.NETWORK_ZERO_COLOUR
    assert len(set(classes.colours)) == 6
    cls = classes.classify(np.array([0.0, np.nan, 1e-6, classes.breaks[0], 1e9]))
    assert cls.tolist() == [0, 0, 1, 1, 5]
    labels = classes.labels()
    assert labels[0].startswith("0 (no incident") and labels[-1].startswith("over ")
    with pytest.raises(ParameterError, match="colours"):
        corridor_lines.NetworkClasses(breaks=(1.0, 2.0), colours=("#d9d9d9", "#aaaaaa"))
    assert corridor_lines.network_classes(np.zeros(4)).colours == (
        corridor_lines.NETWORK_ZERO_COLOUR,)


def test_corridor_lines_merge_equal_classes_and_dash_approximate():
    lix = lixels([("M6", "surveyed", [0, 0, 0, 5, 5, 20, 20, 20, 5]),
                  (XSS, "approximate", [0, 0, 5, 5]),
                  ("M6", "surveyed", [5, 5])])
    classes = corridor_lines.NetworkClasses(breaks=(10.0,),
                                            colours=("#d9d9d9", "#aaaaaa", "#222222"), peak=20.0)
    lines = corridor_lines.corridor_lines(lix, classes=classes, simplify_m=0.0)
    feats = lines.data["features"]
    # M6: runs 0,0,0 | 5,5 | 20,20,20 | 5 and, on a second piece, 5,5: one feature per class;
    # the approximate road: 0,0 | 5,5
    assert len(feats) == 5
    assert [f["properties"]["cls"] for f in feats] == sorted(f["properties"]["cls"]
                                                             for f in feats)
    dashed = [f for f in feats if f["properties"]["approximate"]]
    assert len(dashed) == 2
    assert all(f["properties"]["style"]["dashArray"] == corridor_lines.APPROXIMATE_DASH
               for f in dashed)
    assert all("dashArray" not in f["properties"]["style"] for f in feats if f not in dashed)
    top = next(f for f in feats if f["properties"]["cls"] == 2)
    assert top["geometry"]["type"] == "LineString"
    assert len(top["geometry"]["coordinates"]) == 7  # three lixels joined, shared ends once
    assert top["properties"]["style"]["color"] == "#222222"
    assert "peak 20.0" in top["properties"]["tooltip"]
    low = next(f for f in feats if f["properties"]["cls"] == 1 and f not in dashed)
    assert low["geometry"]["type"] == "MultiLineString"
    assert sorted(len(part) for part in low["geometry"]["coordinates"]) == [3, 5, 5]
    assert all(XSS not in f["properties"]["tooltip"] for f in feats)
    assert any("&lt;img" in f["properties"]["tooltip"] for f in dashed)
    assert lines.surveyed_km == pytest.approx(1.1, rel=1e-3)
    assert lines.approximate_km == pytest.approx(0.4, rel=1e-3)
    far = box(0, 0, 1000, 1000)
    assert corridor_lines.corridor_lines(lix, clip=far).data["features"] == []
