"""The Evaluation view: how well each hotspot method predicted next month, and near repeats.

Back-test results come from :func:`hotspots.models.evaluate.evaluate_store` (cached once per
store, area and crime selection by :func:`hotspots.ui.common.backtest_methods` and shared with
the Hotspots view's auto bandwidth); capture
curves and the Knox near-repeat tables are cached here the same way. The computations at the
top of the module need no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from hotspots import registry, wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError
from hotspots.methods import auto_choice, months_label
from hotspots.models.evaluate import (
    DEFAULT_CELL,
    DEFAULT_TRAIN_MONTHS,
    EvaluationResult,
    capture_curve,
    plan_folds,
)
from hotspots.models.nearrepeat import KnoxResult
from hotspots.models.scoring import count_cells
from hotspots.schema import mapped_rows
from hotspots.spatial.grid import Grid
from hotspots.ui.common import (
    KEEP,
    backtest_methods,
    md_escape,
    show_error,
    show_header,
    show_sources,
)
from hotspots.ui.compute import Params

#: Crime types of the near-repeat tables (the classic near-repeat crimes).
KNOX_TYPES = ("Burglary", "Vehicle crime")
#: p-value under which a Knox cell is shaded.
KNOX_ALPHA = 0.05
#: Capture curves are drawn up to this share of the area (the range a tasking map uses).
CURVE_MAX = 0.20
CURVE_LEVELS = tuple(np.round(np.linspace(0.0, CURVE_MAX, 81), 6))
#: Okabe-Ito colours and dashes per curve, so lines differ by more than colour.
CURVE_STYLES = (("#0072B2", []), ("#E69F00", [6, 3]), ("#009E73", [2, 2]),
                ("#CC79A7", [8, 3, 2, 3]))
TABLE_COLUMNS = ("Method", "Hit rate", "PAI", "PAI at requested area", "PEI", "RRI",
                 "Area flagged", "Test months")


# ----------------------------------------------------------------------------- pure


def measures_table(result: EvaluationResult, coverage: float) -> pd.DataFrame:
    """Return the back-test means at one coverage, ``auto`` first, as shown.

    Parameters
    ----------
    result : EvaluationResult
    coverage : float
        Share of the area flagged (one of the result's coverages).

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE_COLUMNS`: hit rate and area flagged in per cent, PAI, PAI at the
        requested area, PEI and RRI as numbers (NaN where undefined), the number of test
        months.
    """
    s = result.summary[np.isclose(result.summary["coverage"].astype(float), coverage)]
    if s.empty:
        raise NoDataError(f"no back-test result at {wording.format_share(coverage)} of the area")
    s = pd.concat([s[s["label"] == "auto"], s[s["label"] != "auto"]])
    label = s["label"].map(lambda v: "auto (chosen month by month)" if v == "auto" else v)
    return pd.DataFrame({
        "Method": label.to_numpy(),
        "Hit rate": (s["hit_rate"].astype(float) * 100).to_numpy(),
        "PAI": s["pai"].astype(float).to_numpy(),
        "PAI at requested area": s["pai_requested"].astype(float).to_numpy(),
        "PEI": s["pei"].astype(float).to_numpy(),
        "RRI": s["rri"].astype(float).to_numpy(),
        "Area flagged": (s["area_share"].astype(float) * 100).to_numpy(),
        "Test months": s["n_periods"].astype(int).to_numpy(),
    })


def skipped_lines(result: EvaluationResult) -> list[str]:
    """Say plainly which months were not back-tested and why, one line per reason.

    Returns
    -------
    list of str
        E.g. ``"May–Dec 2024: no police.uk data is held for these months, so there is
        nothing to test against."`` (plain text).
    """
    w = int(result.params.get("train_months", DEFAULT_TRAIN_MONTHS))
    history, missing, gap, gap_months = [], [], [], set()
    for s in result.skipped:
        reason = str(s["reason"])
        if reason.startswith("not enough history"):
            history.append(s["test"])
        elif reason.startswith("test month"):
            missing.append(s["test"])
        else:
            gap.append(s["test"])
            gap_months.update(s.get("missing") or [])
    out = []
    if history:
        out.append(f"{months_label(history)}: fewer than {w} months of data before "
                   "them (the data start there).")
    if missing:
        out.append(f"{months_label(missing)}: no police.uk data is held for these "
                   "months, so there is nothing to test against.")
    if gap:
        out.append(f"{months_label(gap)}: their {w}-month training window would "
                   f"reach into {months_label(sorted(gap_months))}, which has no "
                   "data; a window is never stretched over missing months, and missing "
                   "months are never read as zero crime.")
    return out


def curve_labels(result: EvaluationResult) -> list[str]:
    """The methods drawn on the capture chart: auto, a contrasting KDE, Gi*, last month."""
    default = str(result.default.get("label", ""))
    wide = "KDE 200 m" if default == "KDE 1000 m" else "KDE 1000 m"
    labels = {m.label for m in registry.backtest_methods()}
    return ["auto", *[lab for lab in (wide, "Gi* hot cells", "last month's counts")
                      if lab in labels]]


def capture_curves(incidents: pd.DataFrame, months_held: Sequence[str], study_area: Any, *,
                   labels: Sequence[str], auto: Sequence[dict[str, Any]] = (),
                   train_months: int = DEFAULT_TRAIN_MONTHS,
                   levels: Sequence[float] = CURVE_LEVELS) -> pd.DataFrame:
    """Mean capture curve (share of next month's incidents in the hottest share of the area).

    The folds are the back-test's (:func:`hotspots.models.evaluate.plan_folds`); each method
    scores the 100 m grid from the training window, exactly as in the back-test, and
    :func:`hotspots.models.evaluate.capture_curve` reads the test month's capture at each level.
    ``"auto"`` uses, in each fold, the method the back-test's auto chose for it.

    Parameters
    ----------
    incidents : pandas.DataFrame
        The selection's incidents over every month held (canonical frame).
    months_held : sequence of str
        Months the store holds.
    study_area : shapely geometry
        EPSG:27700.
    labels : sequence of str
        Method labels of :func:`hotspots.registry.backtest_methods`, or ``"auto"``.
    auto : sequence of dict
        ``EvaluationResult.auto`` (each test month's choice), needed for ``"auto"``.
    train_months : int
    levels : sequence of float
        Shares of the area.

    Returns
    -------
    pandas.DataFrame
        ``label, coverage, hit_rate`` (mean over the test months), ``folds``.
    """
    by_label = {m.label: m for m in registry.backtest_methods()}
    chosen = {a["test"]: a["chosen"] for a in auto}
    grid = Grid.from_geometry(study_area, DEFAULT_CELL)
    mask = grid.mask(study_area)
    data = mapped_rows(incidents)
    month = data["month"].astype(str)
    folds, _ = plan_folds(months_held, train_months)
    if not folds:
        raise NoDataError(f"no month has {train_months} complete months before it")
    lv = np.asarray(levels, dtype=float)
    curves: dict[str, list[np.ndarray]] = {lab: [] for lab in labels}
    for fold in folds:
        train = data[month.isin(fold["train"]).to_numpy()]
        test = data[(month == fold["test"]).to_numpy()]
        counts = count_cells(test["x"].to_numpy(float), test["y"].to_numpy(float), grid)
        if counts[mask].sum() == 0:
            continue
        scored: dict[str, np.ndarray] = {}
        for lab in labels:
            name = chosen.get(fold["test"], "") if lab == "auto" else lab
            if name not in by_label:
                continue
            if name not in scored:
                m = by_label[name]
                scored[name] = np.asarray(m.score(train, grid, fold["train"], study_area,
                                                  **m.params), dtype=float)
            curves[lab].append(capture_curve(scored[name], counts, mask, levels=lv)[1])
    rows = []
    for lab in labels:
        if not curves[lab]:
            continue
        mean = np.nanmean(np.vstack(curves[lab]), axis=0)
        rows += [{"label": lab, "coverage": float(c), "hit_rate": float(h),
                  "folds": len(curves[lab])} for c, h in zip(lv, mean, strict=True)]
    return pd.DataFrame(rows, columns=["label", "coverage", "hit_rate", "folds"])


def knox_frame(result: KnoxResult) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The Knox ratio table as shown, its p-values, and the time bands left out.

    Distance bands run down, time bands across. Time bands that hold no pair at all, observed
    or expected (longer than the period allows), are left out and named.

    Returns
    -------
    ratio : pandas.DataFrame
        Ratios as text, two decimals, ``"–"`` where undefined (no pair expected).
    p_value : pandas.DataFrame
        The one-sided p-values, same shape.
    dropped : list of str
        Labels of the time bands left out.
    """
    keep = [(result.observed[c].sum() > 0) or (result.expected[c].sum() > 0)
            for c in result.observed.columns]
    dropped = [str(c) for c, k in zip(result.observed.columns, keep, strict=True) if not k]
    ratio = result.ratio.loc[:, keep].copy()
    p = result.p_value.loc[:, keep].copy()
    for frame in (ratio, p):
        frame.index = pd.Index([str(i) for i in frame.index], name="Distance")
        frame.columns = [str(c) for c in frame.columns]
    text = ratio.map(lambda v: "–" if not np.isfinite(v) else f"{v:.2f}")
    return text, p, dropped


def knox_notes(result: KnoxResult) -> list[str]:
    """What the Knox table rests on and how to read it with police.uk months (plain text)."""
    p = result.params
    out = [f"{int(p.get('used', 0)):,} incidents, {int(p.get('pairs_within_max_distance', 0)):,}"
           f" pairs within {wording.format_metres(float(p.get('max_distance_m', 0)))}; ratio = "
           f"observed pairs / mean of {int(p.get('permutations', 0)):,} permutations of the "
           f"times (seed {p.get('seed')}); shaded: more pairs than chance, one-sided "
           f"p < {KNOX_ALPHA:g} (with thousands of pairs a ratio close to 1 can be "
           "significant yet small)."]
    out += [f"{n[:1].upper()}{n[1:]}" + ("" if str(n).endswith(".") else ".")
            for n in p.get("notes") or []]
    return out


# ----------------------------------------------------------------------------- cached


@st.cache_data(show_spinner="Drawing the capture curves...", max_entries=16)
def _curves(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
            types: tuple[str, ...], labels: tuple[str, ...], _result: EvaluationResult,
            _settings: Settings, forces: tuple[str, ...] = ()) -> pd.DataFrame:
    from hotspots.query import available_months, load_incidents
    from hotspots.spatial.boundaries import area_geometry

    sel = Params(area=area, start="", end="", groups=groups, types=types)
    chosen = list(forces) or [_settings.force]
    geom = area_geometry(area, _settings, forces=chosen)
    inc = load_incidents(_settings.store_dir, area=area, settings=_settings, forces=chosen,
                         geometry=geom, **sel.selection())
    return capture_curves(inc, available_months(_settings.store_dir, settings=_settings,
                                                forces=chosen),
                          geom, labels=labels, auto=_result.auto,
                          train_months=int(_result.params["train_months"]))


@st.cache_data(show_spinner="Running the Knox near-repeat test...", max_entries=32)
def _knox(fingerprint: str, settings_key: str, area: str, start: str, end: str,
          crime_type: str, _settings: Settings, forces: tuple[str, ...] = ()) -> KnoxResult:
    from hotspots.models.nearrepeat import knox_test
    from hotspots.query import load_incidents
    from hotspots.spatial.boundaries import area_geometry

    inc = load_incidents(_settings.store_dir, start=start, end=end, types=[crime_type],
                         area=area, forces=list(forces) or [_settings.force],
                         mapped_only=True, settings=_settings,
                         geometry=area_geometry(area, _settings,
                                                forces=list(forces) or [_settings.force]))
    return knox_test(inc)


# ----------------------------------------------------------------------------- panels


def hindsight_line(result: EvaluationResult) -> str:
    """Auto against the best single bandwidth picked after the fact ("" when not comparable).

    Over the test months for which auto had earlier months to learn from; the measure is the
    one auto maximises (PAI charged for the whole requested area).
    """
    cmp = result.against_best_kde()
    span = cmp and cmp.get("learnt")
    if not span:
        return ""
    n, diff = len(span["months"]), span["difference"]
    verdict = ("matched it" if diff == 0 else
               f"beat it by {diff:.2f}" if diff > 0 else f"fell short by {-diff:.2f}")
    return (f"Against hindsight: over the {n} test month{'' if n == 1 else 's'} auto chose from "
            f"earlier months, its maps scored a mean PAI of {span['auto']:.2f} at "
            f"{wording.format_share(cmp['coverage'])} of the area; the best single bandwidth "
            "picked "
            f"after seeing those months, {span['best_kde']}, scored "
            f"{span['best_kde_value']:.2f}: auto {verdict}.")


def _auto_panel(result: EvaluationResult, params: Params) -> None:
    d = result.default
    cov = float(result.params["select_coverage"])
    w = int(result.params["train_months"])
    with st.container(border=True):
        st.markdown(f"**Auto's choice for next month's map: {md_escape(d['label'])}.** "
                    + md_escape(f"{d['reason'][:1].upper()}{d['reason'][1:]}, at "
                                f"{wording.format_share(cov)} of the area, {w}-month training "
                                "windows."))
        line = result.describe().replace("this map would", "auto's maps would", 1)
        st.markdown(md_escape(f"{line[:1].upper()}{line[1:]} (auto as it runs: each month's "
                              "choice made from earlier months only; mean over the test "
                              "months below)."))
        choice = auto_choice(result, params.end)
        text = (f"The Hotspots map's Auto (back-tested) bandwidth for a period ending "
                f"{wording.period_label(params.end, params.end)}: "
                f"{wording.format_bandwidth(choice.bandwidth)} ({choice.label}, chosen from "
                f"{len(choice.folds)} test month{'' if len(choice.folds) == 1 else 's'} up to "
                "then).")
        if choice.overall != choice.label:
            text += (f" Among every method auto would pick {choice.overall}, which the map "
                     "cannot draw; the map draws the best kernel density surface.")
        st.caption(md_escape(text))
        if (versus := hindsight_line(result)):
            st.caption(md_escape(versus))
    with st.expander("Auto's choice month by month"):
        st.dataframe(pd.DataFrame({
            "Test month": [wording.period_label(a["test"], a["test"]) for a in result.auto],
            "Chosen": [a["chosen"] for a in result.auto],
            "Learnt from": [months_label(a["learnt_from"]) or "no earlier month"
                            for a in result.auto],
            "Why": [a["reason"] for a in result.auto]}),
            hide_index=True, width="stretch", key="ev_auto_table")


def _measures_panel(result: EvaluationResult) -> None:
    st.subheader("Back-tested accuracy by method", anchor=False)
    covs = [float(c) for c in result.params["coverages"]]
    sel = float(result.params["select_coverage"])
    cov = st.radio("Share of the area flagged as hotspot", covs, horizontal=True,
                   index=covs.index(sel) if sel in covs else 0, key="ev_coverage",
                   persist_state=KEEP, format_func=wording.format_share,
                   help="Each method flags its hottest cells up to this share of the study "
                        "area (ties included) and is scored on the next month's incidents.")
    table = measures_table(result, float(cov if cov is not None else sel))
    # st.dataframe shows values as plain text: no Markdown or HTML is interpreted.
    st.dataframe(
        table, hide_index=True, width="stretch", key="ev_measures",
        height=(len(table) + 1) * 35 + 3,
        column_config={
            "Method": st.column_config.TextColumn(width="medium"),
            "Hit rate": st.column_config.NumberColumn(
                format="%.1f%%", help="Share of next month's incidents inside the flagged "
                                      "area (h / n)"),
            "PAI": st.column_config.NumberColumn(
                format="%.1f", help="Predictive Accuracy Index: hit rate / share of the area "
                                    "actually flagged; 1 = no better than chance"),
            "PAI at requested area": st.column_config.NumberColumn(
                format="%.1f", help="Hit rate / max(area flagged, share requested): methods "
                                    "compared over the same area; what auto maximises at 5%"),
            "PEI": st.column_config.NumberColumn(
                format="%.2f", help="Predictive Efficiency Index: hits / the most next-month "
                                    "incidents any equally large area held"),
            "RRI": st.column_config.NumberColumn(
                format="%.2f", help="Recapture Rate Index: > 1 when the flagged cells' share "
                                    "of crime grew from the training months to the test month"),
            "Area flagged": st.column_config.NumberColumn(
                format="%.1f%%", help="Share of the area actually flagged (ties can exceed the "
                                      "request; sparse surfaces fall short)"),
            "Test months": st.column_config.NumberColumn(format="%d"),
        })
    p = result.params
    st.caption(md_escape(
        f"Means over the test months. {p['study_cells']:,} cells of "
        f"{wording.format_metres(float(p['grid']['cell']))} "
        f"({p['study_area_km2']:,.0f} km²); each method fitted on {p['train_months']} months "
        f"and scored on the next. {p['incidents_mapped']:,} mapped incidents "
        f"({p['incidents_without_location']:,} without location are not used). Undefined "
        "ratios are left empty."))


def _capture_panel(settings: Settings, key: str, fingerprint: str, params: Params,
                   result: EvaluationResult) -> None:
    st.subheader("Capture curves", anchor=False)
    labels = tuple(curve_labels(result))
    try:
        curves = _curves(fingerprint, key, params.area, params.groups, params.types, labels,
                         result, settings, params.forces)
    except HotspotsError as exc:
        show_error(exc)
        return
    if curves.empty:
        st.info("No test month with incidents to draw a capture curve from.")
        return
    names = {lab: ("auto (as it ran)" if lab == "auto" else lab) for lab in labels}
    data = curves.assign(method=curves["label"].map(names))
    order = [names[lab] for lab in labels if lab in set(curves["label"])]
    colours = [CURVE_STYLES[i % len(CURVE_STYLES)][0] for i in range(len(order))]
    dashes = [CURVE_STYLES[i % len(CURVE_STYLES)][1] for i in range(len(order))]
    x = alt.X("coverage:Q", title="Share of the study area flagged (hottest first)",
              scale=alt.Scale(domain=[0, CURVE_MAX]), axis=alt.Axis(format="%"))
    lines = (alt.Chart(data).mark_line(strokeWidth=2.5)
             .encode(x=x, y=alt.Y("hit_rate:Q", title="Share of next month's incidents "
                                                      "captured",
                                  scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
                     color=alt.Color("method:N", sort=order, title=None,
                                     scale=alt.Scale(domain=order, range=colours),
                                     legend=alt.Legend(orient="bottom-right", fillColor="white",
                                                       padding=6, labelLimit=260)),
                     strokeDash=alt.StrokeDash("method:N", sort=order, legend=None,
                                               scale=alt.Scale(domain=order, range=dashes)),
                     tooltip=[alt.Tooltip("method:N", title="Method"),
                              alt.Tooltip("coverage:Q", title="Area", format=".1%"),
                              alt.Tooltip("hit_rate:Q", title="Captured", format=".1%")]))
    chance = (alt.Chart(pd.DataFrame({"coverage": [0.0, CURVE_MAX]}))
              .mark_line(color="#7f7f7f", strokeDash=[3, 3], strokeWidth=1.2)
              .encode(x=x, y="coverage:Q"))
    cov = float(result.params["select_coverage"])
    rule = (alt.Chart(pd.DataFrame({"coverage": [cov]}))
            .mark_rule(color="#333333", strokeDash=[5, 3]).encode(x=x))
    st.altair_chart(alt.layer(chance, rule, lines).properties(height=360), width="stretch")
    folds = int(curves["folds"].max())
    st.caption(md_escape(
        f"Mean over {folds} test months; dotted grey: chance (area share = capture share); "
        f"dashed: {wording.format_share(cov)} of the area, where auto chooses. Curves up to "
        f"{wording.format_share(CURVE_MAX)} of the area."))


def _folds_panel(result: EvaluationResult) -> None:
    st.subheader("Months tested and months skipped", anchor=False)
    tested = list(result.default.get("periods") or [])
    lines = [f"Tested ({len(tested)}): {months_label(tested)}: each fitted on the "
             f"{result.params['train_months']} months before it."]
    lines += [f"Not tested: {s}" for s in skipped_lines(result)]
    st.markdown("\n".join(f"- {md_escape(line)}" for line in lines))


def _knox_panel(settings: Settings, key: str, fingerprint: str, params: Params) -> None:
    st.subheader("Near repeats: burglary and vehicle crime (Knox test)", anchor=False)
    st.caption(md_escape(
        f"{params.area_label()}, {wording.period_label(params.start, params.end)} (the sidebar's "
        "area and period; whatever the crime selection). Are crimes close in space also close "
        "in time, more often than chance?"))
    cols = st.columns(len(KNOX_TYPES))
    for col, crime in zip(cols, KNOX_TYPES, strict=True):
        with col:
            st.markdown(f"**{md_escape(crime)}**")
            try:
                res = _knox(fingerprint, key, params.area, params.start, params.end, crime,
                            settings, params.forces)
            except HotspotsError as exc:
                show_error(exc)
                continue
            ratio, p, dropped = knox_frame(res)
            shade = p.map(lambda v: "background-color: #FDD0A2; font-weight: 700"
                          if v < KNOX_ALPHA else "")
            st.dataframe(ratio.style.apply(lambda _, s=shade: s, axis=None), width="stretch",
                         key=f"ev_knox_{crime.split()[0].lower()}")
            notes = knox_notes(res)
            if dropped:
                notes.append(f"Not shown: {', '.join(dropped)} (no pair is that far apart "
                             "within the period).")
            st.caption(md_escape(" ".join(notes)))
    st.caption(md_escape(
        "Reading it with police.uk data: each crime carries its month, not its date, so "
        "'same month' pairs can be up to 30 days apart and '1 month' pairs as little as 1 day; "
        "the classic near-repeat window of one to two weeks is finer than the data. A high "
        "ratio in the short distance bands and the same month still says burglaries (or "
        "vehicle crimes) near each other tend to come in the same month. 'Same location' "
        "counts crimes snapped to one anonymous map point, so it mixes repeat victims with "
        "neighbours."))


def _about() -> None:
    with st.expander("Method and measures"):
        st.markdown(
            "- **Rolling-origin back-test**: for every month with 3 complete months before "
            "it, each method is fitted on those 3 months only and scored on that month's "
            "incidents. Every method flags its hottest 100 m cells up to the share of the "
            "area chosen above.\n"
            "- **Hit rate** = h / n: share of next month's crime inside the flagged area. "
            "**PAI** = hit rate / share of the area flagged (Chainey, Tompson & Uhlig 2008). "
            "**PAI at requested area** charges a surface that flags less than asked for the "
            "full share, so methods are compared over the same area. **PEI** = hits / the "
            "most any equally large area held (Hunt 2016). **RRI** = (h / r) / (n / m), the "
            "recapture rate index (Levine 2008).\n"
            "- **Auto** picks, for each test month, the method with the highest mean PAI at "
            "the requested area at 5% over the earlier test months only (ties to the wider "
            "bandwidth); with no earlier month it uses KDE 500 m. Its row is therefore an "
            "honest estimate: no month is predicted with a method chosen on that month.\n"
            "- Full definitions and the results on the shipped data: docs/evaluation.md.")


# ----------------------------------------------------------------------------- the view


def evaluation_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                    params: Params) -> None:
    """The Evaluation view: auto's choice, measures table, capture curves, folds, Knox tables."""
    show_header("Back-testing the hotspot methods", params.crimes(), params.area_label(),
                f"every month held ({wording.period_label(months[0], months[-1])})",
                marking=settings.marking)
    result = None
    try:
        params.selection()
        result = backtest_methods(fingerprint, key, params.area, params.groups, params.types,
                                  settings, params.forces)
    except HotspotsError as exc:
        show_error(exc)
    if result is not None:
        _auto_panel(result, params)
        _measures_panel(result)
        _capture_panel(settings, key, fingerprint, params, result)
        _folds_panel(result)
    _knox_panel(settings, key, fingerprint, params)
    _about()
    show_sources()
