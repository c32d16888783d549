"""The dashboard's Disruption view: suggested stop-check and ANPR patrol sites on the SRN."""

from __future__ import annotations

import csv
import hashlib
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
import streamlit as st

from hotspots import base_layers, site_maps, wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError, InputError, NoDataError
from hotspots.legend import Legend
from hotspots.months import missing_months
from hotspots.ui import auth, downloads, meeting
from hotspots.ui.common import (
    KEEP,
    MAP_HEIGHT,
    md_escape,
    show_error,
    show_header,
    show_sources,
)
from hotspots.ui.compute import SOC_NOTE, Params, force_counts, force_counts_line

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    from shapely.geometry.base import BaseGeometry

    from hotspots.models.coverage import Coverage
    from hotspots.models.disruption import SitePlan

K_DEFAULT, K_MAX = 5, 15
MINUTES_DEFAULT, KM_DEFAULT = 10, 5.0
#: Seconds the exact solver may take in the dashboard (then the better of its incumbent and
#: greedy, with the gap); per k for the coverage curve.
CHOOSE_TIME_LIMIT_S = 10.0
CURVE_TIME_LIMIT_S = 2.0
UPLOAD_TYPES = ("csv", "geojson", "json")
#: Covered share above which the choice among sites is said to be arbitrary (ties).
SATURATED_SHARE = 0.97
#: Largest site file accepted, megabytes (a site list is kilobytes).
UPLOAD_MAX_MB = 5
DRIVE, STRAIGHT = "drive", "straight"
TABLE_COLUMNS = ("Rank", "Site", "Roads", "Covered", "Covered share", "Cumulative share",
                 "Crime mix", "Rationale")
_SUFFIXES = (".csv", ".txt", ".geojson", ".json")


@dataclass(frozen=True)
class DisruptionParams:
    """One Disruption view selection: the shared filters and the coverage controls.

    Attributes
    ----------
    area, start, end, groups, types
        As in :class:`hotspots.ui.compute.Params`.
    minutes : float or None
        Reach as a drive time (the drive-time model), or None with ``radius_m``.
    radius_m : float or None
        Reach as a straight-line distance, metres.
    weight : {"harm", "count"}
        Harm-weighted demand or incident counts.
    soc_boost : float
        Multiplier on SOC-linked incidents' weight (1 = none).
    """

    area: str
    start: str
    end: str
    groups: tuple[str, ...]
    types: tuple[str, ...] = ()
    minutes: float | None = float(MINUTES_DEFAULT)
    radius_m: float | None = None
    weight: str = "harm"
    soc_boost: float = 1.0
    forces: tuple[str, ...] = ()
    region: str = ""
    forces_name: str = ""

    @classmethod
    def from_params(cls, params: Params, **controls: Any) -> DisruptionParams:
        """Take the shared filters of a selection and the view's own controls."""
        return cls(area=params.area, start=params.start, end=params.end, groups=params.groups,
                   types=params.types, **params.scope(), **controls)

    def crimes_params(self) -> Params:
        """The area, period and crimes as a :class:`Params` (the incidents' cache key)."""
        return Params(area=self.area, start=self.start, end=self.end, groups=self.groups,
                      types=self.types, forces=self.forces, region=self.region,
                      forces_name=self.forces_name)


@dataclass(frozen=True)
class Upload:
    """An uploaded site file: its name, content and content hash (the cache key)."""

    name: str
    content: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 of the content."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Controls:
    """The Disruption view's sidebar controls."""

    k: int
    params: DisruptionParams
    candidates: Upload | None = None
    existing: Upload | None = None


# ------------------------------------------------------------------------------ computations


