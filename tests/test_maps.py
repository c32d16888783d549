"""hotspots.maps: offline HTML, escaping, legend statement, image alignment, size on full data."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import warnings

import folium
import geopandas as gpd
import numpy as np
import pytest
from folium.plugins import MarkerCluster
from PIL import Image
from shapely.geometry import box
from support import junctions, lixels

from hotspots import (
    base_layers,
    corridor_lines,
    corridor_map,
    count_symbols,
    density_image,
    geojson,
    leaflet,
    maps,
    wording,
)
from hotspots.config import load_settings
from hotspots.errors import ParameterError
from hotspots.legend import Legend
from hotspots.months import month_range
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.crs import to_bng, to_wgs84
from hotspots.spatial.grid import Grid

XSS = "<img src=x onerror=alert(1)>"
#: http(s) strings that may stay in the page because nothing fetches them: the SVG namespace
#: (an identifier) and Leaflet's home page in its licence banner and default attribution prefix
#: (which the map replaces with plain text).
NOT_FETCHED = {"http://www.w3.org/2000/svg", "https://leafletjs.com"}
CDN_HOSTS = ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "unpkg.com",
             "netdna.bootstrapcdn.com", "maxcdn.bootstrapcdn.com", "fonts.googleapis.com")


@pytest.fixture(scope="module")
def base(data_dir) -> base_layers.BaseLayers:
    return base_layers.load_base_layers(load_settings(env={}).with_(data_dir=data_dir))


@pytest.fixture(scope="module")
def warwick() -> tuple[float, float]:
    x, y = to_bng(np.array([-1.5847]), np.array([52.2823]))
    return float(x[0]), float(y[0])


def _surface(centre: tuple[float, float], cell: float = 100.0):
    """A grid around ``centre`` with a single hot cell at it and a weak ramp elsewhere."""
    grid = Grid.from_bounds(centre[0] - 5000, centre[1] - 5000, centre[0] + 5000,
                            centre[1] + 5000, cell)
    values = np.zeros(grid.shape)
    row, col = grid.cell_index(centre[0], centre[1])
    values[row, col] = 200.0
    values[row - 3:row + 4, col - 3:col + 4] += 20.0
    return values, grid, (int(row), int(col))


def _hotspots(centre: tuple[float, float], location: str = XSS) -> gpd.GeoDataFrame:
    x, y = centre
    return gpd.GeoDataFrame({
        "rank": [1, 2], "incidents": [40, 12], "share": [0.4, 0.12], "area_km2": [0.49, 0.09],
        "pai": [20.1, 16.0], "peak_density": [200.0, 60.0],
        "top_locations": [f"{location} (9); On or near High Street (4)", "On or near Park (2)"],
        "harm": [np.nan, np.nan]},
        geometry=[box(x - 350, y - 350, x + 350, y + 350),
                  box(x + 2000, y, x + 2300, y + 300)], crs="EPSG:27700")


def _page(base, centre, *, settings=None, counts=(), location=XSS, crimes="acquisitive crime"):
    values, grid, _ = _surface(centre)
    image = density_image.density_image(values, grid)
    legend = Legend(
        title=f"Acquisitive crime hotspots, {location}",
        method=wording.method_statement(kernel="quartic", bandwidth=500, bandwidth_rule="fixed",
                                        cell=100, top=0.05, start="2025-01", end="2025-03",
                                        crimes=crimes),
        density=image, hotspots_line="Hotspot areas: 2", counts=tuple(counts),
        marking="OFFICIAL-SENSITIVE")
    m = maps.build_map(base=base, view=box(*grid.bounds), density=image,
                       hotspots=_hotspots(centre, location), counts=counts, legend=legend,
                       settings=settings or load_settings(env={}))
    return leaflet.offline_html(m)


def _legend_text(page: str) -> str:
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "legend control not found"
    return json.loads(m.group(1))


# ------------------------------------------------------------------------------ offline


def test_rendered_page_has_no_remote_url(base, warwick):
    counts = [count_symbols.count_layer(np.array([warwick[0]]), np.array([warwick[1]]), name="A")]
    page = _page(base, warwick, counts=counts)
    assert leaflet.remote_references(page) == []
    urls = set(re.findall(r"https?://[^\s\"'<>()\\]+", page))
    remote = {u for u in urls if not re.match(r"https?://(localhost|127\.0\.0\.1)[:/]", u)}
    assert remote <= NOT_FETCHED, remote - NOT_FETCHED
    for host in CDN_HOSTS:
        assert host not in page
    assert "<script src" not in page.lower() and "<link" not in page.lower()
    assert "$(" not in page.replace(leaflet.leaflet_assets().js, "")  # no jQuery calls


def test_leaflet_is_inlined_with_its_licence(base, warwick):
    page = _page(base, warwick)
    assets = leaflet.leaflet_assets()
    assert assets.js.strip()[-200:] in page
    assert "Redistribution and use in source and binary forms" in page
    assert "sourceMappingURL" not in page
    assert 'url("data:image/png;base64,' in assets.css  # layer-control icons inlined
    assert "setPrefix(\"Leaflet\")" in page


def test_map_class_cdn_lists_are_not_mutated(base, warwick):
    before = list(folium.Map.default_js)
    _page(base, warwick)
    assert folium.Map.default_js == before


def test_offline_html_refuses_elements_that_need_cdn_files(base, warwick):
    values, grid, _ = _surface(warwick)
    m = maps.build_map(base=base, view=box(*grid.bounds), settings=load_settings(env={}))
    MarkerCluster().add_to(m)
    with pytest.raises(ParameterError, match="MarkerCluster"):
        leaflet.offline_html(m)


def test_tile_server_only_when_configured(base, warwick):
    values, grid, _ = _surface(warwick)
    view = box(*grid.bounds)
    plain = leaflet.offline_html(maps.build_map(base=base, view=view,
                                                settings=load_settings(env={})))
    assert "L.tileLayer" not in plain
    tiles = load_settings(env={"HOTSPOTS_TILES_URL": "https://tiles.example/{z}/{x}/{y}.png",
                               "HOTSPOTS_TILES_ATTRIBUTION": "<b>Example</b> tiles"})
    page = leaflet.offline_html(maps.build_map(base=base, view=view, settings=tiles))
    assert "L.tileLayer" in page and "tiles.example" in page
    assert "<b>Example</b>" not in page and "\\u0026lt;b\\u0026gt;Example" in page
    no_attr = load_settings(env={"HOTSPOTS_TILES_URL": "https://tiles.example/{z}/{x}/{y}.png"})
    with pytest.raises(ParameterError, match="tiles_attribution"):
        maps.build_map(base=base, view=view, settings=no_attr)


# ------------------------------------------------------------------------------ escaping


def test_popup_escapes_data_strings():
    row = _hotspots((440000.0, 265000.0)).iloc[0]
    popup = maps.hotspot_popup_html(row, total=2)
    assert XSS not in popup
    assert "&lt;img src=x onerror=alert(1)&gt; (9)" in popup
    assert "Hotspot 1 of 2" in popup and "PAI (in-sample)" in popup and "20.1" in popup


def test_xss_string_never_reaches_the_page_raw(base, warwick):
    page = _page(base, warwick, crimes=XSS)
    assert XSS not in page
    assert "onerror=alert(1)>" not in page
    # popup, legend title and method all carry it as escaped text
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in _legend_text(page)


def test_script_closing_tag_in_data_cannot_break_out(base, warwick):
    page = _page(base, warwick, location="</script><script>alert(2)</script>")
    assert "<script>alert(2)" not in page
    assert page.lower().count("</script>") == page.lower().count("<script")


# ------------------------------------------------------------------------------ legend


def test_legend_in_page_states_method_scale_and_marking(base, warwick):
    legend = _legend_text(_page(base, warwick))
    assert ("Kernel density, quartic kernel, bandwidth 500 m (fixed), 100 m cells, top 5% of "
            "area, Jan–Mar 2025, acquisitive crime; incidents per km²") in legend
    assert "incidents per km²" in legend and "linear-gradient" in legend
    assert "OFFICIAL-SENSITIVE" in legend
    # Top of the colour scale: the 99th percentile of the positive densities, marked "+"
    # because the peak cell (200 + 20) is denser.
    values, _, _ = _surface(warwick)
    top = np.percentile(values[values > 0], density_image.CLIP_PERCENTILE)
    assert f">{top:.0f}+<" in legend and "densest 1% of non-zero cells share the top" in legend


# ------------------------------------------------------------------------------ layers


def test_density_image_lines_up_with_the_national_grid(warwick):
    values, grid, (row, col) = _surface(warwick)
    image = density_image.density_image(values, grid)
    rgba = np.array(Image.open(io.BytesIO(base64.b64decode(image.url.split(",", 1)[1]))))
    assert rgba.shape[:2] == image.shape and rgba.shape[2] == 4
    # The hottest pixel is the darkest (viridis_r): find it and map it back to BNG.
    lum = rgba[..., :3].astype(float).sum(axis=2)
    lum[rgba[..., 3] == 0] = np.inf
    i, j = np.unravel_index(np.argmin(lum), lum.shape)
    (s, w), (n, e) = image.bounds
    merc = density_image.transformer("EPSG:4326", "EPSG:3857")
    x0, y0 = merc.transform(w, s)
    x1, y1 = merc.transform(e, n)
    mx = x0 + (j + 0.5) * (x1 - x0) / rgba.shape[1]
    my = y1 - (i + 0.5) * (y1 - y0) / rgba.shape[0]
    bx, by = density_image.transformer("EPSG:3857", "EPSG:27700").transform(mx, my)
    cx, cy = grid.x0 + (col + 0.5) * grid.cell, grid.y0 + (row + 0.5) * grid.cell
    assert abs(bx - cx) <= grid.cell and abs(by - cy) <= grid.cell
    assert rgba[..., 3].max() > 200  # dense cells are strongly coloured
    assert (rgba[..., 3] == 0).mean() > 0.5  # zero density is transparent


def test_density_image_mask_and_shape_check(warwick):
    values, grid, _ = _surface(warwick)
    values = values + 1.0  # dense everywhere
    half = box(grid.x0, grid.y0, grid.x0 + grid.nx * grid.cell / 2, grid.y0 + grid.ny * 100)
    image = density_image.density_image(values, grid, mask=half)
    rgba = np.array(Image.open(io.BytesIO(base64.b64decode(image.url.split(",", 1)[1]))))
    h, w = rgba.shape[:2]
    assert rgba[h // 2, w // 4, 3] > 0 and rgba[h // 2, 3 * w // 4, 3] == 0
    with pytest.raises(ParameterError, match="does not match"):
        density_image.density_image(values[:-1], grid)


def test_hotspot_features_have_popups_and_top_ranks_labelled(warwick):
    feats = maps.hotspot_features(_hotspots(warwick), label_top=1)["features"]
    polys = [f for f in feats if f["geometry"]["type"] != "Point"]
    labels = [f for f in feats if f["geometry"]["type"] == "Point"]
    assert len(polys) == 2 and len(labels) == 1 and labels[0]["properties"]["label"] == "1"
    assert all("popup" in f["properties"] for f in polys)
    lon, lat = to_wgs84(np.array([warwick[0]]), np.array([warwick[1]]))
    ring = np.array(polys[0]["geometry"]["coordinates"][0])
    assert ring[:, 0].min() < lon[0] < ring[:, 0].max()
    assert ring[:, 1].min() < lat[0] < ring[:, 1].max()


# ------------------------------------------------------------------------------ full data


@pytest.fixture(scope="module")
def full_store(shipped_settings):
    return shipped_settings


def test_html_under_3_mb_on_the_full_data(full_store):
    """Worst case the sidebar allows: every month, every crime, the smallest bandwidth, and all
    optional layers."""
    from hotspots.query import available_months
    from hotspots.ui import compute

    months = available_months(settings=full_store)
    params = compute.Params(area="force", start=months[0], end=months[-1],
                            groups=tuple(compute.GROUP_LABELS), bandwidth=100.0, top=0.05,
                            n_areas=0)  # the share of the area: the most polygons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = compute.run_analysis(params, full_store, months)
    page = compute.map_page(analysis, full_store,
                            counts=compute.symbol_layers(params, full_store),
                            show_services=True)
    assert len(analysis.areas) > 500  # many polygons: this is the heavy case
    assert len(page.encode("utf-8")) < 3_000_000
    assert leaflet.remote_references(page) == []
    assert analysis.missing_months == month_range("2024-05", "2024-12")
    assert "(no data for May–Dec 2024)" in _legend_text(page)


def test_area_geometry_fits_the_view(base):
    geom = area_geometry("Rugby", load_settings(env={}))
    (s, w), (n, e) = maps._bounds_latlon(geom)
    lon, lat = to_wgs84(np.array([geom.centroid.x]), np.array([geom.centroid.y]))
    assert s < lat[0] < n and w < lon[0] < e


# ------------------------------------------------------------------------------ corridors


def test_feature_style_keys_must_be_option_names(base, warwick):
    with pytest.raises(ParameterError, match="not a Leaflet option"):
        leaflet.GeoJsonLayer(geojson.collection([]), name="x", feature_style=("color);alert(1",))


def test_corridor_map_legend_dashes_and_escaping(base, warwick):
    lines = corridor_lines.corridor_lines(lixels([("M6", "surveyed", [0, 3, 3, 9]),
                                                  ("A46", "approximate", [1, 1, 0])]))
    markers = corridor_map.junction_markers(junctions(), radius_m=2000, period="Oct–Dec 2025")
    legend = Legend(title=f"Along the SRN, {XSS}", method="m", roads=False,
                    network=lines.classes, junction_key="SRN junction, sized")
    page = leaflet.offline_html(corridor_map.corridor_map(
        base=base, view=box(439000, 264000, 442000, 267000), lines=lines, junctions=markers,
        legend=legend, settings=load_settings(env={})))
    text = _legend_text(page)
    assert "Approximate alignment (drawn dashed)" in text and "hs-sw-dash" in text
    assert "Network density, incidents per km of road" in text
    assert "Motorway" not in text  # the plain road key is replaced by the network key
    assert "hs-mway" not in page  # the base motorway layer is not drawn under the network
    assert f'"dashArray": "{corridor_lines.APPROXIMATE_DASH}"' in page
    assert XSS not in page and "onerror=alert(1)>" not in page
    assert leaflet.remote_references(page) == []


def _layer_data(page: str) -> list[dict]:
    """Every GeoJSON collection embedded in a page."""
    return [json.loads(m.group(1)) for m in
            re.finditer(r"var \w+_data = (\{.*?\});\n", page)]


def test_corridor_map_under_3_mb_on_the_full_data(full_store):
    """Worst case the sidebar allows: every month, every crime, neighbouring forces, the
    smallest bandwidth; a junction name carrying markup is shown as text."""
    from hotspots.query import available_months
    from hotspots.spatial.srn_graph import build_srn_graph
    from hotspots.ui import compute, corridor_compute

    graph = build_srn_graph(full_store)
    months = available_months(settings=full_store)
    cp = corridor_compute.CorridorParams(area="force", start=months[0], end=months[-1],
                                         groups=tuple(compute.GROUP_LABELS), neighbours=True,
                                         bandwidth=200.0)
    sel = cp.crimes_params()
    inc = corridor_compute.corridor_incidents(sel, True, full_store)
    network = corridor_compute.network_density(inc, graph, sel, cp.bandwidth, full_store)
    junctions = corridor_compute.corridor_junctions(inc, graph, sel, cp.radius, months,
                                                    full_store)
    junctions.loc[0, "name"] = XSS
    page = corridor_compute.corridor_map_page(
        cp, network, junctions, corridor_compute.corridor_counts(inc, sel), full_store, months)
    assert len(page.encode("utf-8")) < 3_000_000
    assert leaflet.remote_references(page) == []
    legend = html.unescape(_legend_text(page))
    assert ("Network kernel density (Xie & Yan 2008 simple method), quartic, bandwidth 200 m "
            "along the network, 100 m lixels, incidents within 500 m of the SRN, "
            "Jan 2024–Dec 2025 (no data for May–Dec 2024), all crime; incidents per km of road"
            ) in legend
    assert "Approximate alignment (drawn dashed)" in legend
    roads = next(d for d in _layer_data(page)
                 if d["features"] and "cls" in d["features"][0]["properties"])
    dashed = [f for f in roads["features"] if f["properties"]["approximate"]]
    solid = [f for f in roads["features"] if not f["properties"]["approximate"]]
    assert dashed and solid
    assert all(f["properties"]["style"].get("dashArray") == corridor_lines.APPROXIMATE_DASH
               for f in dashed)
    assert not any("dashArray" in f["properties"]["style"] for f in solid)
    drawn_lixels = (network.lines.surveyed_km + network.lines.approximate_km) * 10  # 100 m
    assert len(roads["features"]) < drawn_lixels / 4  # runs of lixels, not lixels
    assert XSS not in page and "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
