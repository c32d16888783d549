"""The tasking pack's accuracy: a rolling-origin back-test on the months up to the pack's end.

Nothing later than the pack's last month is read, so the statement is what the meeting could
have known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots import wording
from hotspots.jsonvalue import json_value
from hotspots.methods import MAP_COVERAGE
from hotspots.models import evaluate
from hotspots.months import month_range

__all__ = ["accuracy_note", "accuracy_summary", "back_test", "evaluate_pack_methods"]


def _upto(incidents: pd.DataFrame, end: str) -> pd.DataFrame:
    """Nothing after the pack's last month: the folds end with it, and so does the data."""
    return incidents[(incidents["month"].astype(str) <= end).to_numpy(bool)]


def _share_words(share: float) -> str:
    """A share of the area in words: whole per cent, one decimal under 1 % ("0.4%", never
    "0%" for an area that is there)."""
    return f"{share:.1%}" if 0 < share < 0.0095 else f"{share:.0%}"


def evaluate_pack_methods(incidents: pd.DataFrame, *, months_held: Sequence[str], end: str,
                          study_area: BaseGeometry, cell: float, top: float,
                          groups: Sequence[str] | None, types: Sequence[str] | None
                          ) -> evaluate.EvaluationResult:
    """Every default method back-tested on the months up to ``end`` (3-month windows), at the
    usual coverages and the pack's hotspot share; ``auto`` chooses at 5 % as everywhere."""
    held = sorted(m for m in months_held if m <= end)
    return evaluate.evaluate(
        _upto(incidents, end), months=held, study_area=study_area, cell=cell,
        coverages=tuple(sorted(set(evaluate.DEFAULT_COVERAGES) | {float(top)})),
        crimes=evaluate.crime_noun(groups, types))


def back_test(incidents: pd.DataFrame, *, months_held: Sequence[str], end: str,
              study_area: BaseGeometry, cell: float, top: float, surface: Any,
              groups: Sequence[str] | None, types: Sequence[str] | None,
              shown_recipe: tuple[Any, str] | None = None, res: Any = None
              ) -> tuple[str | None, str, dict[str, Any]]:
    """Back-test statement for a pack whose period ends in ``end``: folds up to ``end`` only.

    Returns ``(statement, "", info)``, or ``(None, reason, {})`` when no fold is possible.
    The pack's method is quoted when it is among the methods back-tested (a fixed-bandwidth
    quartic KDE at 200, 300, 500, 750 or 1000 m, or the multi-scale KDE), else ``auto`` (each
    month's method chosen from earlier months only). ``shown_recipe`` = ``(recipe, how)`` of a
    Gi*, emerging or cluster map (:func:`hotspots.methods.area_recipe`): each test month's map
    is made that way and scored on the area it marks. ``surface=None`` without
    ``shown_recipe`` (another method's areas, recipe unknown) quotes ``auto``. ``res``:
    :func:`evaluate_pack_methods` when already run.
    """
    held = sorted(m for m in months_held if m <= end)
    window = evaluate.DEFAULT_TRAIN_MONTHS
    folds, _ = evaluate.plan_folds(held, window) if held else ([], [])
    if not folds:
        upto = wording.period_label(end, end)
        return None, (f"no back-test fold is available up to {upto}: each "
                      f"test month needs the {window} calendar months before it in the store, "
                      f"and up to then the store holds only "
                      f"{wording.missing_months_label(held) if held else 'no month'}"), {}
    data = _upto(incidents, end)
    if res is None:
        res = evaluate_pack_methods(incidents, months_held=months_held, end=end,
                               study_area=study_area, cell=cell, top=top, groups=groups,
                               types=types)
    labels = set(res.summary["label"])
    own = "" if surface is None else wording.bandwidth_label(surface.bandwidths
                                                           or surface.bandwidth)
    if shown_recipe is not None:
        recipe, how = shown_recipe
        mine = evaluate.evaluate(data, months=held, study_area=study_area, cell=cell,
                                 methods=[recipe], fallback=recipe.label,
                                 coverages=(MAP_COVERAGE,), select_coverage=MAP_COVERAGE,
                                 crimes=evaluate.crime_noun(groups, types))
        label, who = recipe.label, how[:1].upper() + how[1:]
        row = mine.row(label, MAP_COVERAGE)
        coverage = float(row["area_share"])
    else:
        if surface is not None and surface.bandwidth_rule in ("fixed", "multi-scale") \
                and surface.kernel == "quartic" and own in labels:
            label, who = own, own
        else:
            label = "auto"
            who = "Auto (each test month's method chosen from earlier test months only)"
        row = res.row(label, top)
        coverage = float(top)
    reading = evaluate.summarise(row["hit_rate"], row["area_share"], None,
                                 crimes=res.params.get("crimes", "crimes"))
    reading = (f"{who} {reading.removeprefix('this map ')}" if reading.startswith("this map ")
               else f"{who}: {reading}")
    figures = [f"PAI {row['pai']:.1f}" if math.isfinite(row["pai"]) else "",
               f"PEI {row['pei']:.2f}" if math.isfinite(row["pei"]) else ""]
    figures = [f for f in figures if f]
    if figures:
        reading += f" ({', '.join(figures)})"
    pick = str(res.default["label"])
    pick_row = res.row(pick, top)
    tested = list(res.default["periods"])
    context = ["rolling origin", f"{window} training months", "next-month test",
               f"{len(tested)} test month{'s' if len(tested) != 1 else ''} "
               f"{wording.missing_months_label(tested)}"]
    if max(months_held) > end:
        context[-1] += (f" (none after {wording.period_label(end, end)}, so no data later than the "
                        "pack's period is used)")
    spans_gap = [f["test"] for f in res.skipped
                 if str(f.get("reason", "")).startswith("training window spans a gap")]
    gaps = [m for m in month_range(held[0], end) if m not in set(held)]
    if spans_gap and gaps:
        context.append(f"{wording.missing_months_label(spans_gap)} skipped as their training "
                       f"windows reach into the {wording.missing_months_label(gaps)} gap")
    # Two PAIs side by side read as one figure given twice: say which is the map's.
    other = ("; it is also the best of the methods back-tested over these months" if pick ==
             label else f". For comparison only (not this map's method): the best of the "
             f"methods back-tested over these months was {pick}, PAI {pick_row['pai']:.1f}")
    statement = (f"Back-test of this map's method ({', '.join(context[:3])}, "
                 f"{'; '.join(context[3:])}): {reading}{other}.")
    info = {"statement": statement, "method": label, "coverage": coverage,
            "scored_on": "the area the map marks" if shown_recipe is not None
            else "the densest share of the area",
            "hit_rate": row["hit_rate"], "pai": row["pai"], "pei": row["pei"],
            "area_share": row["area_share"], "test_months": tested,
            "train_months": window, "auto_choice": pick, "auto_choice_pai": pick_row["pai"],
            "auto_reason": res.default.get("reason"),
            "candidates": [str(m["label"]) for m in res.methods if m.get("label") != "auto"]}
    return statement, "", json_value(info)


