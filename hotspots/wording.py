"""Every sentence and number the maps, packs, dashboard and CLI say: labels, statements, formats.

Plain text only (callers escape it before it reaches HTML); nothing here imports folium,
matplotlib or Streamlit, so the CLI and the back-test recipes can word a result without loading
a map library. Month arithmetic is :mod:`hotspots.months`; this module only words months.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hotspots.errors import ParameterError
from hotspots.forces import title as force_title
from hotspots.months import month_range, month_runs, split_month

if TYPE_CHECKING:
    from hotspots.models.disruption import Coverage, SitePlan

__all__ = [
    "CORRECTION_SHORT",
    "GISTAR_LABELS",
    "bandwidth_label",
    "held_months_label",
    "no_data_message",
    "bandwidth_rule_label",
    "capitalise",
    "catchment_statement",
    "cluster_statement",
    "crimes_label",
    "disruption_statement",
    "emerging_statement",
    "format_bandwidth",
    "format_break",
    "format_density",
    "format_density_1dp",
    "format_km",
    "format_metres",
    "format_share",
    "format_share_1dp",
    "format_share_or_dash",
    "gistar_statement",
    "groups_label",
    "method_statement",
    "missing_months_label",
    "month_label",
    "month_runs_label",
    "neighbourhood_cells",
    "network_statement",
    "period_label",
    "period_statement",
    "reach_text",
    "two_figures",
]

#: Month abbreviations, January first.
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------------------------
# Periods and selections
# --------------------------------------------------------------------------------------------


def period_label(start: str, end: str) -> str:
    """Return a month range for people: ``"Jan–Mar 2025"``, ``"Nov 2024–Feb 2025"``, ``"Mar 2025"``.

    Parameters
    ----------
    start, end : str
        First and last month, ``YYYY-MM``.
    """
    (y0, m0), (y1, m1) = split_month(start), split_month(end)
    if (y0, m0) == (y1, m1):
        return f"{MONTH_NAMES[m0 - 1]} {y0}"
    if y0 == y1:
        return f"{MONTH_NAMES[m0 - 1]}–{MONTH_NAMES[m1 - 1]} {y0}"
    return f"{MONTH_NAMES[m0 - 1]} {y0}–{MONTH_NAMES[m1 - 1]} {y1}"


def missing_months_label(missing: Sequence[str]) -> str:
    """Summarise missing months as runs, e.g. ``"May–Dec 2024"`` (empty string if none)."""
    if not missing:
        return ""
    return ", ".join(period_label(r[0], r[-1]) for r in month_runs(sorted(missing)))


def held_months_label(held: Sequence[str]) -> str:
    """What a store holds, with its gaps: ``"2024-01..2024-04 and 2025-01..2025-12;
    2024-05..2024-12 are missing"`` (``"no month"`` when empty)."""
    if not held:
        return "no month"
    months = sorted(set(held))
    runs = [r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in month_runs(months)]
    text = runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]
    gaps = [m for m in month_range(months[0], months[-1]) if m not in set(months)]
    if gaps:
        text += f"; {month_runs_label(gaps)} {'is' if len(gaps) == 1 else 'are'} missing"
    return text


def no_data_message(crimes: str, area: str, start: str, end: str, held: Sequence[str]) -> str:
    """The one answer to a selection with no mapped incidents, naming the months held.

    e.g. ``"no mapped acquisitive crime incidents in Rugby for Jan–Feb 2030; the store holds
    2024-01..2024-04 and 2025-01..2025-12; 2024-05..2024-12 are missing"``.
    """
    period = period_label(start, end)
    text = f"no mapped {crimes} incidents in {area} for {period}; the store holds " \
           f"{held_months_label(held)}"
    inside = [m for m in held if start <= m <= end]
    if inside:
        text += " (the period is held: widen the area or the crimes)"
    return text


def month_runs_label(months: Sequence[str]) -> str:
    """Compress months into runs for notes and JSON: ``"2024-05..2024-12, 2025-03"``.

    Runs follow the order given (sort the months first for calendar order).
    """
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in month_runs(months))