def parse_sites(name: str, content: bytes, area: BaseGeometry | None = None
                ) -> gpd.GeoDataFrame:
    """Read an uploaded site file with :func:`hotspots.models.candidates.read_sites`.

    The bytes are written to a temporary folder only for as long as ``read_sites`` reads them;
    messages name the uploaded file, never the temporary path.

    Parameters
    ----------
    name : str
        The uploaded file's name (its suffix chooses CSV or GeoJSON).
    content : bytes
    area : shapely geometry, optional
        The selected area: sites more than 5 km beyond it are rejected row by row.

    Returns
    -------
    geopandas.GeoDataFrame
        As ``read_sites``; ``attrs["rejected"]`` lists the rejected rows, ``attrs["source"]``
        is ``name``.

    Raises
    ------
    InputError
        Unknown suffix, unreadable file, missing columns or no usable row (one line).
    """
    from hotspots.models.candidates import read_sites

    suffix = Path(name).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InputError(f"{name}: site files must be CSV or GeoJSON (.csv, .geojson)")
    with tempfile.TemporaryDirectory(prefix="hotspots-sites-") as tmp:
        path = Path(tmp) / f"sites{suffix}"
        path.write_bytes(content)
        try:
            sites = read_sites(path, area=area)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), name).splitlines()[0]) from None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, csv.Error,
                RecursionError) as exc:  # malformed content read_sites does not expect
            raise InputError(f"{name}: not a readable site file (unexpected content: "
                             f"{type(exc).__name__})") from None
    sites.attrs["source"] = name
    return sites


def load_selection(sel: Params, settings: Settings) -> pd.DataFrame:
    """The selected crimes of the period in the area (mapped or not), as the CLI loads them.

    Raises
    ------
    NoDataError
        No crime chosen, or no mapped incident.
    """
    from hotspots.query import load_incidents

    chosen = sel.to_selection(settings)
    inc = load_incidents(Path(settings.store_dir), start=sel.start, end=sel.end, area=sel.area,
                         forces=list(chosen.all_forces), settings=settings,
                         geometry=chosen.geometry, **sel.selection())
    if not inc["has_location"].fillna(False).astype(bool).any():
        from hotspots.query import available_months

        held = available_months(settings=settings, forces=list(chosen.all_forces))
        raise NoDataError(wording.no_data_message(sel.crimes(), sel.area_label(), sel.start,
                                                  sel.end, held))
    return inc


def coverage_of(inc: pd.DataFrame, graph: nx.MultiDiGraph, dp: DisruptionParams,
                months: Sequence[str], settings: Settings, *,
                candidates: gpd.GeoDataFrame | None = None,
                existing: gpd.GeoDataFrame | None = None) -> Coverage:
    """Build the coverage as ``hotspots disrupt`` does, on the dashboard's SRN graph."""
    from hotspots.models.coverage import build_coverage
    from hotspots.spatial.boundaries import area_geometry

    return build_coverage(inc, graph, minutes=dp.minutes, radius=dp.radius_m, extra=candidates,
                          existing=existing, soc_boost=dp.soc_boost, weight=dp.weight,
                          study_area=area_geometry(dp.area, settings,
                                                   forces=dp.crimes_params().force_list(settings)),
                          period=(dp.start, dp.end), months=list(months))


def _mix_text(mix: Any, top: int = 4) -> str:
    if not isinstance(mix, dict) or not mix:
        return ""
    items = list(mix.items())
    text = " · ".join(f"{k} {int(v):,}" for k, v in items[:top])
    return text + (f" · {len(items) - top} more" if len(items) > top else "")


def site_forces(frame: pd.DataFrame, settings: Settings) -> list[str]:
    """Each site's force: the name of the national force area holding it (``""`` off every
    force area), as ``hotspots disrupt`` labels a region's sites."""
    from hotspots.spatial.srn_graph import force_areas
    from hotspots.spatial.srn_national import forces_at

    if not len(frame):
        return []
    where = forces_at(frame["x"].to_numpy(float), frame["y"].to_numpy(float),
                      force_areas(settings))
    return [wording.force_name(str(f)) if f else "" for f in where]


