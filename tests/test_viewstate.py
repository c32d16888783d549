"""The view kept in the URL: exact round trips, and bad values falling back with a note."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs

import pytest

from hotspots import viewstate
from hotspots.viewstate import Choices, Range, ViewState, decode, encode, query_string

MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04", *(f"2025-{m:02d}" for m in range(1, 13)))
CHOICES = Choices(
    months=MONTHS,
    districts=("North Warwickshire", "Nuneaton and Bedworth", "Rugby", "Stratford-on-Avon",
               "Warwick"),
    types=("Bicycle theft", "Burglary", "Theft, other", "Vehicle crime"),
    forces=("warwickshire", "essex"), regions=("west-midlands",),
    views=("hotspots", "corridors", "disruption"),
    options={"map": ("kde", "gistar", "clusters"), "correction": ("fdr_bh", "none")})
DEFAULT_PERIOD = ("2025-10", "2025-12")

#: A view in which every field differs from the default.
FULL = ViewState(view="corridors", area="Nuneaton and Bedworth", start="2024-02", end="2025-03",
                 groups=("soc", "acquisitive"), types=("Theft, other", "Burglary"),
                 method="arcgis", bandwidth=750.0, top=7.5, layers=("counts", "services"),
                 neighbours=True, radius=3250.0, road_bandwidth=1500.0,
                 options=(("map", "gistar"), ("correction", "none")), meeting=True)

#: For each field, a second value (to show that every field reaches the URL).
OTHER = {"view": "disruption", "force": "essex", "region": "west-midlands", "area": "Warwick",
         "start": "2024-01", "end": "2025-12",
         "groups": ("violence",), "types": ("Vehicle crime",), "method": "fixed",
         "bandwidth": 2950.0, "top": 1.0, "layers": ("neighbours",), "neighbours": False,
         "radius": 500.0, "road_bandwidth": 3000.0, "options": (("map", "clusters"),),
         "meeting": False}


def _via_url(state: ViewState) -> ViewState:
    """Encode to a query string, parse it as a browser's URL would be, decode."""
    decoded = decode(parse_qs(query_string(state), keep_blank_values=True), CHOICES)
    assert decoded.notes == ()
    return decoded.state


@pytest.mark.parametrize("state", [
    FULL,
    ViewState(start="2025-10", end="2025-12"),
    dataclasses.replace(FULL, groups=(), types=()),  # nothing chosen is kept as nothing
    dataclasses.replace(FULL, method="auto", bandwidth=None, top=None, radius=None,
                        road_bandwidth=None, options=(), layers=()),
    dataclasses.replace(FULL, area="force", start="2025-12", end="2025-12", top=20.0,
                        bandwidth=100.0, layers=viewstate.LAYERS),
], ids=["every-field", "defaults", "no-crimes", "unset-parameters", "edges"])
def test_round_trip_is_exact(state):
    assert decode(encode(state), CHOICES) == viewstate.Decoded(state, ())
    assert _via_url(state) == state


def test_every_field_reaches_the_url():
    fields = [f.name for f in dataclasses.fields(ViewState)]
    assert sorted(OTHER) == sorted(fields)
    base = encode(FULL)
    for name in fields:
        changed = dataclasses.replace(FULL, **{name: OTHER[name]})
        assert encode(changed) != base, name
        assert _via_url(changed) == changed, name


def test_url_is_readable_and_stable():
    assert query_string(FULL) == (
        "view=corridors&area=Nuneaton+and+Bedworth&from=2024-02&to=2025-03&group=soc"
        "&group=acquisitive&type=Theft%2C+other&type=Burglary&method=arcgis&bandwidth=750"
        "&top=7.5&layer=counts&layer=services&neighbours=1&radius=3250&road_bandwidth=1500"
        "&map=gistar&correction=none&meeting=1")
    assert encode(dataclasses.replace(FULL, groups=()))["group"] == [""]


def test_no_parameters_give_the_defaults():
    decoded = decode({}, CHOICES)
    assert decoded.notes == ()
    assert decoded.state == ViewState(view="hotspots", start=DEFAULT_PERIOD[0],
                                      end=DEFAULT_PERIOD[1])
    # Without a stated default period: the last three months held.
    assert Choices(months=MONTHS).period() == DEFAULT_PERIOD
    assert Choices(months=()).period() == ("", "")


