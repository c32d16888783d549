"""Exports on the shipped data: map PNG, the pack built from the store, and reports."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import Point, Polygon

from hotspots.audit import AuditError, read_exports
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.models.areas import hotspot_areas
from hotspots.models.gistar import default_cell
from hotspots.models.kde import kernel_density
from hotspots.models.patrol import PatrolRule
from hotspots.months import missing_months
from hotspots.pack import write_tasking_pack
from hotspots.pack_inputs import build_pack_inputs
from hotspots.query import available_months, load_incidents
from hotspots.report import write_report
from hotspots.selection import Selection
from hotspots.snapshot import (
    ATTRIBUTION,
    SIZES,
    attribution_lines,
    density_colours,
    render_map_png,
    scale_bar_length,
)
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.grid import Grid
from hotspots.wording import format_metres, missing_months_label, period_label

CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Hand-built inputs
# --------------------------------------------------------------------------------------------


def point_in_north_of(geom, share: float = 0.15) -> tuple[float, float]:
    """A point inside ``geom`` within the northern ``share`` of its bounds."""
    xmin, ymin, xmax, ymax = geom.bounds
    y = ymax - share * (ymax - ymin)
    for f in np.linspace(0.1, 0.9, 81):
        x = xmin + f * (xmax - xmin)
        if geom.contains(Point(x, y)):
            return x, y
    raise AssertionError("no point found")


@pytest.fixture(scope="module")
def rugby(data_dir):
    from hotspots.config import load_settings

    settings = load_settings(env={}).with_(data_dir=data_dir)
    return area_geometry("Rugby", settings), settings


@pytest.fixture(scope="module")
def north_cluster(rugby):
    """A dense cluster in the north of Rugby district, a few scattered points elsewhere."""
    geom, settings = rugby
    cx, cy = point_in_north_of(geom)
    rng = np.random.default_rng(7)
    x = np.r_[cx + rng.normal(0, 150, 300), geom.centroid.x + rng.normal(0, 3000, 20)]
    y = np.r_[cy + rng.normal(0, 150, 300), geom.centroid.y + rng.normal(0, 3000, 20)]
    inside = shapely.contains_xy(geom, x, y)
    x, y = x[inside], y[inside]
    incidents = pd.DataFrame({"x": x, "y": y, "has_location": True,
                              "location": ["On or near Market Street"] * len(x)})
    grid = Grid.from_geometry(geom, 100)
    surface = kernel_density(x, y, cell=100, bandwidth=400, grid=grid)
    areas = hotspot_areas(surface, incidents, top=0.02, study_area=geom)
    return surface, areas, (cx, cy)


def png_array(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def dark_pixels(img: np.ndarray) -> int:
    return int((img.max(axis=2) < 90).sum())


# --------------------------------------------------------------------------------------------
# Map snapshot PNG
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["a4", "hd"])
def test_map_png_has_the_exact_pixel_size_and_is_not_blank(rugby, north_cluster, size):
    geom, settings = rugby
    surface, areas, _ = north_cluster
    data = render_map_png(surface, areas, area_geometry=geom, title="Test hotspots",
                          period="Jan–Mar 2025", groups=["acquisitive"],
                          method_text="Kernel density, quartic, 400 m", size=size, area="Rugby",
                          created=CREATED, settings=settings)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = png_array(data)
    w, h, _ = SIZES[size]
    assert img.shape == (h, w, 3)
    assert img.std() > 20
    colours = np.unique(img.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 200
    # The protective marking is printed in the top and bottom bands, centred.
    band = int(0.5 * SIZES[size][2])
    centre = slice(w // 2 - 2 * band, w // 2 + 2 * band)
    assert dark_pixels(img[:band, centre]) > 50
    assert dark_pixels(img[-band:, centre]) > 50


def test_marking_and_method_come_from_the_arguments(rugby, north_cluster):
    geom, settings = rugby
    surface, areas, _ = north_cluster

    def render(marking):
        return render_map_png(surface, areas, area_geometry=geom, title="T", marking=marking,
                              method_text="Method M", size="hd", created=CREATED,
                              settings=settings)

    a, b = render("OFFICIAL"), render("OFFICIAL-SENSITIVE")
    ia, ib = png_array(a), png_array(b)
    band = 75
    assert not np.array_equal(ia[:band], ib[:band])
    assert not np.array_equal(ia[-band:], ib[-band:])
    np.testing.assert_array_equal(ia[band:-band, :1200], ib[band:-band, :1200])
    info = Image.open(io.BytesIO(b)).info
    assert "OFFICIAL-SENSITIVE" in info["Description"] and "Method M" in info["Description"]
    assert info["Creation Time"].startswith("2025-07-01T09:30")


def test_configured_marking_is_the_default(rugby, north_cluster):
    geom, settings = rugby
    surface, _, _ = north_cluster
    custom = settings.with_(marking="SECRET TEST")
    data = render_map_png(surface, area_geometry=geom, title="T", size="hd", created=CREATED,
                          settings=custom)
    assert "SECRET TEST" in Image.open(io.BytesIO(data)).info["Description"]


def test_surface_is_drawn_north_up(rugby, north_cluster):
    """Grid row 0 is the south: the northern cluster must appear in the upper half."""
    geom, settings = rugby
    surface, _, _ = north_cluster
    img = png_array(render_map_png(surface, area_geometry=geom, title="T", size="hd",
                                   created=CREATED, settings=settings)).astype(int)
    left = img[:, : int(img.shape[1] * 0.65)]
    r, g, b = left[..., 0], left[..., 1], left[..., 2]
    purple = (r > 60) & (r < 140) & (g < 80) & (b > 85)
    rows = np.nonzero(purple)[0]
    assert rows.size > 20
    assert rows.mean() < img.shape[0] * 0.45


def test_rendering_leaves_the_surface_and_hotspots_unchanged(rugby, north_cluster):
    geom, settings = rugby
    surface, areas, _ = north_cluster
    before_v, before_a = surface.values.copy(), areas.copy()
    render_map_png(surface, areas, area_geometry=geom, title="T", size="hd", created=CREATED,
                   settings=settings)
    np.testing.assert_array_equal(surface.values, before_v)
    pd.testing.assert_frame_equal(pd.DataFrame(areas.drop(columns="geometry")),
                                  pd.DataFrame(before_a.drop(columns="geometry")))
    assert areas.geometry.equals(before_a.geometry)


def test_map_without_surface_or_hotspots_still_renders_the_basemap(rugby):
    geom, settings = rugby
    sites = pd.DataFrame({"rank": [1, 2], "x": [445000.0, 450000.0], "y": [275000.0, 272000.0]})
    img = png_array(render_map_png(area_geometry=geom, title="Basemap only", size="hd",
                                   sites=sites, created=CREATED, settings=settings))
    assert img.shape == (1080, 1920, 3) and img.std() > 20
    r, g, b = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    vermillion = (r > 190) & (g > 60) & (g < 130) & (b < 50)
    assert vermillion.sum() > 20  # the site triangles


@pytest.mark.parametrize("kwargs, fragment", [
    ({"size": "a3"}, "unknown map size"),
    ({"marking": "   "}, "marking is empty"),
    ({"title": ""}, "needs a title"),
])
def test_bad_map_arguments_raise_one_line_parameter_errors(rugby, kwargs, fragment):
    geom, settings = rugby
    args = {"area_geometry": geom, "title": "T", "settings": settings, **kwargs}
    with pytest.raises(ParameterError, match=fragment) as info:
        render_map_png(**args)
    assert "\n" not in str(info.value)


def test_empty_area_geometry_is_refused(rugby):
    _, settings = rugby
    with pytest.raises(ParameterError, match="area_geometry"):
        render_map_png(area_geometry=Polygon(), title="T", settings=settings)


@pytest.mark.parametrize("width, expected", [(60_000, 10_000), (23_000, 2_000),
                                             (7_000, 1_000), (30_000, 5_000), (900, 100)])
def test_scale_bar_is_a_round_length_near_a_fifth_of_the_width(width, expected):
    assert scale_bar_length(width) == expected


def test_density_colours_fade_from_the_land_colour_to_dark():
    c = density_colours(np.array([0.0, 0.5, 1.0]))
    assert np.allclose(c[0], (251 / 255, 251 / 255, 248 / 255))
    lightness = c.sum(axis=1)
    assert lightness[0] > lightness[1] > lightness[2]


def test_attribution_names_osm_only_when_services_are_shown():
    base = attribution_lines(roads=True, junctions=True)
    assert ATTRIBUTION["osm"] not in base and ATTRIBUTION["police_uk"] in base
    assert ATTRIBUTION["national_highways"] in base
    assert ATTRIBUTION["osm"] in attribution_lines(roads=True, services=True)
    data_readme = (Path(__file__).resolve().parent.parent / "data" / "README.md").read_text()
    assert "Contains public sector information licensed under the Open Government Licence" \
        in data_readme and "Contains OS data © Crown copyright and database right 2024" \
        in ATTRIBUTION["os_roads"]



def pdf_text(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(path).pages]


# --------------------------------------------------------------------------------------------
# Integration on the shipped data
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store_settings(shipped_settings):
    return shipped_settings


def test_previous_period_without_data_gives_no_change_not_a_fall(store_settings):
    # Jan-Mar 2025 follows Oct-Dec 2024, which the shipped data lacks.
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-01", end="2025-03",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED)
    t = inputs.hotspot_table
    assert len(t) > 0
    assert t["previous"].isna().all() and t["change"].isna().all()
    assert (t["change_note"] == "no data for previous period Oct–Dec 2024").all()
    assert inputs.params["previous_period"] == ["2024-10", "2024-12"]
    m = inputs.monthly.set_index("month")
    assert m.loc[[f"2024-{k:02d}" for k in range(5, 13)], "incidents"].isna().all()
    assert m.loc[["2024-04", "2025-01"], "incidents"].notna().all()
    everything = load_incidents(area="Rugby", groups=["acquisitive"], settings=store_settings)
    assert m["incidents"].sum() == len(everything)
    assert inputs.omitted["disruption"]
    assert any("May–Dec 2024" in c for c in inputs.caveats)


def test_previous_counts_match_hotspot_areas_counting_the_earlier_months(store_settings):
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-04", end="2025-06",
                                               groups=["soc"]),
                               created=CREATED, rule=PatrolRule(0))
    prev = load_incidents(start="2025-01", end="2025-03", groups=["soc"], mapped_only=True,
                          settings=store_settings)
    check = hotspot_areas(inputs.surface, prev, top=0.05, study_area=inputs.geometry)
    # Same polygons (they come from the same surface), counted on the previous months.
    key = lambda g: shapely.normalize(g).wkb  # noqa: E731
    expected = {key(g): n for g, n in zip(check.geometry, check["incidents"], strict=True)}
    got = {key(g): n for g, n in zip(inputs.areas.geometry, inputs.areas["previous"],
                                     strict=True)}
    assert got == expected
    assert (inputs.areas["change"] == inputs.areas["incidents"] - inputs.areas["previous"]).all()
    assert inputs.params["change_note"] == ""


def test_pack_inputs_refuse_a_selection_without_mapped_incidents(store_settings):
    with pytest.raises(NoDataError, match="2024-05..2024-12 are missing"):
        build_pack_inputs(Selection.build(store_settings, start="2024-06", end="2024-08",
                                          groups=["acquisitive"]))
    with pytest.raises(ParameterError, match="groups"):
        build_pack_inputs(Selection.build(store_settings, start="2025-01", end="2025-02"))


@pytest.fixture(scope="module")
def report(store_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    out = root / "out"
    log = root / "logs" / "exports.jsonl"
    result = write_report(out,
                          Selection.build(store_settings, start="2025-04", end="2025-06",
                                          area="Warwick", groups=["acquisitive"]),
                          marking="OFFICIAL-SENSITIVE TEST",
                          user="PC 4021",
                          audit_path=log)
    return result, out, log


def test_report_writes_every_file_it_lists(report):
    result, out, _ = report
    names = [f["name"] for f in result["files"]]
    assert names[:5] == ["map.png", "pack.pdf", "hotspots.geojson", "hotspots.gpkg", "sites.csv"]
    for f in result["files"]:
        assert Path(f["path"]).parent == out
        assert f["bytes"] == Path(f["path"]).stat().st_size > 0
    json.dumps(result, default=str)  # the CLI prints it


def test_report_map_is_a4_at_300_dpi(report):
    _, out, _ = report
    with Image.open(out / "map.png") as im:
        assert im.size == (3508, 2480)
        assert "OFFICIAL-SENSITIVE TEST" in im.info["Description"]


def test_report_pack_states_area_period_and_marking_on_every_page(report):
    result, out, _ = report
    pages = pdf_text(out / "pack.pdf")
    assert len(pages) == result["pages"] >= 5
    assert all(p.count("OFFICIAL-SENSITIVE TEST") == 2 for p in pages)
    assert "Warwick" in pages[0] and "Apr–Jun 2025" in pages[0]
    whole = "\n".join(pages)
    assert "Ranked patrol areas" in whole and "Monthly trend" in whole
    assert "Method notes and data caveats" in whole
    assert "Accuracy: how well such maps" in whole and "would have captured" in whole


def test_report_geojson_and_geopackage_hold_the_same_hotspots(report, store_settings):
    result, out, _ = report
    doc = json.loads((out / "hotspots.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == \
        result["parameters"]["hotspots"] > 0
    for feat in doc["features"]:
        xy = np.concatenate([np.asarray(r) for r in feat["geometry"]["coordinates"]]) \
            if feat["geometry"]["type"] == "Polygon" else np.concatenate(
                [np.asarray(r) for poly in feat["geometry"]["coordinates"] for r in poly])
        assert np.all((-1.9 < xy[:, 0]) & (xy[:, 0] < -1.2))
        assert np.all((52.1 < xy[:, 1]) & (xy[:, 1] < 52.5))
    assert doc["metadata"]["area"] == "Warwick"
    # write_report draws the dashboard's auto surface, chosen on folds up to Jun 2025.
    assert doc["metadata"]["surface"]["bandwidth_m"] == doc["metadata"]["auto"]["bandwidth"]
    assert max(doc["metadata"]["auto"]["folds"]) <= "2025-06"
    gpkg = gpd.read_file(out / "hotspots.gpkg", layer="hotspots")
    assert gpkg.crs.to_epsg() == 27700
    assert sorted(gpkg["incidents"]) == sorted(f["properties"]["incidents"]
                                                for f in doc["features"])
    warwick = area_geometry("Warwick", store_settings)
    assert gpkg.geometry.union_all().within(warwick.buffer(150))
    layers = {n for n, _ in pyogrio.list_layers(out / "hotspots.gpkg")}
    assert {"hotspots", "junctions"} <= layers


def test_report_sites_csv_says_what_it_holds_and_parses(report):
    result, out, _ = report
    first = (out / "sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert first == "# OFFICIAL-SENSITIVE TEST"  # the marking, as a CSV's first row
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig", skiprows=1)
    assert len(sites) > 0 and "rank" in sites.columns
    if result["sites_csv"].startswith("disruption sites"):
        assert {"name", "rationale", "lon", "lat"} <= set(sites.columns)
        assert (sites["rationale"].str.len() > 20).all()
        assert (out / "sites.geojson").is_file()
        assert "sites" in {n for n, _ in pyogrio.list_layers(out / "hotspots.gpkg")}
        assert "Disruption points" in "".join(pdf_text(out / "pack.pdf"))
    else:
        assert result["sites_csv"].startswith("hotspot table")
        assert {"locations", "incidents", "previous", "change"} <= set(sites.columns)
    assert sites["lon"].between(-1.9, -1.2).all() and sites["lat"].between(52.1, 52.5).all()


def test_report_records_one_audit_line_with_user_and_filters(report, store_settings):
    result, out, log = report
    records = read_exports(log, settings=store_settings)
    assert len(records) == 1
    rec = records[0]
    assert rec == result["audit"]
    assert rec["user"] == "PC 4021" and rec["what"] == "report"
    assert rec["filters"]["area"] == "Warwick" and rec["filters"]["groups"] == ["acquisitive"]
    assert rec["filters"]["start"] == "2025-04" and rec["filters"]["end"] == "2025-06"
    assert rec["filters"]["marking"] == "OFFICIAL-SENSITIVE TEST"
    assert sorted(f["path"] for f in rec["files"]) == sorted(f["path"] for f in result["files"])
    for f in rec["files"]:
        assert Path(f["path"]).stat().st_size == f["bytes"] and len(f["sha256"]) == 64


def test_report_refuses_to_export_when_the_audit_log_cannot_be_written(store_settings,
                                                                       tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError) as info:
        write_report(tmp_path / "out",
                     Selection.build(store_settings, start="2025-01", end="2025-03",
                                     groups=["soc"]),
                     audit_path=blocker / "exports.jsonl")
    assert isinstance(info.value, HotspotsError) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_without_the_disruption_model_sites_csv_holds_the_hotspot_table(store_settings,
                                                                         tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "hotspots.models.disruption", None)  # import fails
    result = write_report(tmp_path / "out",
                          Selection.build(store_settings, start="2025-04", end="2025-06",
                                          area="Rugby", groups=["soc"]),
                          audit_path=tmp_path / "a.jsonl")
    assert result["sites_csv"].startswith("hotspot table, not disruption sites")
    assert "not installed" in result["omitted"]["disruption"]
    sites = pd.read_csv(tmp_path / "out" / "sites.csv", encoding="utf-8-sig", skiprows=1)
    assert {"rank", "locations", "incidents", "previous", "change"} <= set(sites.columns)
    assert len(sites) == result["parameters"]["hotspots"]
    assert not (tmp_path / "out" / "sites.geojson").exists()
    assert len(read_exports(tmp_path / "a.jsonl", settings=store_settings)) == 1


def test_report_errors_are_one_line_hotspots_errors(store_settings, tmp_path):
    with pytest.raises(HotspotsError) as info:
        write_report(tmp_path / "out",
                     Selection.build(store_settings, start="2025-01", end="2025-03",
                                     area="Atlantis", groups=["soc"]),
                     audit_path=tmp_path / "a.jsonl")
    assert "\n" not in str(info.value) and "Atlantis" in str(info.value)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# Back-test accuracy and emerging hot spot classes in the pack
# --------------------------------------------------------------------------------------------

HOT_PATTERNS = {"new hot spot", "consecutive hot spot", "intensifying hot spot",
                "persistent hot spot", "diminishing hot spot", "sporadic hot spot",
                "oscillating hot spot", "historical hot spot"}


@pytest.fixture(scope="module")
def autumn_pack(store_settings, tmp_path_factory):
    """Acquisitive crime, force area, Oct-Dec 2025: the pack as `hotspots report` builds it."""
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               groups=["acquisitive"]),
                               created=CREATED, bandwidth=500.0)
    path = tmp_path_factory.mktemp("autumn") / "pack.pdf"
    info = write_tasking_pack(path, settings=store_settings, **inputs.pack_kwargs())
    return inputs, info, pdf_text(path)


def test_pack_states_the_back_test_of_its_own_kde(autumn_pack, store_settings):
    from hotspots.models.evaluate import evaluate_store

    inputs, info, pages = autumn_pack
    assert "accuracy" in info["sections"] and "accuracy" not in info["omitted"]
    page = next(p for p in pages if "Accuracy: how well" in p and "would have" in p)
    flat = " ".join(page.split())
    assert "KDE 500 m would have captured" in flat and "PAI" in flat and "PEI" in flat
    # The store ends in Dec 2025, so the folds are evaluate_store's own: same figures.
    res = evaluate_store(store_settings.store_dir, groups=["acquisitive"],
                         settings=store_settings)
    tested = res.default["periods"]
    assert f"{len(tested)} test months {missing_months_label(tested)}" in flat
    held = available_months(settings=store_settings)
    gap = missing_months(held[0], held[-1], held)
    spans = sorted(s["test"] for s in res.skipped if "spans a gap" in s["reason"])
    assert f"{missing_months_label(spans)} skipped" in flat
    assert f"{missing_months_label(gap)} gap" in flat
    assert ("it is also the best of the methods" in flat
            or "For comparison only (not this map's method): the best" in flat)
    row = res.row("KDE 500 m")
    acc = inputs.params["accuracy"]
    assert acc["method"] == "KDE 500 m" and acc["coverage"] == 0.05
    assert acc["test_months"] == res.default["periods"]
    assert acc["pai"] == pytest.approx(row["pai"]) and acc["pei"] == pytest.approx(row["pei"])
    assert f"PAI {row['pai']:.1f}, PEI {row['pei']:.2f}" in flat
    assert acc["auto_choice"] == res.default["label"]
    assert f"{row['hit_rate']:.0%} of next month's acquisitive crimes" in flat
    json.dumps(inputs.params, allow_nan=False)


def test_pack_of_a_multiscale_map_states_that_surface_and_its_own_back_test(store_settings):
    bws = (300.0, 500.0, 750.0, 1000.0)
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", types=["Vehicle crime"]),
                               bandwidth=bws,
                               created=CREATED)
    acc = inputs.params["accuracy"]
    assert acc["method"] == "KDE multi-scale 300-1000 m"
    assert inputs.params["surface"]["bandwidths_m"] == list(bws)
    assert any("multi-scale: mean of the bandwidths 300, 500, 750 and 1,000 m" in note
               for note in inputs.method_notes)


def test_pack_with_the_auto_bandwidth_draws_and_states_the_dashboards_auto(store_settings):
    from hotspots.methods import auto_choice
    from hotspots.models.evaluate import evaluate_store

    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", types=["Vehicle crime"]),
                               bandwidth="auto",
                               created=CREATED,
                               classes=False)
    res = evaluate_store(store_settings.store_dir, area="Rugby", types=["Vehicle crime"],
                         settings=store_settings)
    choice = auto_choice(res, "2025-12")
    auto = inputs.params["auto"]
    assert auto["label"] == choice.label and auto["folds"] == list(choice.folds)
    surface = inputs.params["surface"]
    drawn = surface.get("bandwidths_m") or surface["bandwidth_m"]
    assert drawn == (list(choice.bandwidth) if isinstance(choice.bandwidth, tuple)
                     else choice.bandwidth)
    assert "(auto: best back-tested PAI at 5% on earlier months)" in inputs.method_notes[0]
    # Its accuracy quotes the surface drawn, which is among the methods back-tested.
    assert inputs.params["accuracy"]["method"] == choice.label


_PATROL = ", up to 10 patrol areas of at most 1 km² each"


@pytest.mark.parametrize("method, label", [("gistar", "Gi* hot cells (400 m, 90%+)" + _PATROL),
                                           ("clusters", "DBSCAN cluster hulls" + _PATROL)])
def test_pack_of_another_method_back_tests_maps_made_the_same_way(store_settings, method,
                                                                  label):
    from hotspots.methods import MAP_COVERAGE, area_recipe
    from hotspots.models.evaluate import evaluate_store

    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", groups=["acquisitive"]),
                               method=method,
                               created=CREATED,
                               classes=False)
    acc = inputs.params["accuracy"]
    assert acc["method"] == label and acc["scored_on"] == "the area the map marks"
    # The dashboard's line under the map scores the same recipe with evaluate_store; the store
    # ends with the pack's period, so the folds and figures are the same.
    recipe, how = area_recipe(method, inputs.areas)
    res = evaluate_store(store_settings.store_dir, area="Rugby", groups=["acquisitive"],
                         methods=[recipe], fallback=recipe.label, coverages=(MAP_COVERAGE,),
                         select_coverage=MAP_COVERAGE, settings=store_settings)
    row = res.row(label, MAP_COVERAGE)
    assert acc["pai"] == pytest.approx(row["pai"])
    assert acc["hit_rate"] == pytest.approx(row["hit_rate"])
    assert acc["coverage"] == pytest.approx(row["area_share"]) and acc["coverage"] < 0.2
    assert inputs.accuracy.startswith("Back-test of this map's method (")
    assert f"{how[:1].upper()}{how[1:]} would have captured" in inputs.accuracy
    assert "best of the methods back-tested" in inputs.accuracy
    assert inputs.params["map_method"] == inputs.title.split(": ", 1)[1]
    note = next(n for n in inputs.method_notes if n.startswith("Accuracy:"))
    assert "the back-test makes each test month's map the same way" in note
    assert "kernel density methods" not in note


def test_pack_with_an_unknown_method_is_a_one_line_error(store_settings):
    with pytest.raises(ParameterError, match="unknown map method 'voronoi'"):
        build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                          groups=["acquisitive"]),
                          method="voronoi")


def test_pack_hotspot_table_has_the_emerging_class_of_each_area(autumn_pack, store_settings):
    from hotspots.models.emerging import PATTERNS, emerging_hotspots
    from hotspots.query import available_months

    inputs, info, pages = autumn_pack
    table = inputs.hotspot_table
    assert "class" in table.columns and set(table["class"]) <= set(PATTERNS)
    assert "classes" not in info["omitted"] and "classes" not in inputs.omitted
    shown = set(table["class"].head(20))
    assert shown & HOT_PATTERNS, shown
    text = " ".join("\n".join(pages).split())
    assert "Class" in text and any(p in text for p in shown & HOT_PATTERNS)
    # Method notes: the emerging analysis' cell size and period span.
    note = next(n for n in inputs.method_notes if n.startswith("Class: Emerging hot spot"))
    held = [m for m in available_months(settings=store_settings) if m <= "2025-12"]
    cell = default_cell(inputs.geometry.bounds)
    assert f"{format_metres(cell)} cells" in note
    assert f"{len(held)} monthly steps ({period_label(held[0], held[-1])}" in note
    assert inputs.params["classes"]["periods"][-1] == "2025-12"
    # Each area's class is a pattern of the emerging cells it overlaps; never "no pattern"
    # when one of them has a pattern.
    upto = load_incidents(groups=["acquisitive"], end="2025-12", settings=store_settings)
    cells = emerging_hotspots(upto, study_area=inputs.geometry,
                              months_held=available_months(settings=store_settings))
    for poly, cls in zip(inputs.areas.geometry, inputs.areas["class"], strict=True):
        over = cells[shapely.area(shapely.intersection(cells.geometry.to_numpy(), poly)) > 0]
        found = set(over["pattern"]) - {"no pattern detected"}
        assert (cls in found) if found else cls == "no pattern detected"


def test_report_back_test_uses_only_folds_up_to_the_pack_end(report):
    result, out, _ = report  # Warwick, Apr-Jun 2025
    acc = result["parameters"]["accuracy"]
    assert acc["test_months"] == ["2024-04", "2025-04", "2025-05", "2025-06"]
    assert "accuracy" in result["sections"] and "accuracy" not in result["omitted"]
    flat = " ".join("\n".join(pdf_text(out / "pack.pdf")).split())
    tested = acc["test_months"]
    assert (f"{len(tested)} test months {missing_months_label(tested)} (none after Jun 2025"
            in flat)
    assert result["parameters"]["classes"]["periods"][-1] == "2025-06"


def test_early_pack_says_no_back_test_fold_is_available(store_settings, tmp_path):
    inputs = build_pack_inputs(Selection.build(store_settings, start="2024-02", end="2024-03",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED)
    assert inputs.accuracy is None and inputs.params["accuracy"] is None
    reason = inputs.omitted["accuracy"]
    assert reason.startswith("no back-test fold is available up to Mar 2024")
    assert "Jan–Mar 2024" in reason
    # Three months are enough for emerging hot spots (with a warning in the notes).
    assert "class" in inputs.hotspot_table.columns and "classes" not in inputs.omitted
    assert inputs.params["classes"]["periods"] == ["2024-01", "2024-02", "2024-03"]
    info = write_tasking_pack(tmp_path / "p.pdf", settings=store_settings,
                              **inputs.pack_kwargs())
    assert "accuracy" not in info["sections"]
    cover = " ".join(pdf_text(tmp_path / "p.pdf")[0].split())
    assert ("Accuracy: how well such maps predicted the next month: no back-test fold is "
            "available up to Mar 2024") in cover


def test_a_tiny_selection_omits_accuracy_and_classes_but_keeps_the_pack(store_settings,
                                                                        tmp_path):
    # Jan-Feb 2024: no fold, and only two monthly steps for emerging hot spots.
    inputs = build_pack_inputs(Selection.build(store_settings, start="2024-02", end="2024-02",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED)
    assert "no back-test fold" in inputs.omitted["accuracy"]
    why = inputs.omitted["classes"]
    assert why.startswith("emerging hot spot classes not computed: only 2 time step")
    assert "\n" not in why and "class" not in inputs.hotspot_table.columns
    info = write_tasking_pack(tmp_path / "p.pdf", settings=store_settings,
                              **inputs.pack_kwargs())
    assert info["omitted"]["classes"] == why
    text = " ".join("\n".join(pdf_text(tmp_path / "p.pdf")).split())
    assert f"Hotspot class (emerging hot spot pattern): {why}" in text
    assert f"Class not shown: {why}" in text


def test_errors_in_the_back_test_do_not_stop_the_pack(store_settings, monkeypatch):
    import hotspots.models.evaluate as evaluate_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(evaluate_module, "evaluate", broken)
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED, bandwidth=500.0)
    assert inputs.accuracy is None
    assert inputs.omitted["accuracy"] == "back-test not computed: RuntimeError: boom"
    assert "class" in inputs.hotspot_table.columns


def test_explicit_accuracy_and_classes_override_the_computed_ones(store_settings, tmp_path):
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED,
                               accuracy="Hit rate 61% in the force's own test (supplied).",
                               classes={1: "persistent hot spot", 2: "new hot spot"})
    assert inputs.accuracy == "Hit rate 61% in the force's own test (supplied)."
    assert inputs.params["accuracy"] == {"source": "supplied"}
    assert inputs.hotspot_table["class"].head(2).tolist() == ["persistent hot spot",
                                                              "new hot spot"]
    assert (inputs.hotspot_table["class"].iloc[2:] == "").all()
    assert not any(n.startswith("Class: Emerging") for n in inputs.method_notes)
    info = write_tasking_pack(tmp_path / "p.pdf", settings=store_settings,
                              **inputs.pack_kwargs())
    assert "accuracy" in info["sections"] and "classes" not in info["omitted"]
    text = " ".join("\n".join(pdf_text(tmp_path / "p.pdf")).split())
    assert "Hit rate 61% in the force's own test (supplied)." in text
    assert "would have captured" not in text
    assert "Class: as supplied with the hotspot table." in text


def test_accuracy_and_classes_false_are_left_out_with_a_reason(store_settings, tmp_path):
    inputs = build_pack_inputs(Selection.build(store_settings, start="2025-10", end="2025-12",
                                               area="Rugby", groups=["acquisitive"]),
                               created=CREATED,
                               accuracy=False,
                               classes=False)
    assert inputs.accuracy is None and "class" not in inputs.hotspot_table.columns
    assert inputs.omitted["accuracy"] == "not asked for (accuracy=False)"
    assert inputs.omitted["classes"] == "not asked for (classes=False)"
    assert inputs.params["accuracy"] is None and inputs.params["classes"] is None
    info = write_tasking_pack(tmp_path / "p.pdf", settings=store_settings,
                              **inputs.pack_kwargs())
    assert info["omitted"]["accuracy"] == "not asked for (accuracy=False)"
    assert info["omitted"]["classes"] == "not asked for (classes=False)"
    cover = " ".join(pdf_text(tmp_path / "p.pdf")[0].split())
    assert ("Accuracy: how well such maps predicted the next month: not asked for "
            "(accuracy=False)") in cover
    assert "Hotspot class (emerging hot spot pattern): not asked for (classes=False)" in cover


@pytest.fixture(scope="module")
def rugby_report(store_settings, tmp_path_factory):
    """The Rugby report for acquisitive crime, Oct-Dec 2025, with five disruption sites."""
    root = tmp_path_factory.mktemp("rugby")
    result = write_report(root / "out", Selection.build(store_settings, start="2025-10",
                                                        end="2025-12", area="Rugby",
                                                        groups=["acquisitive"]),
                          user="PC 4021", audit_path=root / "logs" / "exports.jsonl")
    return result, root / "out"


def test_rugby_pack_is_a_problem_profile_of_8_to_12_pages(rugby_report):
    result, out = rugby_report
    pages = pdf_text(out / "pack.pdf")
    assert 8 <= len(pages) <= 12
    whole = " ".join("\n".join(pages).split())
    for heading in ("Summary of key findings", "Terms of reference", "Ranked patrol areas",
                    "Tasking review", "Pursue", "Prevent", "Protect", "Prepare",
                    "Intelligence and data gaps", "Review by", "Author", "Owner"):
        assert heading in whole, heading
    assert "hotspots." not in whole.lower()  # no code names
    for n, text in enumerate(pages, start=1):
        assert text.count("OFFICIAL-SENSITIVE") == 2, f"page {n}: one marking top and bottom"


def test_a_site_from_the_osm_services_layer_is_attributed_everywhere(rugby_report):
    _, out = rugby_report
    sites = pd.read_csv(out / "sites.csv", comment="#", encoding="utf-8-sig")
    services = sites[sites["type"] == "services"]
    # Services come from the OpenStreetMap layer or from National Highways' HAPMS
    # descriptions: each is credited to its own source; the OSM ones are those the shipped
    # OSM services layer names.
    assert services["attribution"].str.contains("OpenStreetMap|National Highways").all()
    osm_names = set(gpd.read_parquet(Path(__file__).resolve().parent.parent / "data" /
                                     "roads" / "osm_services.parquet")["name"].astype(str))
    from_osm = services[services["name"].isin(osm_names)]
    if from_osm.empty:
        pytest.skip("no site from the OpenStreetMap services layer chosen for this selection")
    assert from_osm["attribution"].str.contains("OpenStreetMap").all()
    geo = json.loads((out / "sites.geojson").read_text())
    props = [f["properties"] for f in geo["features"]
             if f["properties"]["type"] == "services" and f["properties"]["name"] in osm_names]
    assert props and all("OpenStreetMap" in p["attribution"] for p in props)
    whole = " ".join("\n".join(pdf_text(out / "pack.pdf")).split())
    assert "Services from OpenStreetMap: © OpenStreetMap contributors" in whole
