"""load_incidents: period, crime selection, area and force filters over the store."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots.errors import NoDataError, ParameterError, StoreError
from hotspots.ingest import ingest
from hotspots.query import available_months, crime_types, load_incidents
from hotspots.schema import INCIDENT_COLUMNS
from hotspots.store import read_store


@pytest.fixture
def store(tmp_path, settings, police_row, write_police_csv):
    """A store with Warwickshire rows in several districts and months plus West Mercia rows."""
    home = [
        police_row("warwick", crime_id="w-jan", month="2025-01", crime_type="Burglary"),
        police_row("leamington", crime_id="l-feb", month="2025-02",
                   crime_type="Vehicle crime"),
        police_row("rugby", crime_id="r-feb", month="2025-02", crime_type="Drugs"),
        police_row("nuneaton", crime_id="n-mar", month="2025-03",
                   crime_type="Violence and sexual offences"),
        police_row("warwick", crime_id="", month="2025-03", crime_type="Anti-social behaviour",
                   location="On or near Market Place"),
        police_row("rugby", crime_id="nowhere", month="2025-02", crime_type="Burglary",
                   lon="", lat=""),
        police_row("near_border", crime_id="edge", month="2025-01", crime_type="Burglary"),
    ]
    mercia = [
        # A neighbour's row inside the county (cross-border recording) and one outside it.
        police_row("stratford", crime_id="m-jan", month="2025-01", crime_type="Burglary",
                   falls_within="West Mercia Police"),
        police_row("redditch", crime_id="m-apr", month="2025-04", crime_type="Robbery",
                   falls_within="West Mercia Police"),
    ]
    ingest(write_police_csv(tmp_path / "home.csv", home), settings.store_dir, settings=settings)
    ingest(write_police_csv(tmp_path / "mercia.csv", mercia), settings.store_dir,
           buffer_m=12_000, settings=settings)
    return settings.store_dir


def _ids(frame) -> list[str]:
    return sorted(i if len(i) < 40 else "asb" for i in frame["incident_id"])


def test_default_is_the_home_force_inside_its_area(store, settings):
    inc = load_incidents(store, settings=settings)
    # "edge" lies 1 km outside the county: ingested (2 km buffer) but outside the force area.
    assert _ids(inc) == ["asb", "l-feb", "n-mar", "nowhere", "r-feb", "w-jan"]
    assert list(inc.columns) == list(INCIDENT_COLUMNS)
    pd.testing.assert_frame_equal(inc, load_incidents(store, area="force", settings=settings))


def test_store_dir_defaults_to_settings(store, settings):
    assert len(load_incidents(settings=settings)) == 6


def test_period_is_inclusive_of_both_months(store, settings):
    assert _ids(load_incidents(store, start="2025-02", end="2025-02", settings=settings)) == \
        ["l-feb", "nowhere", "r-feb"]
    assert _ids(load_incidents(store, start="2025-03", settings=settings)) == ["asb", "n-mar"]
    assert _ids(load_incidents(store, end="2025-01", settings=settings)) == ["w-jan"]
    assert load_incidents(store, start="2030-01", settings=settings).empty


@pytest.mark.parametrize(("start", "end", "match"), [
    ("2025-1", None, "start '2025-1' is not a month"),
    (None, "2025-13", "end '2025-13' is not a month"),
    ("2025-03", "2025-01", "end 2025-01 is before start 2025-03"),
])
def test_malformed_or_reversed_period_is_a_parameter_error(store, settings, start, end, match):
    with pytest.raises(ParameterError, match=match):
        load_incidents(store, start=start, end=end, settings=settings)


def test_groups_select_crime_groups(store, settings):
    assert _ids(load_incidents(store, groups=["acquisitive"], settings=settings)) == \
        ["l-feb", "nowhere", "w-jan"]
    assert _ids(load_incidents(store, groups=["soc", "asb"], settings=settings)) == \
        ["asb", "r-feb"]


def test_unknown_group_lists_the_valid_ones(store, settings):
    with pytest.raises(ParameterError, match="unknown crime group.*'gangs'.*acquisitive, asb"):
        load_incidents(store, groups=["gangs"], settings=settings)


def test_types_match_police_uk_names_in_any_case(store, settings):
    assert _ids(load_incidents(store, types=["Vehicle crime", "Drugs"], settings=settings)) == \
        ["l-feb", "r-feb"]
    assert _ids(load_incidents(store, types=["vehicle CRIME", "drugs"], settings=settings)) == \
        ["l-feb", "r-feb"]
    with pytest.raises(ParameterError, match=r"'vehicle crimes'.*types in the store: "
                                             r"Anti-social behaviour, Burglary"):
        load_incidents(store, types=["vehicle crimes"], settings=settings)
    # A police.uk type the store holds no rows of is a valid, empty selection.
    assert load_incidents(store, types=["Bicycle theft"], settings=settings).empty


def test_groups_and_types_together_must_both_match(store, settings):
    assert _ids(load_incidents(store, groups=["acquisitive"], types=["Burglary", "Drugs"],
                               settings=settings)) == ["nowhere", "w-jan"]


def test_district_area_keeps_only_located_rows_inside_it(store, settings):
    assert _ids(load_incidents(store, area="Warwick", settings=settings)) == \
        ["asb", "l-feb", "w-jan"]
    # Unlocated Rugby row is dropped: it cannot be placed in a district.
    assert _ids(load_incidents(store, area="rugby", settings=settings)) == ["r-feb"]


def test_force_area_keeps_unlocated_rows_and_drops_the_buffer_margin(store, settings):
    ids = _ids(load_incidents(store, area="force", settings=settings))
    assert "nowhere" in ids and "edge" not in ids and len(ids) == 6
    # The margin rows are in the store all the same.
    assert "edge" in set(read_store(store)["incident_id"])


def test_unknown_area_names_the_districts(store, settings):
    with pytest.raises(NoDataError, match="unknown area 'Narnia'.*Rugby"):
        load_incidents(store, area="Narnia", settings=settings)


def test_neighbouring_forces_are_opt_in(store, settings):
    # Asked for alone, a force's "force" area is its own: m-apr (Redditch) lies in West
    # Mercia, m-jan (a West Mercia row in Stratford) does not.
    assert _ids(load_incidents(store, forces=["west-mercia"], settings=settings)) == ["m-apr"]
    # With the configured force's area given, the neighbour's row inside it is found.
    from hotspots.spatial.boundaries import area_geometry

    assert _ids(load_incidents(store, forces=["west-mercia"], settings=settings,
                               geometry=area_geometry(None, settings))) == ["m-jan"]
    both = load_incidents(store, forces="all", start="2025-01", end="2025-01",
                          settings=settings)
    assert _ids(both) == ["m-jan", "w-jan"]
    assert set(both["force"]) == {"warwickshire", "west-mercia"}
    with pytest.raises(ParameterError, match="no incidents of essex.*warwickshire, west-mercia"):
        load_incidents(store, forces=["essex"], settings=settings)


def test_mapped_only_drops_rows_without_location(store, settings):
    inc = load_incidents(store, mapped_only=True, settings=settings)
    assert "nowhere" not in _ids(inc) and inc["has_location"].all() and len(inc) == 5


def test_helpers_list_months_and_types_held(store, settings):
    assert available_months(store, settings=settings) == ["2025-01", "2025-02", "2025-03",
                                                          "2025-04"]
    assert crime_types(store, settings=settings) == [
        "Anti-social behaviour", "Burglary", "Drugs", "Robbery", "Vehicle crime",
        "Violence and sexual offences"]


def test_crime_types_follow_new_ingests(store, settings, tmp_path, police_row,
                                        write_police_csv):
    assert "Shoplifting" not in crime_types(store, settings=settings)
    f = write_police_csv(tmp_path / "more.csv", [police_row(crime_type="Shoplifting")])
    ingest(f, store, settings=settings)
    assert "Shoplifting" in crime_types(store, settings=settings)


def test_missing_store_is_a_store_error(tmp_path, settings):
    with pytest.raises(StoreError, match="hotspots ingest"):
        load_incidents(tmp_path / "nothing", settings=settings)


def test_area_none_keeps_neighbour_rows_outside_the_force_area(shipped_settings):
    from hotspots.query import load_incidents

    kw = dict(forces="all", start="2025-01", end="2025-01", settings=shipped_settings)
    clipped = load_incidents(**kw)
    unclipped = load_incidents(**kw, area="none")
    assert len(unclipped) > len(clipped)
    outside = set(unclipped["force"]) - {"warwickshire"}
    assert outside, "neighbouring forces' near-border rows are returned"
