"""hotspots.count_symbols: incidents counted per grid square."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots import count_symbols
from hotspots.errors import ParameterError
from hotspots.spatial.crs import to_wgs84


def test_count_layer_aggregates_per_square():
    x = np.array([440010.0, 440020.0, 440990.0, 441500.0, np.nan])
    y = np.array([265010.0, 265020.0, 265990.0, 265500.0, np.nan])
    layer = count_symbols.count_layer(x, y, name="Acquisitive", cell=1000.0)
    assert layer.total == 4 and layer.max_count == 3 and len(layer.points) == 2
    assert sorted(p[2] for p in layer.points) == [1, 3]
    lon, lat = to_wgs84(np.array([440500.0]), np.array([265500.0]))
    big = next(p for p in layer.points if p[2] == 3)
    assert big[0] == pytest.approx(lat[0], abs=1e-5) and big[1] == pytest.approx(lon[0], abs=1e-5)
    with pytest.raises(ParameterError):
        count_symbols.count_layer(x, y, name="bad", shape="star")