def force_name(slug: str) -> str:
    """A force slug for people, from the force registry: ``"thames-valley"`` -> ``"Thames
    Valley"``, ``"devon-and-cornwall"`` -> ``"Devon & Cornwall"``."""
    return force_title(slug)


def crimes_label(groups: Sequence[str] | None = None, types: Sequence[str] | None = None) -> str:
    """Describe a crime selection in words, e.g. ``"acquisitive crime"``, ``"Burglary"``.

    Parameters
    ----------
    groups : sequence of str, optional
        Crime groups (``acquisitive``, ``soc``, ``violence``, ``asb``, ``other``).
    types : sequence of str, optional
        Crime types; when given they describe the selection on their own.
    """
    names = {"acquisitive": "acquisitive", "soc": "SOC-linked", "violence": "violence",
             "asb": "anti-social behaviour", "other": "other"}
    if types:
        items = list(types)
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    if not groups or set(groups) >= set(names):
        return "all crime"
    words = [names.get(g, g) for g in groups]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return joined + (" crime" if words[-1] not in ("anti-social behaviour",) else "")


def period_statement(start: str, end: str, missing: Sequence[str] = ()) -> str:
    """Say a period and its months without data: ``"Jan–Dec 2024 (no data for May 2024)"``."""
    text = period_label(start, end)
    if missing:
        text += f" (no data for {missing_months_label(missing)})"
    return text


def month_label(label: str) -> str:
    """``2025-10`` -> ``Oct 2025``; other step labels (dates) as they are."""
    try:
        return period_label(label, label)
    except ParameterError:
        return str(label)


def capitalise(text: str) -> str:
    """Upper-case the first letter only (``"new hot spot"`` -> ``"New hot spot"``)."""
    return text[:1].upper() + text[1:]


_GROUP_WORDS = {"acquisitive": "acquisitive", "soc": "SOC-linked (Drugs, Possession of weapons)",
                "violence": "violence and sexual offences", "asb": "anti-social behaviour",
                "other": "other (criminal damage, public order, other crime)"}


def groups_label(groups: Sequence[str] | str | None) -> str:
    """Describe a crime selection in words: crime groups by their names, types as given.

    Parameters
    ----------
    groups : sequence of str or str, optional
        Crime groups (``acquisitive``, ``soc``, ...) or police.uk crime types.

    Returns
    -------
    str
        e.g. ``"acquisitive"``, ``"Burglary, Vehicle crime"``; ``"all crime"`` when empty.
    """
    if groups is None:
        return "all crime"
    items = [groups] if isinstance(groups, str) else [str(g) for g in groups]
    items = [g for g in items if g.strip()]
    if not items:
        return "all crime"
    return ", ".join(_GROUP_WORDS.get(g, g) for g in items)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def format_metres(value: float) -> str:
    """Format a distance: ``"500 m"``, ``"1,250 m"``, ``"1 km"`` (whole kilometres only)."""
    if value >= 1000 and float(value) % 1000 == 0:
        return f"{value / 1000:,.0f} km"
    return f"{value:,.0f} m"


def format_share(value: float) -> str:
    """Format a share as a percentage: 0.05 -> ``"5%"``, 0.025 -> ``"2.5%"``."""
    pct = float(value) * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}%"


def format_share_1dp(value: float) -> str:
    """Format a share as a percentage with one decimal: 0.2461 -> ``"24.6%"``."""
    return f"{float(value) * 100:.1f}%"


def bandwidth_rule_label(rule: str) -> str:
    """Name a bandwidth rule for people: ``fixed``, ``ArcGIS Pro rule``, ..."""
    return {"fixed": "fixed", "arcgis": "ArcGIS Pro rule", "scott": "Scott's rule",
            "silverman": "Silverman's rule"}.get(str(rule).lower(), str(rule))


def _several(bandwidth: Any) -> bool:
    """Whether a bandwidth is several metres (the multi-scale KDE), not one value or a rule."""
    return isinstance(bandwidth, Sequence) and not isinstance(bandwidth, (str, bytes))


def _metres_list(values: Sequence[float]) -> str:
    parts = [f"{float(v):,.0f}" for v in values]
    return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + " m"