def rank_table(frame: pd.DataFrame, *, existing: bool = False,
               forces: Sequence[str] | None = None) -> pd.DataFrame:
    """The ranked site table as shown: plain values, shares in percent.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``SitePlan.sites`` (or ``SitePlan.existing`` with ``existing=True``: rank "E").
    forces : sequence of str, optional
        Each site's force (:func:`site_forces`): a ``Force`` column after ``Site``, for a
        selection of several forces.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS` (with ``Force`` when ``forces`` is given).
    """
    rank = ["E"] * len(frame) if existing else frame["rank"].astype(int).astype(str).tolist()
    table = pd.DataFrame({
        "Rank": rank,
        "Site": frame["name"].astype(str).tolist(),
        "Roads": [", ".join(r) if isinstance(r, (list, tuple)) else str(r or "")
                  for r in frame["roads"]],
        "Covered": pd.to_numeric(frame["covered"]).round().astype("int64").tolist(),
        "Covered share": (frame["covered_share"].astype(float) * 100).tolist(),
        "Cumulative share": (frame["cumulative_share"].astype(float) * 100).tolist(),
        "Crime mix": [_mix_text(m) for m in frame["crime_mix"]],
        "Rationale": frame["rationale"].astype(str).tolist(),
    }, columns=list(TABLE_COLUMNS))
    if forces is not None:
        table.insert(2, "Force", list(forces))
    return table


def curve_frame(curve: Sequence[tuple[int, float]], k: int, base: float = 0.0) -> pd.DataFrame:
    """The coverage curve as a table: ``k``, ``share``, ``gain`` (over k - 1), ``chosen``.

    Parameters
    ----------
    curve : sequence of (int, float)
        From :func:`hotspots.models.disruption.coverage_curve`.
    k : int
        The chosen number of sites.
    base : float
        Share covered by the existing sites alone (the gain of k = 1 is over it).
    """
    ks = [int(a) for a, _ in curve]
    shares = [float(b) for _, b in curve]
    gains = [s - p for s, p in zip(shares, [base, *shares[:-1]], strict=True)]
    return pd.DataFrame({"k": ks, "share": shares, "gain": gains,
                         "chosen": [a == k for a in ks]})


def sites_for_target(curve: Sequence[tuple[int, float]], target: float) -> int | None:
    """The fewest sites on the curve that reach ``target`` (None when none does)."""
    return next((int(k) for k, s in curve if s >= target - 1e-12), None)


def map_page(cov: Coverage, plan: SitePlan, graph: nx.MultiDiGraph, dp: DisruptionParams,
             months: Sequence[str], settings: Settings, *,
             uploads: Sequence[str] = ()) -> str:
    """The disruption map as self-contained, offline HTML (legend states method and data)."""
    from hotspots.spatial.boundaries import area_geometry

    sel = dp.crimes_params()
    s = plan.summary
    of = "harm" if dp.weight == "harm" else "incidents"
    placed = "sites" if not len(plan.existing) else "sites and the existing ones"
    notes = [f"The {placed} reach {s['covered_share']:.0%} of the {of}. Within reach, not "
             "intercepted: a ranking of places under stated assumptions.",
             *cov.params.get("notes", []), *uploads]
    if dp.soc_boost != 1.0:
        notes.append(SOC_NOTE)
    legend = Legend(
        title=f"Suggested disruption points: {sel.crimes()}, {sel.area_label()}",
        method=wording.disruption_statement(
            plan, cov, start=dp.start, end=dp.end, crimes=sel.crimes(),
            missing=missing_months(dp.start, dp.end, months)),
        marking=settings.marking, notes=tuple(notes))
    return site_maps.disruption_map_page(
        base=base_layers.load_base_layers(settings, dp.crimes_params().force_list(settings)),
        view=area_geometry(dp.area, settings, forces=dp.crimes_params().force_list(settings)),
        coverage=cov, plan=plan, legend=legend, graph=graph, settings=settings,
        title=f"Disruption points: {sel.crimes()}, {sel.area_label()}, "
              f"{wording.period_label(dp.start, dp.end)}")


# ------------------------------------------------------------------------------------ caching


@st.cache_data(show_spinner=False, max_entries=16)
def _incidents(fingerprint: str, settings_key: str, sel: Params, _settings: Settings
               ) -> pd.DataFrame:
    return load_selection(sel, _settings)


@st.cache_data(show_spinner=False, max_entries=16)
def _site_file(digest: str, name: str, area_key: str, _content: bytes,
               _area: BaseGeometry | None) -> gpd.GeoDataFrame:
    return parse_sites(name, _content, _area)


