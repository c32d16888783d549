"""The Selection: validated once, resolves its geometry once, names itself."""

from __future__ import annotations

import pytest

from hotspots.config import load_settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.selection import FORCE_AREA, Selection
from hotspots.spatial.boundaries import area_geometry


@pytest.fixture(scope="module")
def settings():
    return load_settings(env={})


def test_a_selection_names_itself_for_titles(settings):
    sel = Selection.build(settings, start="2025-10", end="2025-12", groups=["acquisitive"],
                          area="rugby")
    assert sel.area == "Rugby"  # spelt as the boundaries spell it, whatever the case typed
    assert sel.title == "Acquisitive crime · Rugby · Oct–Dec 2025"
    whole = sel.with_(area=None, types=["Burglary"], start="2025-12")
    assert whole.area == FORCE_AREA and whole.whole_force
    assert whole.title == "Burglary · Warwickshire · Dec 2025"
    assert whole.area_label == "Warwickshire (force area)"


def test_types_alone_select_the_crimes_when_given(settings):
    sel = Selection.build(settings, start="2025-01", end="2025-03", groups=["soc"],
                          types=["Drugs"])
    assert sel.crime_filter == {"groups": None, "types": ["Drugs"]}
    assert sel.with_(types=()).crime_filter == {"groups": ["soc"], "types": None}


def test_the_geometry_is_resolved_once_and_is_the_districts(settings):
    sel = Selection.build(settings, start="2025-01", end="2025-01", groups=["acquisitive"],
                          area="Warwick")
    assert sel.geometry is sel.geometry
    assert sel.geometry.equals(area_geometry("Warwick", settings))
    assert sel.area_km2 == pytest.approx(area_geometry("Warwick", settings).area / 1e6)


def test_selections_are_values_equal_by_their_fields(settings):
    a = Selection.build(settings, start="2025-01", end="2025-02", groups=["acquisitive"])
    b = Selection.build(settings.with_(marking="OFFICIAL"), start="2025-01", end="2025-02",
                        groups=("acquisitive",))
    assert a == b and hash(a) == hash(b)
    assert a.previous() == a.with_(start="2024-11", end="2024-12")
    assert a.months == ["2025-01", "2025-02"]
    assert a.to_dict() == {"start": "2025-01", "end": "2025-02", "groups": ["acquisitive"],
                           "types": [], "area": "force", "force": "warwickshire",
                           "forces": ["warwickshire"], "region": ""}


@pytest.mark.parametrize("parts, error, fragment", [
    ({"start": "2025-13", "end": "2025-12"}, ParameterError, "2025-13"),
    ({"start": "2025-06", "end": "2025-01"}, ParameterError, "before"),
    ({"start": "2025-01", "end": "2025-02", "groups": ["thefts"]}, ParameterError,
     "unknown crime group"),
    ({"start": "2025-01", "end": "2025-02", "groups": []}, ParameterError, "choose crimes"),
    ({"start": "2025-01", "end": "2025-02", "area": "Atlantis"}, NoDataError,
     "unknown area 'Atlantis'"),
])
def test_a_bad_selection_is_a_one_line_error(settings, parts, error, fragment):
    parts = {"groups": ["acquisitive"], **parts}
    with pytest.raises(error, match=fragment) as info:
        Selection.build(settings, **parts)
    assert "\n" not in str(info.value)
    if error is ParameterError:
        assert isinstance(info.value, ValueError)