def format_bandwidth(bandwidth: float | Sequence[float]) -> str:
    """Say a bandwidth: ``"500 m"``, or for a multi-scale KDE ``"multi-scale (mean of 300, 500,
    750 and 1,000 m)"``."""
    if not _several(bandwidth):
        return format_metres(float(bandwidth))  # type: ignore[arg-type]
    return f"multi-scale (mean of {_metres_list(bandwidth)})"


def bandwidth_label(bandwidth: float | Sequence[float]) -> str:
    """The back-test's label for a KDE: ``"KDE 500 m"`` or ``"KDE multi-scale 300-1000 m"``."""
    if not _several(bandwidth):
        return f"KDE {float(bandwidth):g} m"  # type: ignore[arg-type]
    bws = [float(b) for b in bandwidth]
    return f"KDE multi-scale {min(bws):g}-{max(bws):g} m"


def two_figures(value: float) -> float:
    """Round to two significant figures (class breaks people can read)."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return round(value, 1 - int(math.floor(math.log10(value))))


def format_break(value: float) -> str:
    """Format a class break: ``"1,200"`` from 100 up, else two significant figures."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}"


def format_density(value: float) -> str:
    """Format a density for the map's colour bar: ``"1,250"``, ``"42"``, ``"2.5"``, ``"2"``."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value else "0"


def format_density_1dp(v: float) -> str:
    """Format a density for the printed colour bar: as :func:`format_density`, but always one
    decimal below 10 (``"2.0"``, ``"0.0"``)."""
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.0f}"
    return f"{v:.1f}"


def format_share_or_dash(value: Any) -> str:
    """Format a share with one decimal (``"24.6%"``); ``"–"`` when it is missing."""
    v = float(value) if value is not None else float("nan")
    return f"{v:.1%}" if math.isfinite(v) else "–"


def format_km(metres: float) -> str:
    """Format a scale-bar length: ``"500 m"``, ``"2 km"``, ``"2.5 km"``."""
    km = metres / 1000.0
    return f"{km:g} km" if km >= 1 else f"{metres:g} m"


# --------------------------------------------------------------------------------------------
# Statements of method
# --------------------------------------------------------------------------------------------


def method_statement(*, kernel: str, bandwidth: float | Sequence[float], bandwidth_rule: str,
                     cell: float,
                     top: float | None, start: str, end: str, crimes: str,
                     missing: Sequence[str] = ()) -> str:
    """Return the one-line statement of method and parameters printed in the legend.

    Example: ``"Kernel density, quartic kernel, bandwidth 500 m (fixed), 100 m cells, top 5% of
    area, Jan–Mar 2025, acquisitive crime; incidents per km²"``.

    Parameters
    ----------
    kernel : str
        Kernel name, e.g. ``"quartic"``.
    bandwidth : float or sequence of float
        Bandwidth used, metres; several for the multi-scale KDE (each surface scaled to the
        same total, then averaged).
    bandwidth_rule : str
        ``"fixed"`` or the rule that chose it (e.g. ``"arcgis"``).
    cell : float
        Cell size, metres.
    top : float or None
        Share of the study area marked as hotspot (0..1); None when the areas are drawn
        another way (patrol areas), which the caller states.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words (see :func:`crimes_label`).
    missing : sequence of str
        Months inside the period with no published data; stated when present.

    Returns
    -------
    str
        Plain text (escape it before putting it into HTML).
    """
    period = period_statement(start, end, missing)
    share = "" if top is None else f"top {format_share(top)} of area, "
    if _several(bandwidth):
        bw = (f"multi-scale: mean of the bandwidths {_metres_list(bandwidth)}, each surface "
              "scaled to the same total")
    else:
        bw = f"bandwidth {format_metres(float(bandwidth))}"
    if bandwidth_rule != "multi-scale":  # already said by the bandwidths
        bw += f" ({bandwidth_rule_label(bandwidth_rule)})"
    return (f"Kernel density, {kernel} kernel, {bw}, {format_metres(cell)} cells, "
            f"{share}{period}, {crimes}; incidents per km²")


def network_statement(*, bandwidth: float, lixel: float, band: float, start: str, end: str,
                      crimes: str, kernel: str = "quartic", missing: Sequence[str] = ()) -> str:
    """Return the corridor map's one-line statement of method and parameters.

    Example: ``"Network kernel density (Xie & Yan 2008 simple method), quartic, bandwidth
    1,000 m along the network, 100 m lixels, incidents within 500 m of the SRN, Oct–Dec 2025,
    acquisitive crime; incidents per km of road"``.

    Parameters
    ----------
    bandwidth : float
        Kernel bandwidth along the network, metres.
    lixel : float
        Lixel length, metres.
    band : float
        Incidents further than this from the SRN are not snapped to it, metres.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words (see :func:`crimes_label`).
    kernel : str
        Kernel name.
    missing : sequence of str
        Months inside the period with no published data; stated when present.

    Returns
    -------
    str
        Plain text (escape it before putting it into HTML).
    """
    period = period_statement(start, end, missing)
    return (f"Network kernel density (Xie & Yan 2008 simple method), {kernel}, bandwidth "
            f"{bandwidth:,.0f} m along the network, {lixel:,.0f} m lixels, incidents within "
            f"{band:,.0f} m of the SRN, {period}, {crimes}; incidents per km of road")


GISTAR_LABELS: dict[int, str] = {
    3: "Hot spot, 99% confidence", 2: "Hot spot, 95% confidence",
    1: "Hot spot, 90% confidence", -1: "Cold spot, 90% confidence",
    -2: "Cold spot, 95% confidence", -3: "Cold spot, 99% confidence"}


#: Short names of the multiple-testing corrections, as the legend states them.
CORRECTION_SHORT: dict[str, str] = {"fdr_bh": "Benjamini-Hochberg FDR",
                                    "bonferroni": "Bonferroni correction",
                                    "none": "no multiple-testing correction"}


_STEP_WORDS = {"month": "monthly", "week": "weekly", "28D": "28-day"}


def neighbourhood_cells(cell: float, distance: float | None) -> int:
    """Return how many other cells lie within ``distance`` (centre to centre) of a grid cell.

    ``distance = 1.5 x cell`` gives 8 (the queen neighbourhood), ``1 x cell`` gives 4.

    Parameters
    ----------
    cell : float
        Cell size, metres.
    distance : float or None
        Distance band, metres; ``None`` means the default 1.5 cells.

    Returns
    -------
    int
    """
    if not cell or not cell > 0:
        raise ParameterError(f"cell size {cell!r} must be greater than zero")
    d = 1.5 * cell if distance is None else float(distance)
    reach = int(math.floor(d / cell + 1e-9))
    i, j = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
    inside = np.hypot(i, j) * cell <= d * (1 + 1e-9)
    return int(inside.sum()) - 1


def _levels(params: Mapping[str, Any]) -> str:
    levels = sorted(int(v) for v in params.get("confidence_levels", (99, 95, 90)))
    return "/".join(str(v) for v in levels) + "% bins"


def gistar_statement(params: Mapping[str, Any], *, start: str, end: str, crimes: str,
                     missing: Sequence[str] = ()) -> str:
    """Return the Gi* map's one-line statement of method and parameters.

    Example: ``"Getis-Ord Gi*, 1,100 m cells, 8-cell neighbourhood (distance 1,650 m),
    Benjamini-Hochberg FDR, 90/95/99% bins, Oct–Dec 2025, acquisitive crime"``.

    Parameters
    ----------
    params : mapping
        :meth:`hotspots.models.gistar.GiStar.params` of a grid result.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words.
    missing : sequence of str
        Months of the period without published data (stated when present).

    Returns
    -------
    str
        Plain text.
    """
    cell = float(params["cell_m"])
    distance = params.get("distance_m")
    d = 1.5 * cell if distance is None else float(distance)
    corr = CORRECTION_SHORT.get(str(params.get("correction")), str(params.get("correction")))
    inference = ""
    if params.get("inference") == "permutation":
        inference = f", pseudo p from {int(params.get('permutations', 0)):,} permutations"
    return (f"Getis-Ord Gi*, {format_metres(cell)} cells, "
            f"{neighbourhood_cells(cell, d)}-cell neighbourhood (distance "
            f"{format_metres(d)}), {corr}{inference}, {_levels(params)}, "
            f"{period_statement(start, end, missing)}, {crimes}")


def emerging_statement(params: Mapping[str, Any], *, crimes: str) -> str:
    """Return the emerging hot spot map's one-line statement of method and parameters.

    Example: ``"Emerging hot spot analysis (space-time Gi* + Mann-Kendall trend), 1,100 m
    cells, 8-cell neighbourhood (distance 1,650 m) and 1 step before, Benjamini-Hochberg FDR
    over all 4,872 bins, 90% confidence, trend α 0.05, 3 monthly steps (Oct–Dec 2025),
    acquisitive crime"``.

    Parameters
    ----------
    params : mapping
        ``attrs["params"]`` of :func:`hotspots.models.emerging.emerging_hotspots`.
    crimes : str
        The crime selection in words.

    Returns
    -------
    str
        Plain text.
    """
    cell = float(params["cell_m"])
    d = float(params.get("distance_m") or 1.5 * cell)
    corr = CORRECTION_SHORT.get(str(params.get("correction")), str(params.get("correction")))
    periods = list(params.get("periods") or [])
    steps = int(params.get("n_periods", len(periods)))
    word = _STEP_WORDS.get(str(params.get("period")), str(params.get("period")))
    span = ""
    if periods:
        first, last = str(periods[0]), str(periods[-1])
        try:
            span = period_label(first, last)
        except ParameterError:
            span = f"{first} to {last}"
    gaps = list(params.get("gaps") or [])
    if gaps:
        try:
            span += f", {missing_months_label(gaps)} dropped (no data)"
        except ParameterError:
            span += f", {len(gaps)} steps dropped (no data)"
    window = int(params.get("time_window", 1))
    before = (f" and {window} step{'' if window == 1 else 's'} before" if window
              else ", no time neighbours")
    conf = round((1 - float(params.get("alpha", 0.10))) * 100)
    return (f"Emerging hot spot analysis (space-time Gi* + Mann-Kendall trend), "
            f"{format_metres(cell)} cells, {neighbourhood_cells(cell, d)}-cell "
            f"neighbourhood (distance {format_metres(d)}){before}, {corr} over all "
            f"{int(params.get('n_bins', 0)):,} bins, {conf}% confidence, trend α "
            f"{float(params.get('trend_alpha', 0.05)):g}, {steps} {word} steps ({span}), "
            f"{crimes}")


def cluster_statement(params: Mapping[str, Any], *, start: str, end: str, crimes: str,
                      missing: Sequence[str] = ()) -> str:
    """Return the cluster map's one-line statement of method and parameters.

    Example: ``"DBSCAN, eps 250 m (default: fixed 250 m), min_samples 17 (default: 0.5% of the
    3,356 incidents, at least 5), snapped duplicates weighted, convex hulls, Oct–Dec 2025,
    acquisitive crime"``.

    Parameters
    ----------
    params : mapping
        ``attrs["params"]`` of :func:`hotspots.models.clusters.find_clusters`.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words.
    missing : sequence of str
        Months of the period without published data.

    Returns
    -------
    str
        Plain text.
    """
    method = str(params.get("method", ""))
    dup = ("snapped duplicates weighted" if params.get("duplicates") == "weight"
           else "each map point counted once")
    if method == "dbscan":
        core = (f"DBSCAN, eps {format_metres(float(params['eps_m']))} "
                f"({params.get('eps_rule', '')}), min_samples {int(params['min_samples']):,} "
                f"({params.get('min_samples_rule', '')})")
    elif method == "hdbscan":
        core = (f"HDBSCAN, min_cluster_size {int(params['min_cluster_size']):,} "
                f"({params.get('min_cluster_size_rule', '')}), min_samples "
                f"{int(params['min_samples']):,} ({params.get('min_samples_rule', '')})")
    else:
        raise ParameterError(f"unknown cluster method {method!r}")
    return f"{core}, {dup}, convex hulls, {period_statement(start, end, missing)}, {crimes}"


def disruption_statement(plan: SitePlan, coverage: Coverage, *, start: str, end: str,
                         crimes: str, missing: Sequence[str] = ()) -> str:
    """The legend's one-line statement of method and parameters.

    Example: ``"Maximal covering (MCLP), exact (HiGHS, proven optimal): 5 new sites from 104
    candidates; reach within 10 minutes by road (SRN at congestion-free class speeds, then
    straight line x 1.3 at 40 km/h); demand harm-weighted, no SOC boost; Oct–Dec 2025,
    acquisitive crime"``.

    Parameters
    ----------
    plan : SitePlan
        From :func:`hotspots.models.disruption.choose_sites`.
    coverage : Coverage
        The coverage the plan was chosen on.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words.
    missing : sequence of str
        Months of the period without published data.

    Returns
    -------
    str
        Plain text (escape it before putting it into HTML).
    """
    p = coverage.params
    s = plan.summary
    solver = str(s.get("solver", "highs")).upper().replace("HIGHS", "HiGHS")
    if plan.method == "mclp":
        how = (f"exact ({solver}, proven optimal)" if s.get("proven_optimal")
               else f"exact ({solver}, gap {plan.gap:.1%})")
    else:
        how = (f"greedy, gap at most {plan.gap:.1%} against the "
               f"{s.get('bound_source', 'bound')}")
    n = len(plan.sites)
    existing = len(plan.existing)
    sites = (f"{n} new site{'s' if n != 1 else ''} from {p['candidates']:,} candidates"
             + (f", {existing} existing site{'s' if existing != 1 else ''} counted first"
                if existing else ""))
    if p["reach_mode"] == "drive_time":
        reach = (f"{reach_text(p)} (SRN at congestion-free class speeds, then straight line "
                 f"× {p['circuity']:g} at {p['local_speed_kph']:g} km/h)")
    else:
        reach = reach_text(p)
    weight = "harm-weighted" if p["weight"] == "harm" else "incident counts"
    boost = ("no SOC boost" if float(p["soc_boost"]) == 1.0
             else f"SOC-linked × {float(p['soc_boost']):g}")
    period = period_statement(start, end, missing)
    return (f"Maximal covering (MCLP), {how}: {sites}; reach {reach}; demand {weight}, "
            f"{boost}; {period}, {crimes}")


def reach_text(params: Mapping[str, Any]) -> str:
    """The reach in words: ``"within 10 minutes by road"``, ``"within 5 km (straight line)"``.

    Parameters
    ----------
    params : mapping
        ``Coverage.params``.
    """
    if params["reach_mode"] == "drive_time":
        m = float(params["minutes"])
        return f"within {m:g} minute{'s' if m != 1 else ''} by road"
    r = float(params["radius_m"])
    return f"within {r / 1000:g} km (straight line)" if r >= 1000 else \
        f"within {r:g} m (straight line)"


def catchment_statement(params: Mapping[str, Any], buffer_m: float, close_m: float) -> str:
    """Say what a drawn catchment is, for the legend.

    Parameters
    ----------
    params : mapping
        ``Coverage.params``.
    buffer_m, close_m : float
        Disc radius and filled gap width of :func:`hotspots.site_maps.site_catchments`.
    """
    text = (f"Catchment: within {format_metres(buffer_m)} of the incident locations a site "
            f"reaches ({reach_text(params)})")
    return text + (f", gaps under {format_metres(close_m)} filled" if close_m > 0 else "")


def trend_label(incidents: Any, previous: Any) -> str:
    """An area's change on the previous period: ``"up 12 (+40%)"``, ``"down 3 (-10%)"``,
    ``"no change"``, ``"new (none before)"``; ``"–"`` when the previous count is unknown."""
    try:
        now, before = int(incidents), int(previous)
    except (TypeError, ValueError):
        return "–"
    if before == 0:
        return "no change" if now == 0 else "new (none before)"
    diff = now - before
    if diff == 0:
        return "no change"
    return f"{'up' if diff > 0 else 'down'} {abs(diff):,} ({100.0 * diff / before:+.0f}%)"