@pytest.mark.parametrize("query, field, expected, note", [
    ({"view": "maps"}, "view", "hotspots", "View “maps” is not one of"),
    ({"view": "Corridors"}, "view", "corridors", None),
    ({"area": "Atlantis"}, "area", "force", "Area “Atlantis”"),
    ({"area": "rugby"}, "area", "Rugby", None),
    ({"from": "2024-06"}, "start", "2025-10", "First month 2024-06 has no data in the store"),
    ({"to": "2025-13"}, "end", "2025-12", "Last month “2025-13” is not a month written YYYY-MM"),
    ({"from": "2025-12", "to": "2025-10"}, "start", "2025-10", "starts (2025-12) after it ends"),
    ({"from": "2025-01"}, "end", "2025-12", None),
    ({"to": "2024-02"}, "start", "2024-02", None),
    ({"to": "2025-11"}, "start", "2025-10", None),
    ({"group": ["acquisitive", "bogus"]}, "groups", ("acquisitive",), "crime group “bogus”"),
    ({"group": "bogus"}, "groups", ("acquisitive",), "crime group “bogus”"),
    ({"group": ""}, "groups", (), None),
    ({"group": "SOC,violence,soc"}, "groups", ("soc", "violence"), None),
    ({"type": ["burglary", "Nope", "Burglary"]}, "types", ("Burglary",), "“Nope” is not in"),
    ({"method": "kde"}, "method", None, "Bandwidth method “kde”"),
    ({"method": "ArcGIS"}, "method", "arcgis", None),
    ({"bandwidth": "510"}, "bandwidth", None, "Bandwidth “510” is not a number from 100 to"),
    ({"bandwidth": "50"}, "bandwidth", None, "Bandwidth “50”"),
    ({"bandwidth": "nan"}, "bandwidth", None, "Bandwidth “nan”"),
    ({"bandwidth": "inf"}, "bandwidth", None, "Bandwidth “inf”"),
    ({"bandwidth": "1e3"}, "bandwidth", 1000.0, None),
    ({"top": "25"}, "top", None, "Hotspot share “25”"),
    ({"top": "2.25"}, "top", None, "Hotspot share “2.25”"),
    ({"radius": "600"}, "radius", None, "Junction radius “600”"),
    ({"road_bandwidth": "x"}, "road_bandwidth", None, "Network density bandwidth “x”"),
    ({"layer": ["counts", "heat"]}, "layers", ("counts",), "Unknown layer “heat”"),
    ({"neighbours": "maybe"}, "neighbours", False, "Neighbours “maybe” is not 1 or 0"),
    ({"meeting": "yes"}, "meeting", True, None),
    ({"meeting": "0"}, "meeting", False, None),
    ({"meeting": "2"}, "meeting", False, "Meeting mode “2” is not 1 or 0"),
    ({"map": "heatmap"}, "options", (), "The map “heatmap” is not one of kde, gistar"),
    ({"map": "GiStar"}, "options", (("map", "gistar"),), None),
    ({"colour": "red"}, "view", "hotspots", "Unknown link parameter “colour” ignored"),
    ({"embed": "true"}, "view", "hotspots", None),
])
def test_bad_values_fall_back_with_a_note(query, field, expected, note):
    decoded = decode(query, CHOICES)
    assert getattr(decoded.state, field) == expected
    if note is None:
        assert decoded.notes == ()
    else:
        assert len(decoded.notes) == 1 and note in decoded.notes[0], decoded.notes


def test_one_bad_value_leaves_the_rest_of_the_link():
    decoded = decode({"area": "Rugby", "from": "2025-07", "to": "2025-09", "group": "soc",
                      "bandwidth": "12345", "top": "7.5"}, CHOICES)
    assert decoded.state == ViewState(area="Rugby", start="2025-07", end="2025-09",
                                      groups=("soc",), top=7.5)
    assert len(decoded.notes) == 1 and "Bandwidth" in decoded.notes[0]


def test_notes_quote_untrusted_input_briefly():
    hostile = "<script>alert(1)</script>" + "x" * 500
    decoded = decode({"area": hostile, hostile: "1"}, CHOICES)
    assert len(decoded.notes) == 2
    for note in decoded.notes:
        assert len(note) < 200  # a quote of at most QUOTE_CHARS characters, then "…"
        assert "…" in note and "x" * 50 not in note


def test_option_names_must_not_clash():
    with pytest.raises(ValueError, match="clashes"):
        decode({}, dataclasses.replace(CHOICES, options={"area": ("a", "b")}))


def test_ranges_accept_only_their_steps():
    r = Range(100, 3000, 50)
    assert r.accepts(100) and r.accepts(3000) and r.accepts(550)
    assert not r.accepts(99.9) and not r.accepts(3050) and not r.accepts(555)
    assert not r.accepts(float("nan")) and not r.accepts(float("inf"))
    assert viewstate.TOP.accepts(7.5) and not viewstate.TOP.accepts(7.25)
    assert r.words() == "100 to 3000 in steps of 50"


def test_flags():
    assert all(viewstate.is_true(v) for v in ("1", "true", "Yes", " on "))
    assert not any(viewstate.is_true(v) for v in (None, "", "0", "off", "2"))
