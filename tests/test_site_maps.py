"""The disruption map: numbered sites, catchments, aggregated demand, legend, escaping, size."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from hotspots import base_layers, leaflet, site_maps, wording
from hotspots.config import load_settings
from hotspots.errors import ParameterError
from hotspots.legend import Legend
from hotspots.models.coverage import build_coverage
from hotspots.models.disruption import choose_sites

X0, Y0 = 430_000.0, 270_000.0  # near Warwick, BNG metres
XSS = "<img src=x onerror=alert(1)>"


def _incidents(xy, ctype="Burglary", harm=1.0) -> pd.DataFrame:
    xy = np.asarray(xy, float).reshape(-1, 2)
    return pd.DataFrame({"x": X0 + xy[:, 0], "y": Y0 + xy[:, 1], "has_location": True,
                         "harm": harm, "crime_group": "acquisitive", "crime_type": ctype,
                         "month": "2025-11"})


@pytest.fixture(scope="module")
def settings(data_dir):
    return load_settings(env={}).with_(data_dir=data_dir)


@pytest.fixture(scope="module")
def base(settings):
    return base_layers.load_base_layers(settings)


@pytest.fixture(scope="module")
def case():
    """Three clusters of incidents 8 km apart, four candidate sites (one named with markup, on
    the biggest cluster), one existing site; 2 km straight-line reach."""
    rng = np.random.default_rng(7)
    clusters = [((0, 0), 40), ((8000, 0), 25), ((0, 8000), 12)]
    parts = [_incidents(np.asarray(c) + rng.normal(0, 300, (n, 2)),
                        ctype=("Burglary" if i else "Vehicle crime"))
             for i, (c, n) in enumerate(clusters)]
    parts.append(pd.DataFrame({"x": [np.nan], "y": [np.nan], "has_location": [False],
                               "harm": [1.0], "crime_group": ["acquisitive"],
                               "crime_type": ["Burglary"], "month": ["2025-11"]}))
    inc = pd.concat(parts, ignore_index=True)
    cands = pd.DataFrame({"name": [XSS, "East lay-by", "North lay-by", "Far lay-by"],
                          "kind": ["user"] * 4,
                          "x": X0 + np.array([0.0, 8000.0, 0.0, 30_000.0]),
                          "y": Y0 + np.array([0.0, 0.0, 8000.0, 30_000.0])})
    existing = pd.DataFrame({"name": ["ANPR camera 7"], "x": [X0 + 8000.0], "y": [Y0 + 8000.0]})
    cov = build_coverage(inc, None, candidates=cands, existing=existing, radius=2000.0,
                         period=("2025-10", "2025-12"), months=["2025-10", "2025-11"])
    plan = choose_sites(cov, 3)
    return cov, plan


def _legend(page: str) -> str:
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "no legend in the map"
    return json.loads(m.group(1))


def _layers(m, label_class: str) -> list[dict]:
    """GeoJSON data of the map's label layers of one class."""
    out = []
    for el in _walk(m):
        if isinstance(el, leaflet.GeoJsonLayer) and el.point == "label" and \
                el.label_class == label_class:
            out.append(el.data)
    return out


def _walk(el):
    yield el
    for child in list(el._children.values()):
        yield from _walk(child)


def _map(case, base, settings, **kw):
    cov, plan = case
    legend = Legend(title=f"Sites for {XSS}", method=wording.disruption_statement(
        plan, cov, start="2025-10", end="2025-12", crimes="acquisitive crime",
        missing=["2025-12"]), marking="OFFICIAL-SENSITIVE", notes=("A note.",))
    return site_maps.disruption_map(base=base, view=box(X0 - 3000, Y0 - 3000, X0 + 3000,
                                                        Y0 + 3000),
                                    coverage=cov, plan=plan, legend=legend,
                                    settings=settings, **kw)


def test_plan_of_the_case_is_what_the_tests_assume(case):
    cov, plan = case
    assert plan.sites["name"].tolist() == [XSS, "East lay-by", "North lay-by"]
    assert plan.existing["name"].tolist() == ["ANPR camera 7"]


def test_sites_are_numbered_by_rank_and_existing_marked(case, base, settings):
    m = _map(case, base, settings)
    (sites,) = _layers(m, "hs-site")
    labels = sorted(f["properties"]["label"] for f in sites["features"])
    assert labels == ["1", "2", "3"]
    # Drawn highest rank last, so rank 1 sits on top where markers overlap.
    assert [f["properties"]["rank"] for f in sites["features"]] == [3, 2, 1]
    first = next(f for f in sites["features"] if f["properties"]["rank"] == 1)
    lon, lat = first["geometry"]["coordinates"]
    assert lon == pytest.approx(float(case[1].sites["lon"].iloc[0]), abs=1e-5)
    assert lat == pytest.approx(float(case[1].sites["lat"].iloc[0]), abs=1e-5)
    (existing,) = _layers(m, "hs-exist")
    assert [f["properties"]["label"] for f in existing["features"]] == ["E"]
    assert "Existing site: ANPR camera 7" in existing["features"][0]["properties"]["popup"]


def test_legend_states_method_reach_demand_period_and_catchment(case, base, settings):
    page = leaflet.offline_html(_map(case, base, settings))
    legend = _legend(page)
    assert ("Maximal covering (MCLP), exact (HiGHS, proven optimal): 3 new sites from 4 "
            "candidates, 1 existing site counted first; reach within 2 km (straight line); "
            "demand harm-weighted, no SOC boost; Oct–Dec 2025 (no data for Dec 2025), "
            "acquisitive crime") in legend
    assert ("Catchment: within 500 m of the incident locations a site reaches "
            "(within 2 km (straight line)), gaps under 1 km filled") in legend
    assert "Within reach of a site: 77 incidents, per 1 km square" in legend
    assert "Out of reach of every site: 0 incidents" in legend
    assert "Suggested site by rank, 1 adds the most (3 shown)" in legend
    assert "Existing site, counted first (1)" in legend
    assert "OFFICIAL-SENSITIVE" in legend and "A note." in legend
    assert legend.startswith("<details") and legend.endswith("</details>")


