"""The map methods shared by the dashboard and ``hotspots report`` (hotspots.methods)."""

from __future__ import annotations

import pytest

from hotspots import methods as mm
from hotspots import registry
from hotspots.errors import ParameterError
from hotspots.models.evaluate import evaluate_store
from hotspots.models.patrol import PatrolRule
from hotspots.query import available_months, load_incidents
from hotspots.selection import Selection
from hotspots.spatial.boundaries import area_geometry


@pytest.fixture(scope="module")
def shipped(store, shipped_settings):
    settings = shipped_settings
    inc = load_incidents(store, start="2025-10", end="2025-12", area="Rugby",
                         groups=["acquisitive"], settings=settings)
    return (settings, inc, area_geometry("Rugby", settings),
            available_months(store, settings=settings))


@pytest.mark.parametrize("bad, fragment", [
    (mm.MapMethod("heatmap"), "unknown map method 'heatmap'"),
    (mm.MapMethod("gistar", correction="holm"), "unknown correction 'holm'"),
    (mm.MapMethod("clusters", cluster_method="kmeans"), "unknown clustering 'kmeans'"),
])
def test_unknown_methods_and_options_are_one_line_errors(bad, fragment):
    with pytest.raises(ParameterError, match=fragment) as err:
        registry.check(bad)
    assert "\n" not in str(err.value)


def test_the_kde_map_has_no_model_result(shipped):
    settings, inc, geom, months = shipped
    with pytest.raises(ParameterError, match="density surface"):
        mm.model_result(mm.MapMethod("kde"), inc, study_area=geom, months_held=months)


@pytest.mark.parametrize("method", [mm.MapMethod("gistar", correction="bonferroni"),
                                    mm.MapMethod("emerging", correction="none"),
                                    mm.MapMethod("clusters", cluster_method="hdbscan")])
def test_area_recipe_makes_each_month_as_the_shown_map_was_made(shipped, method):
    settings, inc, geom, months = shipped
    result = mm.model_result(method, inc, study_area=geom, months_held=months)
    shown = mm.model_areas(method, result, inc, start="2025-10", end="2025-12",
                           crimes="acquisitive crime", study_area=geom, months_held=months,
                           rule=PatrolRule(0))
    # Told only the method's name, the recipe reads every option back from the areas.
    recipe, how = mm.area_recipe(method.name, shown.areas)
    model = result.attrs["params"]
    if method.name == "gistar":
        assert recipe.params == {"cell": model["cell_m"], "distance": model["distance_m"],
                                 "correction": "bonferroni"}
        assert how == (f"Gi* hot cells at 90% or more ({model['cell_m']:,.0f} m cells, "
                       "Bonferroni correction)")
    elif method.name == "emerging":
        assert recipe.params == {"cell": model["cell_m"], "correction": "none"}
    else:
        assert recipe.params == {"method": "hdbscan"} and how.startswith("HDBSCAN")
    assert shown.name == registry.get(method.name).area_name
    assert shown.statement.startswith(mm.model_statement(
        method, result, start="2025-10", end="2025-12", crimes="acquisitive crime").rstrip("."))


@pytest.mark.parametrize("name", ["gistar", "emerging", "clusters"])
def test_patrol_areas_back_test_as_patrol_areas_of_the_same_map(shipped, name):
    settings, inc, geom, months = shipped
    method = mm.MapMethod(name)
    result = mm.model_result(method, inc, study_area=geom, months_held=months)
    shown = mm.model_areas(method, result, inc, start="2025-10", end="2025-12",
                           crimes="acquisitive crime", study_area=geom, months_held=months,
                           rule=PatrolRule(4, 0.5))
    assert 0 < len(shown.areas) <= 4 and (shown.areas["area_km2"] <= 0.5 + 1e-9).all()
    recipe, how = mm.area_recipe(name, shown.areas)
    assert recipe.name == "patrol"
    assert recipe.params["n_areas"] == 4 and recipe.params["max_area_km2"] == 0.5
    assert how.endswith("up to 4 patrol areas of at most 0.5 km² each")


def test_resolve_auto_is_the_dashboards_auto_for_the_period(store, shipped_settings):
    settings = shipped_settings
    res = evaluate_store(store, types=["Vehicle crime"], settings=settings)
    for end in ("2025-06", "2025-12"):
        choice = mm.resolve_auto(Selection.build(settings, start=end, end=end,
                                                 types=["Vehicle crime"]), store)
        assert choice == mm.auto_choice(res, end)
        assert max(choice.folds) <= end
    # On the shipped data the CLI's auto (every method) picks a KDE surface: the same one,
    # drawn with the bandwidth(s) the back-tested method was scored with.
    assert res.default["method"] in {"kde", "kde_multiscale"}, res.default
    assert choice.label == res.default["label"]
    params = res.default["params"]
    scored = (tuple(float(b) for b in params["bandwidths"]) if "bandwidths" in params
              else float(params["bandwidth"]))
    assert choice.bandwidth == scored
    described = mm.describe_auto(choice)
    assert described["bandwidth"] == (list(scored) if isinstance(scored, tuple) else scored)
    assert described["folds"] == list(choice.folds)


def test_resolve_auto_falls_back_to_500_m_saying_why_when_it_cannot_back_test(
        shipped_settings):
    settings = shipped_settings
    # A month before any fold: no earlier test month to learn from.
    choice = mm.resolve_auto(Selection.build(settings, start="2024-03", end="2024-03",
                                             groups=["acquisitive"]))
    assert choice.bandwidth == mm.FALLBACK_BANDWIDTH and choice.folds == ()
    assert "fallback" in choice.rule
    # A crime type with no incidents at all cannot be back-tested: fallback with the reason.
    none = mm.resolve_auto(Selection.build(settings, start="2025-12", end="2025-12",
                                           types=["No such crime"]))
    assert none.bandwidth == mm.FALLBACK_BANDWIDTH and none.reason
    with pytest.raises(ParameterError, match="choose crimes"):
        mm.resolve_auto(Selection.build(settings, start="2025-12", end="2025-12",
                                        require_crimes=False))
