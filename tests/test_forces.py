"""Any force of England and Wales: the registry, ingest against each row's own force area,
``hotspots forces`` and analyses of a non-default force or a region, on small fixtures cut
from the Essex and West Mercia police.uk files."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from support import REPO

from hotspots import cli, forces
from hotspots.errors import ParameterError
from hotspots.ingest import ingest, read_incidents
from hotspots.selection import Selection
from hotspots.spatial.boundaries import district_names, force_area
from hotspots.spatial.crs import to_bng

FIXTURES = REPO / "tests" / "fixtures" / "police_uk"
NATIONAL = REPO / "data" / "boundaries" / "national"


def _fixture(force: str) -> list:
    return sorted(FIXTURES.glob(f"*-{force}-street.csv"))


def _outside_count(files, code: str, buffer_m: float) -> tuple[int, int]:
    """(rows, located rows further than buffer_m outside the force's polygon), counted with
    pandas and shapely straight from the files and the national force areas."""
    area = gpd.read_parquet(NATIONAL / "forces.parquet").set_index("code").geometry[code]
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files])
    lon = pd.to_numeric(raw["Longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(raw["Latitude"], errors="coerce").to_numpy()
    located = np.isfinite(lon) & np.isfinite(lat)
    x, y = to_bng(lon[located], lat[located])
    far = shapely.distance(area, shapely.points(x, y)) > buffer_m
    return len(raw), int(far.sum())


# --- the registry ----------------------------------------------------------------------------


def test_registry_holds_the_43_forces_each_in_one_region(settings):
    reg = forces.registry(settings)
    assert len(reg) == 43
    assert len({f.ons_code for f in reg.values()}) == 43
    members = [s for slugs in forces.regions(settings).values() for s in slugs]
    assert sorted(members) == sorted(reg)  # every force in exactly one ROCU region
    assert all(f.districts for f in reg.values())


@pytest.mark.parametrize(("text", "slug"), [
    ("Devon & Cornwall Police", "devon-and-cornwall"),
    ("devon-and-cornwall", "devon-and-cornwall"),
    ("Metropolitan Police Service", "metropolitan"),
    ("Metropolitan Police", "metropolitan"),
    ("London, City of", "city-of-london"),
    ("City of London Police", "city-of-london"),
    ("Avon and Somerset Constabulary", "avon-and-somerset"),
    ("Dyfed-Powys Police", "dyfed-powys"),
    ("E23000017", "warwickshire"),
    ("WEST MERCIA POLICE", "west-mercia"),
    ("British Transport Police", "btp"),
    ("Police Service of Northern Ireland", "northern-ireland"),
    ("Police Scotland", None),
])
def test_forces_are_found_by_any_name_police_uk_or_the_ons_uses(text, slug):
    assert forces.lookup_slug(text) == slug


def test_forces_without_an_area_or_unknown_are_parameter_errors():
    with pytest.raises(ParameterError, match="British Transport Police has no police force"):
        forces.force_info("btp")
    with pytest.raises(ParameterError, match="unknown force 'Narnia'"):
        forces.force_info("Narnia")


def test_neighbours_of_warwickshire_are_the_forces_on_its_border(settings):
    got = forces.get_force("warwickshire", settings).neighbours
    assert got == ("gloucestershire", "leicestershire", "northamptonshire", "staffordshire",
                   "thames-valley", "west-mercia", "west-midlands")
    # Neighbours are symmetric, and a force far away is not one.
    reg = forces.registry(settings)
    assert all("warwickshire" in reg[n].neighbours for n in got)
    assert "essex" not in got


def test_neighbours_follow_the_polygons_distance(settings):
    # An independent check on the shipped polygons: Essex and Kent face each other across
    # the Thames estuary (no shared land border at 50 m), Essex and Suffolk touch.
    area = gpd.read_parquet(NATIONAL / "forces.parquet").set_index("code").geometry
    essex = forces.get_force("essex", settings)
    for slug in ("suffolk", "kent", "hertfordshire"):
        near = area[essex.ons_code].distance(area[forces.INFO[slug].ons_code]) <= 50
        assert (slug in essex.neighbours) == near


def test_districts_come_from_the_force_and_area_names_its_districts(settings):
    essex = forces.get_force("essex", settings)
    assert "Colchester" in essex.districts and "Rugby" not in essex.districts
    assert district_names(settings, ["essex"]) == list(essex.districts)
    # The configured force keeps its detailed shipped districts.
    assert district_names(settings) == sorted(forces.get_force("warwickshire",
                                                               settings).districts)


def test_regions_from_settings_sit_beside_the_rocu_regions(settings):
    mine = settings.with_(regions={"mine": ("Essex Police", "west-mercia")})
    assert forces.region_forces("mine", mine) == ("essex", "west-mercia")
    assert forces.region_forces("West Midlands", mine) == (
        "staffordshire", "warwickshire", "west-mercia", "west-midlands")
    assert forces.region_forces("eastern", mine)[:3] == ("bedfordshire", "cambridgeshire",
                                                         "essex")
    with pytest.raises(ParameterError, match="unknown region"):
        forces.region_forces("atlantis", mine)
    with pytest.raises(ParameterError, match="unknown force"):
        forces.regions(settings.with_(regions={"bad": ("narnia",)}))


def test_default_force_is_the_configured_one_or_the_stores_only_force(settings):
    assert forces.default_force(settings, []) == settings.force
    assert forces.default_force(settings, ["essex"]) == "essex"
    assert forces.default_force(settings, ["essex", "west-mercia"]) == settings.force
    assert forces.default_force(settings, [settings.force, "essex"]) == settings.force


# --- ingest against each row's own force -----------------------------------------------------


@pytest.mark.parametrize(("force", "code"), [("essex", "E23000028"),
                                             ("west-mercia", "E23000016")])
@pytest.mark.parametrize("buffer_m", [0.0, 2000.0])
def test_ingest_rejects_only_rows_outside_their_own_force_area(settings, force, code,
                                                               buffer_m):
    files = _fixture(force)
    rows, outside = _outside_count(files, code, buffer_m)
    r = read_incidents(files, buffer_m=buffer_m, settings=settings).report
    assert r.rows_read == rows == r.accepted + r.rejected + r.duplicates
    assert r.rejected == outside
    assert r.by_reason == ({"coordinates outside force area": outside} if outside else {})
    assert r.forces == [force]


def test_fixtures_hold_rows_outside_the_area_and_without_location():
    # The tests above can fail only if the fixtures have something to reject.
    assert _outside_count(_fixture("west-mercia"), "E23000016", 2000.0)[1] > 0
    assert _outside_count(_fixture("essex"), "E23000028", 0.0)[1] > 0
    raw = pd.read_csv(_fixture("essex")[0], dtype=str, keep_default_na=False)
    assert (raw["Longitude"] == "").any()


def test_force_comes_from_the_file_name_when_no_column_names_it(tmp_path, settings,
                                                                police_row, write_police_csv):
    # A Redditch row (West Mercia) in a West Mercia file without "Falls within" values.
    f = write_police_csv(tmp_path / "2025-01-west-mercia-street.csv",
                         [police_row("redditch", falls_within=""),
                          police_row("rugby", falls_within="")])
    res = read_incidents(f, settings=settings)
    assert res.incidents["force"].tolist() == ["west-mercia"]
    assert res.report.by_reason == {"coordinates outside force area": 1}


def test_a_row_is_checked_against_the_force_it_names(tmp_path, settings, police_row,
                                                     write_police_csv):
    f = write_police_csv(tmp_path / "mixed.csv", [
        police_row("redditch", falls_within="West Mercia Police"),
        police_row("rugby", falls_within="West Mercia Police"),
        police_row("rugby")])
    res = read_incidents(f, buffer_m=0, settings=settings)
    assert res.incidents["force"].tolist() == ["west-mercia", "warwickshire"]
    assert res.rejects["line"].tolist() == [3]


def test_btp_psni_and_unknown_forces_get_their_own_reasons(tmp_path, settings, police_row,
                                                           write_police_csv):
    f = write_police_csv(tmp_path / "other.csv", [
        police_row("rugby", falls_within="British Transport Police"),
        police_row("rugby", falls_within="British Transport Police", lon="", lat=""),
        police_row("rugby", falls_within="Police Service of Northern Ireland"),
        police_row("rugby", falls_within="Narnia Constabulary"),
        police_row("rugby")])
    r = read_incidents(f, settings=settings).report
    assert r.by_reason == {"force has no area in England and Wales": 3, "unknown force": 1}
    assert r.accepted == 1 and r.rows_read == r.accepted + r.rejected + r.duplicates
    # Without an area check they are kept, under their own slugs.
    kept = read_incidents(f, boundary=None, settings=settings).incidents
    assert kept["force"].tolist() == ["btp", "btp", "northern-ireland", "narnia", "warwickshire"]


def test_force_area_is_the_national_polygon_except_the_detailed_default(settings):
    national = gpd.read_parquet(NATIONAL / "forces.parquet").set_index("code").geometry
    assert force_area("essex", settings).equals(national["E23000028"])
    county = gpd.read_parquet(REPO / "data" / "boundaries" / "county.parquet")
    assert force_area(settings.force, settings).equals(county.geometry.union_all())


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def fixture_store(tmp_path, settings):
    """A store of the Essex and West Mercia fixtures (each row in its own force area)."""
    store = tmp_path / "fixture-store"
    report = ingest(FIXTURES, store, settings=settings)
    assert report.forces == ["essex", "west-mercia"]
    return store


def _run_json(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_forces_command_lists_every_force_with_the_months_held(fixture_store, capsys):
    d = _run_json(capsys, "forces", "--store", str(fixture_store))
    by_slug = {f["slug"]: f for f in d["forces"]}
    assert len(by_slug) == 43
    assert by_slug["essex"]["months"] == ["2025-01", "2025-02"]
    assert by_slug["west-mercia"]["region"] == "west-midlands"
    assert by_slug["warwickshire"]["months"] == []
    assert by_slug["devon-and-cornwall"]["name"] == "Devon & Cornwall Police"
    assert d["regions"]["eastern"]["forces"][:3] == ["bedfordshire", "cambridgeshire", "essex"]
    assert cli.main(["forces", "--store", str(fixture_store)]) == 0
    text = capsys.readouterr().out
    assert "essex" in text and "2025-01..2025-02" in text


def test_kde_on_another_force_uses_its_area_and_districts(fixture_store, capsys, settings):
    d = _run_json(capsys, "kde", "--store", str(fixture_store), "--force", "essex", "--group",
                  "acquisitive", "--from", "2025-01", "--to", "2025-02")
    assert d["forces"] == ["essex"] and d["incidents"] > 0
    sel = Selection.build(settings, start="2025-01", end="2025-02", groups=["acquisitive"],
                          force="essex")
    raw = pd.concat([pd.read_csv(f, dtype=str) for f in _fixture("essex")])
    lon, lat = (pd.to_numeric(raw[c]).to_numpy() for c in ("Longitude", "Latitude"))
    ok = np.isfinite(lon) & raw["Crime type"].map(settings.crime_groups).eq("acquisitive")
    x, y = to_bng(lon[ok], lat[ok])
    assert d["incidents"] == int(shapely.contains_xy(sel.geometry, x, y).sum())
    district = _run_json(capsys, "kde", "--store", str(fixture_store), "--force", "essex",
                         "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02",
                         "--area", "colchester")
    assert district["incidents"] < d["incidents"]
    assert cli.main(["kde", "--store", str(fixture_store), "--force", "essex", "--group",
                     "acquisitive", "--from", "2025-01", "--to", "2025-02", "--area",
                     "Rugby"]) == 2
    assert "Colchester" in capsys.readouterr().err


def test_the_stores_only_force_is_the_default(tmp_path, settings, capsys):
    store = tmp_path / "essex-only"
    ingest(_fixture("essex"), store, settings=settings)
    d = _run_json(capsys, "kde", "--store", str(store), "--group", "acquisitive", "--from",
                  "2025-01", "--to", "2025-02")
    assert d["forces"] == ["essex"] and d["incidents"] > 0


def test_a_region_of_two_forces_is_analysed_together(fixture_store, tmp_path, capsys,
                                                     monkeypatch):
    config = tmp_path / "hotspots.toml"
    config.write_text('[regions]\nmine = ["essex", "West Mercia Police"]\n', encoding="utf-8")
    monkeypatch.setenv("HOTSPOTS_CONFIG", str(config))
    args = ["kde", "--store", str(fixture_store), "--group", "acquisitive", "--from",
            "2025-01", "--to", "2025-02"]
    both = _run_json(capsys, *args, "--region", "mine")
    one = [_run_json(capsys, *args, "--force", f)["incidents"] for f in ("essex",
                                                                           "west-mercia")]
    assert (both["forces"], both["region"]) == (["essex", "west-mercia"], "mine")
    assert both["incidents"] == sum(one)
    # A district of either force is an area of the region.
    assert _run_json(capsys, *args, "--region", "mine", "--area", "Worcester")["incidents"] > 0
    assert cli.main([*args, "--region", "atlantis"]) == 2
    assert "unknown region" in capsys.readouterr().err