@st.cache_data(show_spinner=False, max_entries=16)
def _coverage(fingerprint: str, settings_key: str, dp: DisruptionParams, candidates: str,
              existing: str, months: tuple[str, ...], _graph: nx.MultiDiGraph,
              _candidates: gpd.GeoDataFrame | None, _existing: gpd.GeoDataFrame | None,
              _settings: Settings) -> Coverage:
    inc = _incidents(fingerprint, settings_key, dp.crimes_params(), _settings)
    return coverage_of(inc, _graph, dp, months, _settings, candidates=_candidates,
                       existing=_existing)


@st.cache_data(show_spinner=False, max_entries=32)
def _plan(fingerprint: str, settings_key: str, dp: DisruptionParams, candidates: str,
          existing: str, months: tuple[str, ...], k: int, _cov: Coverage) -> SitePlan:
    from hotspots.models.disruption import choose_sites

    return choose_sites(_cov, k, time_limit=CHOOSE_TIME_LIMIT_S)


@st.cache_data(show_spinner=False, max_entries=16)
def _curve(fingerprint: str, settings_key: str, dp: DisruptionParams, candidates: str,
           existing: str, months: tuple[str, ...], _cov: Coverage) -> list[tuple[int, float]]:
    from hotspots.models.disruption import coverage_curve

    return coverage_curve(_cov, K_MAX, time_limit=CURVE_TIME_LIMIT_S)


@st.cache_data(show_spinner=False, max_entries=16)
def _map_html(fingerprint: str, settings_key: str, dp: DisruptionParams, candidates: str,
              existing: str, months: tuple[str, ...], k: int, uploads: tuple[str, ...],
              _cov: Coverage, _plan: SitePlan, _graph: nx.MultiDiGraph, _settings: Settings
              ) -> str:
    return map_page(_cov, _plan, _graph, dp, months, _settings, uploads=uploads)


# ------------------------------------------------------------------------------------ widgets


def _upload(label: str, key: str, help_text: str) -> Upload | None:
    if not auth.may("upload"):  # the server refuses the upload too (hotspots.ui.server)
        st.caption(md_escape(f"{label}: uploading needs the analyst role."))
        return None
    file = st.file_uploader(label, type=list(UPLOAD_TYPES), key=key, help=help_text,
                            max_upload_size=UPLOAD_MAX_MB)
    if file is None:
        return None
    content = file.getvalue()
    # Checked here too, on the server: the browser's cap is only the page's own word.
    if len(content) > UPLOAD_MAX_MB * 1024 * 1024:
        show_error(InputError(f"{file.name}: {len(content) / 1e6:.1f} MB; site files may be at "
                              f"most {UPLOAD_MAX_MB} MB. The file is left out."))
        return None
    return Upload(name=str(file.name), content=content)


def controls(params: Params) -> Controls:
    """Draw the Disruption view's sidebar section; return its values with the shared filters."""
    with st.sidebar:
        st.header("Disruption sites")
        k = st.slider("New sites (k)", 1, K_MAX, K_DEFAULT, key="dis_k", persist_state=KEEP,
                      help="How many new stop-check or patrol sites to choose. The coverage "
                           "curve below the table shows what each extra site adds.")
        mode = st.radio("Reach", [DRIVE, STRAIGHT], horizontal=True, key="dis_reach",
                        persist_state=KEEP,
                        format_func=lambda m: "Drive time" if m == DRIVE else "Straight line",
                        help="Drive time: along the SRN at congestion-free class speeds, then "
                             "the straight line x 1.3 at 40 km/h to the incident. Straight "
                             "line: distance as the crow flies.")
        if mode == DRIVE:
            minutes = st.slider("Minutes by road", 2, 30, MINUTES_DEFAULT, key="dis_minutes",
                                persist_state=KEEP,
                                help="A site covers the incidents within this drive time.")
            reach: dict[str, Any] = {"minutes": float(minutes), "radius_m": None}
        else:
            km = st.slider("Kilometres (straight line)", 0.5, 20.0, KM_DEFAULT, step=0.5,
                           key="dis_km", persist_state=KEEP,
                           help="A site covers the incidents within this distance.")
            reach = {"minutes": None, "radius_m": float(km) * 1000.0}
        weight = st.radio("Demand", ["harm", "count"], horizontal=True, key="dis_weight",
                          persist_state=KEEP,
                          format_func=lambda w: "Harm-weighted" if w == "harm"
                          else "Incident counts",
                          help="Harm-weighted: each incident counts with its harm weight (the "
                               "harm table in the settings). Counts: every incident counts 1.")
        boost = st.slider("SOC boost (SOC-linked weight ×)", 1.0, 5.0, 1.0, step=0.5,
                          key="dis_soc", persist_state=KEEP,
                          help="Multiplies the weight of SOC-linked incidents (Drugs, "
                               "Possession of weapons). 1 = no boost; a stronger emphasis is "
                               "a tasking decision to state.")
        candidates = _upload(
            "Your candidate sites (CSV or GeoJSON)", "dis_candidates",
            "Lay-bys or known safe stop sites, added to the SRN junctions and service areas. "
            "CSV: a name column and lon/lat or easting/northing columns; or GeoJSON points "
            "with a name property. Read in memory for this session only; nothing is saved.")
        existing = _upload(
            "Existing sites, e.g. ANPR cameras (CSV or GeoJSON)", "dis_existing",
            "Sites already in place: always in the solution and counted first; k counts new "
            "sites only. Same format as the candidate file.")
    dp = DisruptionParams.from_params(params, weight=str(weight), soc_boost=float(boost),
                                      **reach)
    return Controls(k=int(k), params=dp, candidates=candidates, existing=existing)


