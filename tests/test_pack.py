"""The tasking pack PDF from hand-built tables."""

from __future__ import annotations

import pandas as pd
import pytest
from support import CREATED, monthly_with_gap, pdf_text, small_png

from hotspots.errors import ParameterError
from hotspots.pack import DATA_CAVEATS, write_tasking_pack

# --------------------------------------------------------------------------------------------
# Monthly chart and the tasking pack
# --------------------------------------------------------------------------------------------


def test_pack_has_every_section_given_and_the_marking_on_every_page(settings, tmp_path):
    hotspots = pd.DataFrame({"rank": [1, 2], "locations": ["On or near Bank Street (9)",
                                                           "On or near Supermarket (4)"],
                             "district": ["Rugby", "Rugby"], "incidents": [40, 18],
                             "previous": pd.array([30, 20], dtype="Int64"),
                             "change": pd.array([10, -2], dtype="Int64"),
                             "share": [0.3, 0.12], "pai": [12.5, 8.0],
                             "area_km2": [0.4, 0.2], "class": ["emerging", "persistent"]})
    junctions = pd.DataFrame({"name": ["M6 J1"], "alias": [""], "roads": ["M6"],
                              "incidents": [12], "previous": [None], "change": [None],
                              "change_pct": [float("nan")],
                              "change_note": ["no data for previous period 2024-10..2024-12"]})
    junctions.attrs["radius_m"] = 2000.0
    disruption = pd.DataFrame({"rank": [1], "name": ["M6 J1"], "type": ["junction"],
                               "rationale": ["Covers 23 acquisitive crimes within 10 minutes"]})
    info = write_tasking_pack(
        tmp_path / "pack.pdf", title="Acquisitive crime hotspots", area="Rugby",
        period="Jan–Mar 2025", crimes="acquisitive crime", marking="OFFICIAL-SENSITIVE",
        created=CREATED, map_png=small_png(), summary={"Incidents": "58"},
        hotspots=hotspots, junctions=junctions, disruption=disruption,
        monthly=monthly_with_gap(), monthly_period=("2025-01", "2025-03"),
        accuracy={"Hit rate": "61%", "PAI (out of sample)": 7.2},
        method_notes=["Kernel density, quartic kernel, bandwidth 500 m"], settings=settings)
    pages = pdf_text(tmp_path / "pack.pdf")
    assert info["pages"] == len(pages) < 8  # short sections share a page
    assert info["sections"] == ["map", "hotspots", "junctions", "disruption", "trend",
                                "accuracy", "notes"] and info["omitted"] == {}
    for n, text in enumerate(pages, start=1):
        assert text.count("OFFICIAL-SENSITIVE") == 2, f"page {n}: not one marking at top and bottom"
        assert f"Page {n} of {len(pages)}" in text
    cover = pages[0]
    for needle in ("Acquisitive crime hotspots", "Rugby", "Jan–Mar 2025", "2025-07-01 09:30 UTC"):
        assert needle in cover
    whole = "\n".join(pages)
    for needle in ("On or near Bank Street (9)", "emerging", "+10", "M6 J1",
                   "Change not computed: no data for previous period 2024-10..2024-12",
                   "Covers 23 acquisitive crimes within 10 minutes", "Hit rate",
                   "No data published for May–Dec 2024", "Kernel density, quartic kernel"):
        assert needle in whole, needle
    for caveat in DATA_CAVEATS:
        assert caveat[:40] in whole.replace("\n", " ")


def test_sections_not_given_are_left_out_with_a_note_never_faked(settings, tmp_path):
    info = write_tasking_pack(tmp_path / "p.pdf", title="Hotspots", area="Warwick",
                              period="Apr–Jun 2025", created=CREATED,
                              omitted={"disruption": "no disruption model in this version"},
                              settings=settings)
    pages = pdf_text(tmp_path / "p.pdf")
    assert info["pages"] == len(pages) == 2  # cover and notes
    assert info["sections"] == ["notes"]
    assert set(info["omitted"]) == {"map", "hotspots", "junctions", "disruption", "trend",
                                    "accuracy"}
    assert "Suggested disruption points: no disruption model in this version" in pages[0]
    assert "Ranked patrol areas: not supplied" in pages[0]
    assert "Monthly incidents" not in "".join(pages)


def test_pack_refuses_disruption_points_without_a_rationale(settings, tmp_path):
    with pytest.raises(ParameterError, match="rationale"):
        write_tasking_pack(tmp_path / "p.pdf", title="T", area="A", period="P",
                           disruption=pd.DataFrame({"rank": [1], "name": ["M6 J1"]}),
                           settings=settings)
    with pytest.raises(ParameterError, match="marking"):
        write_tasking_pack(tmp_path / "p.pdf", title="T", area="A", period="P", marking="",
                           settings=settings)
    assert not (tmp_path / "p.pdf").exists()


def test_a_hotspot_table_without_class_is_reported_as_such(settings, tmp_path):
    hotspots = pd.DataFrame({"rank": [1], "locations": ["On or near Bank Street (9)"],
                             "incidents": [40]})
    info = write_tasking_pack(tmp_path / "a.pdf", title="T", area="A", period="P",
                              hotspots=hotspots, created=CREATED, settings=settings)
    assert info["omitted"]["classes"] == "not supplied"
    assert "hotspots" in info["sections"]
    info = write_tasking_pack(tmp_path / "b.pdf", title="T", area="A", period="P",
                              hotspots=hotspots, created=CREATED,
                              omitted={"classes": "no trend model for this force"},
                              settings=settings)
    assert info["omitted"]["classes"] == "no trend model for this force"
    text = " ".join("\n".join(pdf_text(tmp_path / "b.pdf")).split())
    assert "Class not shown: no trend model for this force." in text
