"""The map-method registry: a method registered in one place reaches every face."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hotspots import cli, registry
from hotspots.errors import ParameterError
from hotspots.method_spec import MapMethod, MethodSpec
from hotspots.models.scoring import Method, count_cells, default_methods
from hotspots.ui import methods as ui_methods

TOY_LABEL = "toy: every training incident in 2 km cells"


def _score_toy(train, grid, window, study_area=None, **_params):
    # Coarse counts spread back onto the back-test grid: a deliberately plain scorer.
    located = train[train["has_location"]]
    counts = count_cells(located["x"].to_numpy(), located["y"].to_numpy(), grid).astype(float)
    k = 20
    ny, nx = counts.shape
    pad = np.zeros((-(-ny // k) * k, -(-nx // k) * k))
    pad[:ny, :nx] = counts
    coarse = pad.reshape(pad.shape[0] // k, k, pad.shape[1] // k, k).sum(axis=(1, 3))
    return np.kron(coarse, np.ones((k, k)))[:ny, :nx]


def _toy_recipe(method, *, bandwidth=None, cell=None, distance=None):
    return Method("toy", TOY_LABEL, _score_toy, {})


TOY = MethodSpec(
    name="toy", label="Toy", area_name="Toy areas", area_legend="Toy area",
    help="A test's method.", recipe=_toy_recipe,
    recipe_words=lambda method, label, *, top, cell=None: f"{label}, top {top:.0%}",
    candidates=lambda: [_toy_recipe(None)])


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.unregister("toy")


def _choices(parser, command: str, option: str) -> list[str]:
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if option in a.option_strings).choices)


def test_the_built_in_methods_are_registered_in_the_switchers_order():
    assert registry.names() == ["kde", "gistar", "emerging", "clusters"]
    assert registry.default().density and not any(s.density for s in registry.specs()[1:])
    # The back-test's default comparison is the registry's candidates plus the baseline.
    assert [m.label for m in registry.backtest_methods()] == \
        [m.label for m in default_methods()]


def test_a_registered_toy_method_reaches_the_cli_the_switcher_and_evaluate(toy, store,
                                                                          capsys, monkeypatch):
    assert "toy" in _choices(cli.build_parser(), "report", "--method")
    assert "toy" in ui_methods.switcher_options()
    assert ui_methods.switcher_label("toy") == "Toy"
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store))
    code = cli.main(["evaluate", "--types", "Burglary", "--store", str(store), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    labels = {r["label"] for r in out["results"]}
    assert TOY_LABEL in labels


def test_without_the_toy_the_faces_list_only_the_built_ins():
    assert "toy" not in _choices(cli.build_parser(), "report", "--method")
    assert "toy" not in ui_methods.switcher_options()


@pytest.mark.parametrize("name", ["kde", "Bad Name", ""])
def test_a_taken_or_malformed_name_is_refused(name):
    spec = MethodSpec(name=name, label="x", area_name="x", area_legend="x",
                      recipe=_toy_recipe, recipe_words=lambda *a, **k: "")
    with pytest.raises(ParameterError):
        registry.register(spec)


def test_an_unknown_method_is_a_one_line_error_listing_the_methods():
    with pytest.raises(ParameterError, match="unknown map method 'heatmap'; choose one of kde"):
        registry.check(MapMethod("heatmap"))
