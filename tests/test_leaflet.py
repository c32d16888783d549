"""hotspots.leaflet: which references a page would fetch from another machine."""

from __future__ import annotations

import pytest

from hotspots import leaflet


@pytest.mark.parametrize("snippet, host", [
    ('<script src="https://cdn.example.org/x.js"></script>', "cdn.example.org"),
    ("<link rel='stylesheet' href='//cdn.example.org/x.css'>", "cdn.example.org"),
    ("<style>.a{background:url(https://img.example.org/a.png)}</style>", "img.example.org"),
    ('<style>@import "https://fonts.example.org/f.css";</style>', "fonts.example.org"),
    ('<img src="http://127.0.0.1:8501/a.png"><a href="https://example.org">x</a>', None),
])
def test_remote_references(snippet, host):
    assert leaflet.remote_references(snippet) == ([host] if host else [])