# ------------------------------------------------------------------------------------ panels


def _read_upload(upload: Upload | None, what: str, area_key: str = "",
                 area: BaseGeometry | None = None) -> tuple[gpd.GeoDataFrame | None, str]:
    """Parse an upload; report rejected rows; on a one-line error show it and go on without."""
    if upload is None:
        return None, ""
    try:
        sites = _site_file(upload.digest, upload.name, area_key, upload.content, area)
    except HotspotsError as exc:
        show_error(InputError(f"{exc} The {what} file is left out."))
        return None, ""
    rejected = list(sites.attrs.get("rejected", []))
    if rejected:
        st.warning(md_escape(f"{upload.name}: {len(rejected):,} row"
                             f"{'s' if len(rejected) != 1 else ''} rejected, "
                             f"{len(sites):,} site{'s' if len(sites) != 1 else ''} used "
                             f"as {what}."))
        # st.dataframe shows cells as plain text: user data cannot become markup here.
        st.dataframe(pd.DataFrame({"Line": [int(r.get("line", 0)) for r in rejected],
                                   "Name": [str(r.get("name", "")) for r in rejected],
                                   "Reason": [str(r.get("reason", "")) for r in rejected]}),
                     hide_index=True, width="stretch", key=f"rejected_{what.split()[0]}",
                     height=min(len(rejected) + 1, 6) * 35 + 3)
    return sites, upload.digest


