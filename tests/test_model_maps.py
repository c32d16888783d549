"""Map layers of Gi*, emerging hot spots and clusters: legends, colours, escaped popups."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from hotspots import base_layers, leaflet, wording
from hotspots import model_maps as mm
from hotspots.config import load_settings
from hotspots.errors import ParameterError
from hotspots.models.clusters import find_clusters
from hotspots.models.emerging import PATTERNS, emerging_hotspots
from hotspots.models.gistar import gi_star_grid

X0, Y0 = 428_000.0, 265_000.0  # Warwick, British National Grid
AREA = box(X0, Y0, X0 + 2000, Y0 + 2000)
XSS = "<img src=x onerror=alert(1)>"


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _points(seed: int = 1, n_cluster: int = 60, n_background: int = 40
            ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cx = rng.normal(X0 + 500, 60, n_cluster)
    cy = rng.normal(Y0 + 500, 60, n_cluster)
    bx = rng.uniform(X0, X0 + 2000, n_background)
    by = rng.uniform(Y0, Y0 + 2000, n_background)
    return np.concatenate([cx, bx]), np.concatenate([cy, by])


def _incidents(months: tuple[str, ...] = ("2025-01", "2025-02", "2025-03")) -> pd.DataFrame:
    frames = []
    for i, month in enumerate(months):
        x, y = _points(seed=i + 1)
        frames.append(pd.DataFrame({
            "x": x, "y": y, "has_location": True, "month": month,
            "occurred": pd.Timestamp(f"{month}-01"), "date_precision": "month",
            "crime_type": "Burglary", "crime_group": "acquisitive",
            "location": "On or near High Street", "harm": 10.0}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def gistar_frame() -> gpd.GeoDataFrame:
    x, y = _points()
    return gi_star_grid(x, y, study_area=AREA, cell=100.0).to_frame()


# ------------------------------------------------------------------------------ Gi*


def test_gistar_statement_states_method_cells_neighbourhood_and_correction(gistar_frame):
    params = gistar_frame.attrs["params"]
    text = wording.gistar_statement(params, start="2025-10", end="2025-12",
                                    crimes="acquisitive crime")
    assert text == ("Getis-Ord Gi*, 100 m cells, 8-cell neighbourhood (distance 150 m), "
                    "Benjamini-Hochberg FDR, 90/95/99% bins, Oct–Dec 2025, acquisitive crime")
    x, y = _points()
    bonf = gi_star_grid(x, y, study_area=AREA, cell=200.0, distance=200.0,
                        correction="bonferroni").params()
    text = wording.gistar_statement(bonf, start="2024-03", end="2025-02", crimes="Burglary",
                                    missing=[f"2024-{m:02d}" for m in range(5, 13)])
    assert text.startswith("Getis-Ord Gi*, 200 m cells, 4-cell neighbourhood (distance 200 m), "
                           "Bonferroni correction, 90/95/99% bins, Mar 2024–Feb 2025 (no data "
                           "for May–Dec 2024), Burglary")


def test_gistar_layer_colours_bins_as_documented(gistar_frame):
    # Every bin once, by hand, on real Gi* parameters.
    cells = gistar_frame.head(7).copy()
    cells["bin"] = np.array([3, 2, 1, 0, -1, -2, -3], dtype=np.int8)
    cells["count"] = [9, 7, 5, 2, 0, 0, 0]
    cells.attrs["params"] = gistar_frame.attrs["params"]
    layer = mm.gistar_layer(cells, crimes="burglary", area="Warwick", start="2025-01",
                            end="2025-03")
    feats = layer.features["features"]
    assert len(feats) == 6  # bin 0 (not significant) is not drawn
    got = sorted(f["properties"]["style"]["fillColor"] for f in feats)
    assert got == sorted(mm.GISTAR_COLOURS.values())
    for f in feats:
        colour = f["properties"]["style"]["fillColor"]
        r, _, b = _rgb(colour)
        hot = "hs-gistar-hot" in f["properties"]["style"]["className"]
        assert (r > b) if hot else (b > r), colour  # hot in reds, cold in blues
        assert f["geometry"]["type"] == "Polygon"
    # Darker = more confident on both sides (RdBu).
    lum = {k: sum(_rgb(c)) for k, c in mm.GISTAR_COLOURS.items()}
    assert lum[3] < lum[2] < lum[1] and lum[-3] < lum[-2] < lum[-1]
    assert [k.text for k in layer.key] == [
        "Hot spot, 99% confidence (1 cell)", "Hot spot, 95% confidence (1 cell)",
        "Hot spot, 90% confidence (1 cell)", "Cold spot, 90% confidence (1 cell)",
        "Cold spot, 95% confidence (1 cell)", "Cold spot, 99% confidence (1 cell)"]
    assert any("cold spot is quieter" in n for n in layer.notes)


def test_gistar_popup_lists_the_cell_figures(gistar_frame):
    row = gistar_frame.iloc[0].to_dict()
    row.update(bin=3, count=12, z=4.2, p=1e-5, p_corrected=1e-4, n_neighbours=9)
    pop = mm.gistar_popup_html(row)
    assert pop.startswith("<div class='hs-pop'><b>Hot spot, 99% confidence</b>")
    assert "<th>Gi* z-score</th><td>+4.20</td>" in pop
    assert "<th>Cells in the neighbourhood</th><td>9 (itself included)</td>" in pop


def test_real_gistar_layer_draws_only_significant_cells(gistar_frame):
    layer = mm.gistar_layer(gistar_frame, crimes="burglary", area="Warwick",
                            start="2025-01", end="2025-03", unmapped=3)
    sig = int((gistar_frame["bin"] != 0).sum())
    assert 0 < sig < len(gistar_frame)
    assert len(layer.features["features"]) == sig
    assert any("3 incidents have no location" in n for n in layer.notes)
    bare = gpd.GeoDataFrame(pd.DataFrame(gistar_frame), geometry="geometry")
    bare.attrs = {}
    with pytest.raises(ParameterError, match="attrs"):
        mm.gistar_layer(bare, crimes="c", area="a", start="2025-01", end="2025-01")


# ------------------------------------------------------------------------------ emerging


def test_pattern_colours_cover_every_class_once():
    drawn = [p for p in PATTERNS if p != mm.NO_PATTERN]
    assert set(mm.PATTERN_COLOURS) == set(drawn)
    assert len(set(mm.PATTERN_COLOURS.values())) == len(drawn)
    for name, colour in mm.PATTERN_COLOURS.items():
        assert re.fullmatch(r"#[0-9A-F]{6}", colour), name
    # The two strongest hot classes are reds, the cold ones blues.
    for name in ("intensifying hot spot", "persistent hot spot"):
        r, _, b = _rgb(mm.PATTERN_COLOURS[name])
        assert r > b
    for name in ("intensifying cold spot", "persistent cold spot"):
        r, _, b = _rgb(mm.PATTERN_COLOURS[name])
        assert b > r


def test_emerging_layer_colours_classes_and_keys_those_present():
    res = emerging_hotspots(_incidents(), study_area=AREA, cell=200.0,
                            months_held=["2025-01", "2025-02", "2025-03"])
    cells = res.head(5).copy()
    cells["pattern"] = ["new hot spot", "persistent hot spot", mm.NO_PATTERN,
                        "persistent hot spot", "oscillating cold spot"]
    cells.attrs["params"] = res.attrs["params"]
    layer = mm.emerging_layer(cells, crimes="burglary", area="Warwick")
    feats = layer.features["features"]
    assert len(feats) == 4  # no pattern: not drawn
    for f, name in zip(feats, ["new hot spot", "persistent hot spot", "persistent hot spot",
                               "oscillating cold spot"], strict=True):
        assert f["properties"]["style"]["fillColor"] == mm.PATTERN_COLOURS[name]
        assert name[1:] in f["properties"]["tooltip"]
    # ArcGIS Pro's order, with counts; absent classes are not listed.
    assert [k.text for k in layer.key] == ["New hot spot (1 cell)",
                                           "Persistent hot spot (2 cells)",
                                           "Oscillating cold spot (1 cell)"]
    assert [k.colour for k in layer.key] == [mm.PATTERN_COLOURS["new hot spot"],
                                             mm.PATTERN_COLOURS["persistent hot spot"],
                                             mm.PATTERN_COLOURS["oscillating cold spot"]]
    assert "Only 3 time steps: ArcGIS advises at least 10 for a trend." in layer.notes
    cells.loc[cells.index[0], "pattern"] = "brand new spot"
    with pytest.raises(ParameterError, match="unknown emerging pattern"):
        mm.emerging_layer(cells, crimes="burglary", area="Warwick")


def test_emerging_statement_states_steps_neighbourhood_and_correction():
    res = emerging_hotspots(_incidents(("2024-03", "2024-04", "2025-01", "2025-02")),
                            study_area=AREA, cell=200.0,
                            months_held=["2024-03", "2024-04", "2025-01", "2025-02"])
    text = wording.emerging_statement(res.attrs["params"], crimes="burglary")
    assert text.startswith("Emerging hot spot analysis (space-time Gi* + Mann-Kendall "
                           "trend), 200 m cells, 8-cell neighbourhood (distance 300 m) and 1 "
                           "step before, Benjamini-Hochberg FDR over all ")
    assert "bins, 90% confidence, trend α 0.05, 4 monthly steps (Mar 2024–Feb 2025, " \
           "May–Dec 2024 dropped (no data)), burglary" in text
    pop = mm.emerging_popup_html(res.iloc[0].to_dict(), res.attrs["params"]["periods"])
    assert "<th class='hs-ind'>Mar 2024</th>" in pop and "<th class='hs-ind'>Feb 2025</th>" in pop


# ------------------------------------------------------------------------------ clusters


@pytest.fixture(scope="module")
def clusters() -> gpd.GeoDataFrame:
    inc = _incidents()
    inc["location"] = XSS
    inc.loc[inc.index[:30], "crime_type"] = "<script>alert(2)</script>"
    return find_clusters(inc, method="dbscan", min_samples=10)


def test_cluster_statement_states_parameters_and_rules(clusters):
    text = wording.cluster_statement(clusters.attrs["params"], start="2025-01", end="2025-03",
                                     crimes="burglary")
    assert text == ("DBSCAN, eps 250 m (default: fixed 250 m), min_samples 10 (given), "
                    "snapped duplicates weighted, convex hulls, Jan–Mar 2025, burglary")
    hdb = find_clusters(_incidents(), method="hdbscan")
    text = wording.cluster_statement(hdb.attrs["params"], start="2025-01", end="2025-03",
                                     crimes="burglary")
    assert re.match(r"HDBSCAN, min_cluster_size \d+ \(default: 0\.5% of the [\d,]+ incidents, "
                    r"at least 5\), min_samples \d+ \(", text), text


def test_cluster_popups_escape_data(clusters):
    assert len(clusters)
    layer = mm.cluster_layer(clusters, crimes="burglary", area="Warwick", start="2025-01",
                             end="2025-03")
    first = layer.features["features"][0]["properties"]
    pop = first["popup"]
    assert XSS not in pop and "<script>" not in pop
    assert html_escaped(XSS) in pop and html_escaped("<script>alert(2)</script>") in pop
    for needed in ("Cluster 1 of", "<th>Incidents</th>", "<th>First month</th><td>Jan 2025",
                   "<th>Last month</th><td>Mar 2025", "Crime mix", "Top locations"):
        assert needed in pop, needed
    assert XSS not in first["tooltip"] and html_escaped(XSS) in first["tooltip"]
    assert [f["properties"]["label"] for f in layer.labels["features"]] == \
        [str(c) for c in clusters["cluster"] if c <= 10]
    assert layer.key[0].shape == "hull"
    assert "clusters hold" in layer.key[0].text or "cluster hold" in layer.key[0].text


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# ------------------------------------------------------------------------------ legend, map


def test_legend_states_method_keys_and_escapes_text(gistar_frame):
    layer = mm.gistar_layer(gistar_frame, crimes="burglary", area=XSS, start="2025-01",
                            end="2025-03")
    legend = mm.model_legend_html(layer, marking="OFFICIAL-SENSITIVE", notes=["extra note"])
    assert XSS not in legend and html_escaped(XSS) in legend
    method = legend.index("Getis-Ord Gi*, 100 m cells, 8-cell neighbourhood")
    key = legend.index("Cells by confidence")
    # The key is shown; the method in full is one click away, after it.
    assert key < legend.index("Hot spot, 99% confidence") < legend.index("How this map") < method
    assert "Benjamini-Hochberg FDR" in legend and "OFFICIAL-SENSITIVE" in legend
    assert legend.index("extra note") > key
    present = set(gistar_frame["bin"].astype(int)) - {0}
    for b, colour in mm.GISTAR_COLOURS.items():
        # Only the classes on the map are keyed: no "(0 cells)" rows.
        assert (f"background:{colour}" in legend) == (b in present)
    assert "(0 cells)" not in legend
    bad = mm.ModelLayer(name="x", features={}, labels={}, title="t", method="m",
                        key_heading="k", key=(mm.KeyItem("red;background:url(x)", "t"),))
    with pytest.raises(ParameterError):
        mm.model_legend_html(bad)


def test_model_map_page_is_offline_small_and_escaped(clusters, data_dir):
    settings = load_settings(env={}).with_(data_dir=data_dir)
    layer = mm.cluster_layer(clusters, crimes="burglary", area="Warwick", start="2025-01",
                             end="2025-03")
    page = mm.model_map_page(layer, base=base_layers.load_base_layers(settings), view=AREA,
                             settings=settings, title=f"Clusters {XSS}")
    assert leaflet.remote_references(page) == []
    assert XSS not in page and "<script>alert(2)" not in page
    assert "hs-cluster" in page and '"hsModel"' in page
    assert len(page.encode()) < 3_000_000
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m and "DBSCAN, eps 250 m" in json.loads(m.group(1))


def test_county_gistar_map_stays_under_three_megabytes(data_dir):
    """The largest Gi* map the dashboard draws: every study cell of the county significant."""
    from hotspots.spatial.boundaries import area_geometry

    settings = load_settings(env={}).with_(data_dir=data_dir)
    county = area_geometry("force", settings)
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = county.bounds
    x = rng.uniform(xmin, xmax, 20_000)
    y = rng.uniform(ymin, ymax, 20_000)
    inside = shapely.contains_xy(county, x, y)
    frame = gi_star_grid(x[inside], y[inside], study_area=county).to_frame()
    frame["bin"] = np.where(np.arange(len(frame)) % 2, 3, -3).astype(np.int8)
    layer = mm.gistar_layer(frame, crimes="all crime", area="Warwickshire",
                            start="2025-10", end="2025-12")
    assert len(layer.features["features"]) == len(frame) > 1000
    page = mm.model_map_page(layer, base=base_layers.load_base_layers(settings), view=county,
                             settings=settings)
    assert len(page.encode()) < 3_000_000
