"""hotspots.base_layers: junction names in every stored form."""

from __future__ import annotations

import numpy as np

from hotspots import base_layers


def test_junction_names_read_from_every_stored_form():
    assert base_layers.names_of("['M6 J2' 'M42 J7']") == ["M6 J2", "M42 J7"]
    assert base_layers.names_of("M42 J7; M6 J4") == ["M42 J7", "M6 J4"]
    assert base_layers.names_of(np.array(["M6 J3"])) == ["M6 J3"]
    assert base_layers.names_of(None) == []