def test_drive_time_and_greedy_statement(case):
    cov, plan = case
    params = {**cov.params, "reach_mode": "drive_time", "minutes": 10.0, "radius_m": None,
              "circuity": 1.3, "local_speed_kph": 40.0, "weight": "count", "soc_boost": 2.0}
    fake_cov = type(cov)(sites=cov.sites, demand=cov.demand, credit=cov.credit,
                         reach=cov.reach, params=params)
    greedy = type(plan)(sites=plan.sites, existing=plan.existing.iloc[:0], method="greedy",
                        gap=0.0123, summary={**plan.summary, "bound_source": "LP relaxation"})
    text = wording.disruption_statement(greedy, fake_cov, start="2025-10", end="2025-10",
                                        crimes="burglary")
    assert text == ("Maximal covering (MCLP), greedy, gap at most 1.2% against the LP "
                    "relaxation: 3 new sites from 4 candidates; reach within 10 minutes by "
                    "road (SRN at congestion-free class speeds, then straight line × 1.3 at "
                    "40 km/h); demand incident counts, SOC-linked × 2; Oct 2025, burglary")


def test_user_site_name_is_escaped_everywhere(case, base, settings):
    page = leaflet.offline_html(_map(case, base, settings))
    assert XSS not in page
    assert "onerror=alert(1)" in page  # present, as text only: always after an escaped "<"
    for hit in re.finditer(re.escape("img src=x onerror=alert(1)"), page):
        before = page[max(0, hit.start() - 12):hit.start()]
        assert before.endswith(("\\u0026lt;", "&lt;")), before
    popup = site_maps.site_popup_html(case[1].sites.iloc[0].to_dict(), reach="within 2 km",
                                      weight="harm", total=3)
    assert "&lt;img src=x onerror=alert(1)&gt;" in popup and "<img" not in popup
    assert leaflet.remote_references(page) == []


def test_page_size_and_offline(case, base, settings):
    page = leaflet.offline_html(_map(case, base, settings))
    assert len(page.encode("utf-8")) < 3_000_000
    assert leaflet.remote_references(page) == []
    assert "hs-catchment" in page and "hs-site" in page


def test_catchments_cover_the_reached_points(case):
    cov, plan = case
    names = [*plan.existing["name"], *plan.sites["name"]]
    catch = site_maps.site_catchments(cov, names)
    assert catch["name"].tolist() == names
    assert catch.crs.to_epsg() == 27700
    for row, s in zip(catch.itertuples(), names, strict=True):
        r = cov.sites.index[cov.sites["name"] == s][0]
        idx = cov.credit[r].indices
        pts = shapely.points(cov.demand["x"].to_numpy()[idx], cov.demand["y"].to_numpy()[idx])
        if idx.size:  # every reached location lies well inside its catchment
            assert shapely.contains(row.geometry, pts).all()
            assert shapely.distance(row.geometry.boundary, pts).min() > 400
        assert row.points == idx.size
        assert row.incidents == cov.demand["incidents"].to_numpy()[idx].sum()
    # The existing camera reaches nothing: an empty catchment, not an error.
    assert catch.geometry.iloc[0].is_empty and catch["points"].iloc[0] == 0
    with pytest.raises(ParameterError, match="not in the coverage"):
        site_maps.site_catchments(cov, ["No such site"])


def test_demand_is_aggregated_by_square(case):
    cov, plan = case
    names = [*plan.existing["name"], *plan.sites["name"]]
    within, out = site_maps.demand_layers(cov, names)
    assert within.total + out.total == cov.params["mapped_incidents"] == 77
    assert out.total == 0
    assert len(within.points) < within.total  # one symbol per square, not per incident
    assert within.colour == site_maps.COVERED_COLOUR
    only_first = site_maps.demand_layers(cov, names[:2])
    assert only_first[0].total == 40 and only_first[1].total == 37


def test_trunk_roads_from_the_graph(settings):
    from hotspots.ui.corridor_compute import corridor_graph

    lines, labels = site_maps.srn_lines(corridor_graph(settings))
    refs = {f["properties"]["label"] for f in labels["features"]}
    assert {"A46", "A5", "A45"} <= refs
    assert not {"M40", "M42"} & refs  # motorways are the base map's
    # The national (HAPMS) graph: every trunk carriageway is surveyed, drawn solid.
    assert lines["features"] and not any(f["properties"]["approximate"]
                                         for f in lines["features"])
    assert not any("approximate" in f["properties"]["tooltip"] for f in lines["features"])
    assert len(lines["features"]) == len(labels["features"])


def test_derived_trunk_alignments_are_marked_approximate():
    import networkx as nx
    from support import hand_graph

    G = nx.disjoint_union_all([
        hand_graph([[(0, 0), (1000, 0)]], road_class="trunk", ref="A46", source="approximate"),
        hand_graph([[(1000, 0), (2000, 0)]], road_class="trunk", ref="A46"),
        hand_graph([[(0, 0), (0, 1000)]], road_class="motorway", ref="M6")])
    lines, labels = site_maps.srn_lines(G)
    kinds = sorted((f["properties"]["tooltip"], f["properties"]["approximate"])
                   for f in lines["features"])
    assert kinds == [("A46 (trunk road)", False),
                     ("A46 (trunk road, approximate alignment)", True)]
    assert [f["properties"]["label"] for f in labels["features"]] == ["A46"]