def accuracy_note(info: Mapping[str, Any], *, top: float, cell: float,
                  own: tuple[Any, str] | None, shown_name: str | None) -> str:
    """The method note of a computed back-test (``info`` from :func:`back_test`).

    ``own`` is the shown map's ``(recipe, how)`` when the back-test makes its maps the same
    way; ``shown_name`` names another method's areas on the map (None for the density map).
    """
    made_how = (f"its densest {top:.0%} of the area is" if own is None else
                f"the area it marks ({own[1]}) is")
    return (
        "Accuracy: rolling-origin back-test on this "
        f"area and crime selection, {cell:g} m cells as the map: each test "
        f"month's map is fitted on the 3 months before it and {made_how} "
        "compared with the test month's mapped incidents; "
        "a training window never crosses a month the store lacks. Hit rate = share "
        "of the test month's incidents inside; PAI = hit rate / share of the area; "
        "PEI = hits / the most any area of the same size could have held; figures "
        "are means over the test months. Auto choice = the method with the best "
        "mean PAI at the requested area (5%) over those months among the "
        f"{len(info['candidates'])} back-tested: "
        + ", ".join(info["candidates"]) + "."
        + (f" The map shows {shown_name}; " + (
            "this back-test is of the kernel density methods (the dashboard's "
            "Evaluation view and the line under its map back-test the shown "
            "method itself)." if own is None else
            "the back-test makes each test month's map the same way from its own "
            "training months.") if shown_name is not None else ""))


def accuracy_summary(info: Mapping[str, Any]) -> str:
    """The cover's "Back-test" key figure (``info`` from :func:`back_test`)."""
    n_test = len(info["test_months"])
    return (f"{info['method'].replace('auto', 'Auto')}: "
            f"{info['hit_rate']:.0%} of next month's incidents in "
            f"{_share_words(info['area_share'])} of the area (PAI "
            f"{info['pai']:.1f}, mean of {n_test} test "
            f"month{'s' if n_test != 1 else ''})"
            if info.get("hit_rate") is not None
            and info.get("pai") is not None else "see the accuracy section")