def _summary(cov: Coverage, plan: SitePlan, dp: DisruptionParams) -> None:
    s = plan.summary
    of = "harm" if dp.weight == "harm" else "incidents"
    cols = st.columns(4)
    cols[0].metric(f"Share of the {of} within reach", f"{s['covered_share']:.0%}",
                   help=f"{s['reach'].capitalize()} of at least one of the {len(plan.sites)} "
                        "new sites" + (" or an existing site" if len(plan.existing) else "")
                        + ". Shares are of the mapped incidents.")
    cols[1].metric("Incidents within reach",
                   f"{int(s['covered_incidents']):,} of {int(s['total_incidents']):,}",
                   help="Mapped incidents within reach of a site; incidents without a "
                        "location cannot be covered.")
    if plan.method == "mclp" and s.get("proven_optimal"):
        method = "Exact (optimal)"
    else:
        method = f"{plan.method.upper() if plan.method == 'mclp' else 'Greedy'} · gap " \
                 f"{plan.gap:.1%}"
    cols[2].metric("Method", method,
                   help="Maximal covering location problem solved exactly (HiGHS); if not "
                        f"proven optimal within {CHOOSE_TIME_LIMIT_S:g} s, the better of the "
                        "solver's answer and greedy, with the gap to the best possible.")
    own = int((~cov.sites["kind"].astype(str).isin(("junction", "services", "slip"))
               & ~cov.sites["existing"].astype(bool)).sum())
    cols[3].metric("Candidate sites", f"{int(cov.params['candidates']):,}"
                   + (f" ({own} yours)" if own else ""),
                   help="Named SRN junctions and motorway service areas on the SRN within "
                        "10 km of the selected forces' areas, plus any uploaded candidate sites.")
    if s["covered_share"] >= SATURATED_SHARE:
        st.info(f"The sites reach {s['covered_share']:.0%} of the {of}: at this reach many "
                "sets of sites cover almost everything, and the choice among equally good "
                "ones is arbitrary. Shorten the reach or lower k to tell sites apart.")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Format a :func:`rank_table` for ``st.table``: Markdown-escaped text, shares with %.

    ``st.table`` renders Markdown in its cells and wraps long text (the rationale stays
    readable on a shared screen), so every data string is escaped.
    """
    out = pd.DataFrame({
        "Rank": table["Rank"].astype(str).map(md_escape),
        "Site": table["Site"].map(md_escape),
        **({"Force": table["Force"].map(md_escape)} if "Force" in table else {}),
        "Roads": table["Roads"].map(md_escape),
        "Covered": table["Covered"].map(lambda v: f"{int(v):,}"),
        "Covered share": table["Covered share"].map(lambda v: f"{float(v):.1f}%"),
        "Cumulative share": table["Cumulative share"].map(lambda v: f"{float(v):.1f}%"),
        "Crime mix": table["Crime mix"].map(md_escape),
        "Rationale": table["Rationale"].map(md_escape),
    })
    return out.set_index("Rank")


def _site_table(plan: SitePlan, dp: DisruptionParams, settings: Settings) -> None:
    of = "harm" if dp.weight == "harm" else "incidents"
    several = len(dp.crimes_params().force_list(settings)) > 1

    def labels(frame: pd.DataFrame) -> list[str] | None:
        return site_forces(frame, settings) if several else None

    st.table(display_table(rank_table(plan.sites, forces=labels(plan.sites))))
    if len(plan.existing):
        st.caption("Existing sites, counted before the new ones:")
        st.table(display_table(rank_table(plan.existing, existing=True,
                                          forces=labels(plan.existing))))
    st.caption(f"Ranked by added coverage: rank 1 adds the most, and each later site counts "
               f"only what no site above it (or existing site) reaches. Covered, covered share "
               f"(of the {of}) and crime mix are what the site reaches on its own, "
               f"{md_escape(plan.summary['reach'])}; cumulative share is the sites up to this "
               "rank together.")


def _curve_chart(curve: Sequence[tuple[int, float]], k: int, plan: SitePlan,
                 dp: DisruptionParams) -> None:
    of = "harm" if dp.weight == "harm" else "incidents"
    data = curve_frame(curve, k, float(plan.summary.get("existing_share", 0.0)))
    if data.empty:
        st.info("No coverage curve for this selection.")
        return
    x = alt.X("k:O", title="Number of new sites (k)", axis=alt.Axis(labelAngle=0))
    y = alt.Y("share:Q", title=f"Share of the {of} within reach",
              scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))
    tips = [alt.Tooltip("k:O", title="Sites"),
            alt.Tooltip("share:Q", title="Within reach", format=".1%"),
            alt.Tooltip("gain:Q", title="Added by the last site", format="+.1%")]
    base = alt.Chart(data)
    bars = base.mark_bar(color="#0072B2", opacity=0.85).encode(
        x=x, y=y, tooltip=tips,
        color=alt.condition("datum.chosen", alt.value("#D55E00"), alt.value("#0072B2")))
    labels = base.mark_text(dy=-7, fontSize=11, color="#333333").encode(
        x=x, y=y, text=alt.Text("share:Q", format=".0%"))
    chart = alt.layer(bars, labels).properties(
        height=300, title=alt.TitleParams(
            f"Best coverage for each number of sites (chosen: k = {k}, in orange)",
            anchor="start", fontSize=13))
    left, right = st.columns([3, 1])
    with left:
        st.altair_chart(chart, width="stretch")
    with right:
        row = data[data["chosen"]]
        if len(row):
            st.metric(f"With k = {k}", f"{float(row['share'].iloc[0]):.0%}",
                      help="The best set of k sites (the curve's value at the chosen k).")
        nxt = data[data["k"] == k + 1]
        if len(nxt):
            st.metric(f"Adding site {k + 1}", f"+{float(nxt['gain'].iloc[0]) * 100:.1f} points",
                      help="What the best set of one more site adds to the share.")
        for target in (0.8, 0.9):
            need = sites_for_target(curve, target)
            st.metric(f"Sites for {target:.0%}", str(need) if need else f"over {len(curve)}",
                      help=f"The fewest new sites whose best set reaches {target:.0%} of the "
                           f"{of} (from the curve).")
    st.caption("Each bar is its own optimum: the best k sites need not contain the best k − 1, "
               "so the table's cumulative share can sit a little below the bar at the same "
               "rank. Bars stop at the number of candidates when there are fewer than "
               f"{K_MAX}.")


def _about() -> None:
    with st.expander("Method, data and caveats"):
        st.markdown(
            "- **Maximal covering location problem** (MCLP; Church & ReVelle 1974): choose k "
            "sites so that as much of the period's crime as possible lies within the reach of "
            "at least one of them. Solved exactly with HiGHS; if optimality is not proven in "
            f"{CHOOSE_TIME_LIMIT_S:g} s the better of the solver's answer and the greedy "
            "solution is shown, with the gap to the best possible.\n"
            "- **Reach**: *drive time* by the SRN drive-time model (along the SRN at "
            "congestion-free class speeds, then the straight line x 1.3 at 40 km/h from the "
            "best exit), or a *straight-line* distance.\n"
            "- **Demand**: the selected incidents merged by police.uk map point, weighted by "
            "harm (the harm table in the settings) or counted; the SOC boost multiplies "
            "SOC-linked incidents' weight. Incidents without a location cannot be covered.\n"
            "- **Candidates**: named SRN junctions and motorway service areas on the SRN "
            "within about 15 km of the force area (the road graph of the Corridors view), plus "
            "uploaded sites. The `hotspots disrupt` command offers the whole shipped network; "
            "on the shipped data both choose the same sites at 10 minutes, while at long "
            "reaches several sets cover the same share and either may be shown. Existing "
            "sites are always in the solution and counted first.\n"
            "- **Catchments** on the map: the area within "
            f"{wording.format_metres(site_maps.CATCHMENT_BUFFER_M)} of the incident locations a "
            f"site reaches, gaps under {wording.format_metres(site_maps.CATCHMENT_CLOSE_M)} "
            "filled. Demand is drawn as one circle per 1 km square: blue within reach of a "
            "site, orange out of reach of every site.\n"
            "- **Coverage means within reach, not intercepted.** Speeds are congestion-free "
            "planning speeds; a vehicle may turn at any HAPMS section end. Whether a stop-check "
            "disrupts offending, or displaces it, is for evaluation after deployment.\n"
            f"- {SOC_NOTE}")


def disruption_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                    params: Params, graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph]
                    ) -> None:
    """The Disruption view: ranked sites on the map, the table, the coverage curve.

    Parameters
    ----------
    settings : Settings
    key : str
        The dashboard's settings key (part of every cache key).
    fingerprint : str
        The store fingerprint (part of every cache key).
    months : tuple of str
        Months the store holds.
    params : Params
        The shared filters.
    graph : networkx.MultiDiGraph or callable
        The dashboard's cached SRN graph (or a function returning it).
    """
    ctl = controls(params)
    dp, k = ctl.params, ctl.k
    sel = dp.crimes_params()
    reach = (f"within {dp.minutes:g} minutes by road" if dp.minutes is not None
             else f"within {dp.radius_m / 1000:g} km (straight line)")
    show_header("Suggested disruption points", sel.crimes(), sel.area_label(),
                wording.period_label(dp.start, dp.end), f"{k} site{'s' if k != 1 else ''} {reach}",
                marking=settings.marking)

    try:
        area_geom = sel.to_selection(settings).geometry
    except HotspotsError:
        area_geom = None  # the selection's own error is shown by the analysis below
    area_key = f"{sel.area}"
    cand, cand_digest = _read_upload(ctl.candidates, "candidate sites", area_key, area_geom)
    exist, exist_digest = _read_upload(ctl.existing, "existing sites", area_key, area_geom)
    uploads = tuple(f"{len(f):,} {what} from {u.name} (uploaded)" for f, u, what in
                    ((cand, ctl.candidates, "candidate sites"),
                     (exist, ctl.existing, "existing sites")) if f is not None and u)
    cov = plan = curve = None
    g = graph() if callable(graph) else graph
    try:
        sel.selection()  # no crime chosen: one clear message
        with st.spinner("Building the coverage..."):
            cov = _coverage(fingerprint, key, dp, cand_digest, exist_digest, months, g, cand,
                            exist, settings)
            plan = _plan(fingerprint, key, dp, cand_digest, exist_digest, months, k, cov)
    except HotspotsError as exc:
        show_error(exc)
    if cov is not None and plan is not None:
        if dp.soc_boost != 1.0 and not cov.params.get("soc_incidents"):
            st.info("No SOC-linked incident is in the selection: the SOC boost changes nothing. "
                    "Add the SOC-linked group to use it.")
        _summary(cov, plan, dp)
        own = sel.force_list(settings)
        if len(own) > 1:
            inc = _incidents(fingerprint, key, sel, settings)
            st.caption(md_escape(force_counts_line(force_counts(inc, own))))
        try:
            html = _map_html(fingerprint, key, dp, cand_digest, exist_digest, months, k,
                             uploads, cov, plan, g, settings)
        except HotspotsError as exc:
            show_error(exc)
        else:
            st.iframe(meeting.map_page(html), height=MAP_HEIGHT, alt="Disruption map")
            if auth.may("export"):  # a viewer gets no download (the producer checks too)
                slug = re.sub(r"[^a-z0-9]+", "-", dp.area.lower()).strip("-")
                left, right = st.columns(2)
                # Audited like every other download: the line is written when the button is
                # clicked, before the bytes are served.
                base = downloads.selection_filters(
                    sel, settings, view="disruption", k=k, minutes=dp.minutes,
                    radius_m=dp.radius_m, weight=dp.weight, soc_boost=dp.soc_boost,
                    uploads=list(uploads))
                user = downloads.signed_in_user()
                map_name = f"disruption-{slug}-{dp.start}-{dp.end}.html"
                csv_name = f"disruption-sites-{slug}-{dp.start}-{dp.end}.csv"
                left.download_button(
                    "Download this map (HTML, works offline)",
                    downloads.producer("disruption.html", base, map_name, settings,
                                       html.encode("utf-8"), user=user),
                    file_name=map_name, mime="text/html", key="download_disruption_map",
                    on_click="ignore")
                right.download_button(
                    "Download the ranked sites (CSV)",
                    downloads.producer("disruption-sites.csv", base, csv_name, settings,
                                       _sites_csv(plan, settings.marking, g).encode("utf-8"),
                                       user=user),
                    file_name=csv_name, mime="text/csv", key="download_disruption_csv",
                    on_click="ignore")

    st.subheader("Sites ranked by added coverage", anchor=False)
    if plan is not None:
        _site_table(plan, dp, settings)
    else:
        st.info("No site ranking for this selection.")
    st.subheader("What each extra site adds", anchor=False)
    if cov is not None and plan is not None:
        try:
            curve = _curve(fingerprint, key, dp, cand_digest, exist_digest, months, cov)
        except HotspotsError as exc:
            show_error(exc)
    if curve is not None and plan is not None:
        _curve_chart(curve, k, plan, dp)
    else:
        st.info("No coverage curve for this selection.")
    _about()
    show_sources()


def _sites_csv(plan: SitePlan, marking: str | None = None,
               graph: nx.MultiDiGraph | None = None) -> str:
    """The ranked sites as CSV, each credited to its own data source (the graph's)."""
    from hotspots.pack import disruption_frame
    from hotspots.safe_csv import safe_csv

    meta = graph.graph if graph is not None else {}
    frame = disruption_frame(plan, str(meta.get("source", "")),
                             meta.get("osm_services", ())).drop(columns=["hotspots"])
    return safe_csv(frame, marking)
