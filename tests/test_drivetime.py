"""The drive-time model: leaving motorways at junctions, trunk roads anywhere, local graphs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import hand_graph

from hotspots.config import load_settings
from hotspots.errors import ParameterError
from hotspots.spatial.drivetime import drive_times
from hotspots.spatial.road_names import find_junction
from hotspots.spatial.srn_graph import build_srn_graph


@pytest.fixture(scope="module")
def srn(data_dir):
    return build_srn_graph(load_settings(env={}).with_(data_dir=data_dir), cache=False)


# ---------------------------------------------------------------------------- drive times

def test_motorway_is_left_only_at_junctions():
    G = hand_graph([[(0, 0), (10_000, 0)]], names={(0, 0): "M1 J1", (10_000, 0): "M1 J2"})
    v = 40 / 3.6
    dt = drive_times(G, "M1 J1", [10_000, 5_000], [1_000, 100])
    assert dt.method == "network+circuity"
    # beside J2: 10 km at 100 km/h, then 1 km x 1.3 at 40 km/h
    assert dt.seconds[0] == pytest.approx(360 + 1000 * 1.3 / v)
    assert dt.exit_name[0] == "M1 J2"
    # half-way: no exit there, so back from J1 itself
    assert dt.seconds[1] == pytest.approx(math.hypot(5000, 100) * 1.3 / v)
    assert dt.network_s[1] == 0 and dt.exit_name[1] == "M1 J1"


def test_trunk_road_can_be_left_along_its_length():
    G = hand_graph([[(0, 0), (10_000, 0)]], road_class="trunk", ref="A46",
                   names={(0, 0): "A46 / A1", (10_000, 0): "A46 / A2"})
    dt = drive_times(G, "A46 / A1", [5_000], [100], circuity=1.2, local_speed_kph=30)
    assert dt.seconds[0] == pytest.approx(5000 / (80 / 3.6) + 100 * 1.2 / (30 / 3.6))
    assert dt.exit_name[0] == "A46 roadside"


def test_local_graph_routes_the_last_leg():
    G = hand_graph([[(0, 0), (10_000, 0)]], names={(0, 0): "M1 J1", (10_000, 0): "M1 J2"})
    local = hand_graph([[(10_000, 0), (10_000, 2_000)], [(10_000, 2_000), (12_000, 2_000)]],
                       road_class="link", ref="B4000")
    dt = drive_times(G, ["M1 J1"], [12_000], [2_050], local_graph=local)
    assert dt.method == "network+local-graph"
    # 360 s on the M1, 4 km of local road at 50 km/h (its own travel_time), 50 m step at 40
    assert dt.seconds[0] == pytest.approx(360 + 4000 / (50 / 3.6) + 50 / (40 / 3.6))
    assert dt.access_m[0] == pytest.approx(4050)
    assert dt.exit_name[0] == "M1 J2"


def test_drive_times_on_the_shipped_graph(srn):
    j15 = srn.nodes[find_junction(srn, "M40 J15")[0]]
    dt = drive_times(srn, "M6 J2", [j15["x"] + 300, np.nan], [j15["y"], np.nan])
    assert 12 * 60 < dt.seconds[0] < 35 * 60
    assert np.isnan(dt.seconds[1])
    frame = dt.to_frame()
    assert list(frame.columns) == ["seconds", "minutes", "network_s", "access_s", "access_m",
                                   "exit"]


def test_drive_time_parameters_are_checked(srn):
    with pytest.raises(ParameterError, match="circuity"):
        drive_times(srn, "M6 J2", [0], [0], circuity=0.5)
    with pytest.raises(ParameterError, match="no junction named"):
        drive_times(srn, "M99 J1", [0], [0])
    with pytest.raises(ParameterError, match="differ in length"):
        drive_times(srn, "M6 J2", [0, 1], [0])
