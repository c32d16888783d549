"""Offline map layers for Gi* hot and cold spots, emerging hot spot patterns and clusters."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element
from shapely.geometry.base import BaseGeometry

from hotspots.base_layers import BaseLayers
from hotspots.config import Settings
from hotspots.count_symbols import CountLayer
from hotspots.errors import ParameterError
from hotspots.geojson import collection, feature, wgs84_geoms
from hotspots.leaflet import ATTRIBUTION, GeoJsonLayer, LegendControl, esc, offline_html
from hotspots.legend import KEY_MARK, Legend, legend_html
from hotspots.maps import build_map
from hotspots.models.emerging import PATTERNS
from hotspots.wording import (
    GISTAR_LABELS,
    capitalise,
    cluster_statement,
    emerging_statement,
    format_share_1dp,
    gistar_statement,
    month_label,
)

__all__ = [
    "CLUSTER_COLOUR",
    "GISTAR_COLOURS",
    "NO_PATTERN",
    "PATTERN_COLOURS",
    "KeyItem",
    "ModelLayer",
    "cluster_layer",
    "cluster_popup_html",
    "emerging_layer",
    "emerging_popup_html",
    "gistar_layer",
    "gistar_popup_html",
    "model_legend_html",
    "model_map",
    "model_map_page",
]

#: Gi* confidence bins in ColorBrewer's RdBu (diverging, safe for the common colour-vision
#: deficiencies): hot spots in reds, cold spots in blues, darker = more confident. Bin 0 (not
#: significant at 90 %) is not drawn.
GISTAR_COLOURS: dict[int, str] = {3: "#B2182B", 2: "#D6604D", 1: "#F4A582",
                                  -1: "#92C5DE", -2: "#4393C3", -3: "#2166AC"}

NO_PATTERN = "no pattern detected"

#: Emerging hot spot patterns: hot classes in warm colours, cold classes in cool ones; the
#: strongest (intensifying, persistent) darkest. Reds and blues from ColorBrewer RdBu, the
#: others from Paul Tol's colour-blind-safe "muted" set. No pattern: not drawn.
PATTERN_COLOURS: dict[str, str] = {
    "intensifying hot spot": "#67001F",
    "persistent hot spot": "#B2182B",
    "consecutive hot spot": "#D6604D",
    "new hot spot": "#F4A582",
    "diminishing hot spot": "#CC6677",
    "sporadic hot spot": "#DDCC77",
    "oscillating hot spot": "#AA4499",
    "historical hot spot": "#999933",
    "intensifying cold spot": "#053061",
    "persistent cold spot": "#2166AC",
    "consecutive cold spot": "#4393C3",
    "new cold spot": "#92C5DE",
    "diminishing cold spot": "#117733",
    "sporadic cold spot": "#44AA99",
    "oscillating cold spot": "#332288",
    "historical cold spot": "#88CCEE",
}

#: Okabe-Ito bluish green: apart from the density ramp and the red/blue of Gi*.
CLUSTER_COLOUR = "#009E73"
CLUSTER_EDGE = "#00573F"

_MODEL_PANE = "hsModel"
_CSS = """
.hs-sw-cell { flex: none; width: 15px; height: 12px; border: 1px solid rgba(0,0,0,0.45); }
.hs-sw-hull { flex: none; width: 16px; height: 12px; border: 2px solid #00573F;
  border-radius: 45% 30% 45% 30%; background: rgba(0,158,115,0.35); }
.hs-keys { margin-top: 3px; }
.hs-mrank span { transform: translate(4px, calc(-100% - 4px)); }
.hs-keys .hs-key { margin-top: 2px; }
"""


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


# ------------------------------------------------------------------------------ the layer


@dataclass(frozen=True)
class KeyItem:
    """One row of a legend's class key.

    Attributes
    ----------
    colour : str
        CSS ``#RRGGBB`` colour of the swatch.
    text : str
        Plain text (escaped when drawn).
    shape : {"cell", "hull"}
        A square cell swatch or a hull swatch.
    """

    colour: str
    text: str
    shape: str = "cell"


@dataclass(frozen=True)
class ModelLayer:
    """A model result ready to draw: polygons with escaped popups, rank labels and legend text.

    Attributes
    ----------
    name : str
        Layer name in the layer control (plain text).
    features : dict
        WGS84 FeatureCollection of polygons; ``properties`` hold the escaped ``popup`` and
        ``tooltip`` and a ``style`` with the polygon's ``fillColor`` and ``className``.
    labels : dict
        WGS84 FeatureCollection of points carrying an escaped ``label`` (ranks), maybe empty.
    title, method : str
        Legend title and one-line statement of method and parameters (plain text).
    key_heading : str
        What the key rows are (plain text).
    key : tuple of KeyItem
    notes : tuple of str
        Further legend notes (plain text).
    style : dict
        Leaflet path options shared by every polygon.
    """

    name: str
    features: dict
    labels: dict
    title: str
    method: str
    key_heading: str
    key: tuple[KeyItem, ...]
    notes: tuple[str, ...] = ()
    style: Mapping[str, Any] | None = None


def _polygons(geoms: gpd.GeoSeries, props: Sequence[Mapping[str, Any]], simplify_m: float = 0.0
              ) -> dict:
    wgs = wgs84_geoms(geoms, simplify_m)
    return collection(feature(g, p) for g, p in
                      zip(wgs, props, strict=True) if g is not None and not g.is_empty)


def _table(rows: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)


# ------------------------------------------------------------------------------ Gi*


def gistar_popup_html(row: Mapping[str, Any]) -> str:
    """Return the escaped popup of one Gi* cell: count, z, p, corrected p and its bin.

    Parameters
    ----------
    row : mapping
        One row of :meth:`hotspots.models.gistar.GiStar.to_frame`.
    """
    b = int(row["bin"])
    head = GISTAR_LABELS.get(b, "Not significant at 90%")
    rows = [("Incidents in the cell", f"{int(row['count']):,}"),
            ("Gi* z-score", f"{_num(row['z']):+.2f}"),
            ("p (two-sided)", f"{_num(row['p']):.2g}"),
            ("p corrected", f"{_num(row['p_corrected']):.2g}"),
            ("Confidence bin", f"{b:+d}" if b else "0"),
            ("Cells in the neighbourhood", f"{int(row['n_neighbours']):,} (itself included)")]
    return f"<div class='hs-pop'><b>{esc(head)}</b><table>{_table(rows)}</table></div>"


def gistar_layer(cells: gpd.GeoDataFrame, *, crimes: str, area: str, start: str, end: str,
                 missing: Sequence[str] = (), unmapped: int = 0) -> ModelLayer:
    """Turn Gi* grid cells into a map layer: significant cells coloured by confidence bin.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        :meth:`hotspots.models.gistar.GiStar.to_frame` (EPSG:27700), ``attrs["params"]`` set.
    crimes : str
        The crime selection in words.
    area : str
        The study area in words.
    start, end : str
        Period, ``YYYY-MM``.
    missing : sequence of str
        Months of the period without published data.
    unmapped : int
        Incidents of the selection without a location (said in a note).

    Returns
    -------
    ModelLayer
        Only cells with a non-zero bin are drawn (not significant at 90 %: transparent).
    """
    params = cells.attrs.get("params")
    if not params:
        raise ParameterError("Gi* cells carry no attrs['params']; pass GiStar.to_frame()")
    sig = cells[cells["bin"].astype(int) != 0]
    sig = sig.iloc[np.argsort(-np.abs(sig["bin"].to_numpy()), kind="stable")]
    props = []
    for row in sig.to_dict("records"):
        b = int(row["bin"])
        tip = (f"{GISTAR_LABELS[b]}: {int(row['count']):,} incident"
               f"{'' if int(row['count']) == 1 else 's'} in the cell, z {_num(row['z']):+.1f}")
        props.append({"popup": gistar_popup_html(row), "tooltip": esc(tip),
                      "style": {"fillColor": GISTAR_COLOURS[b],
                                "className": f"hs-gistar hs-gistar-{'hot' if b > 0 else 'cold'}"}})
    counts = sig["bin"].astype(int).value_counts()
    key = tuple(KeyItem(GISTAR_COLOURS[b], f"{GISTAR_LABELS[b]} ({int(counts.get(b, 0)):,} "
                                           f"cell{'' if counts.get(b, 0) == 1 else 's'})")
                for b in (3, 2, 1, -1, -2, -3) if counts.get(b, 0))  # no empty classes
    n_cells = int(params.get("n_cells") or len(cells))
    notes = [f"{int(params.get('n_points_in_study', 0)):,} mapped incidents in "
             f"{n_cells:,} study cells (empty cells included: they are the low values cold "
             "spots are made of)."]
    if params.get("n_points_outside"):
        notes.append(f"{int(params['n_points_outside']):,} mapped incidents fall outside the "
                     "study cells and are not counted.")
    notes.append("Bins on the corrected p: 99% at p ≤ 0.01, 95% at p ≤ 0.05, 90% at p ≤ 0.10; "
                 "hot where z > 0, cold where z < 0. Click a cell for its figures.")
    if (sig["bin"].astype(int) < 0).any():
        notes.append("A cold spot is quieter than the area's own average, not a safe place.")
    if unmapped:
        notes.append(f"{int(unmapped):,} incidents have no location and are not mapped.")
    return ModelLayer(
        name="Gi* hot and cold spots", features=_polygons(sig.geometry, props), labels=
        collection([]), title=f"{capitalise(crimes)}: Gi* hot and cold spots, {area}",
        method=gistar_statement(params, start=start, end=end, crimes=crimes, missing=missing),
        key_heading="Cells by confidence (not significant at 90%: not drawn)", key=key,
        notes=tuple(notes),
        style={"color": "#ffffff", "weight": 0.6, "opacity": 0.9, "fill": True,
               "fillOpacity": 0.78})


# ------------------------------------------------------------------------------ emerging


def emerging_popup_html(row: Mapping[str, Any], periods: Sequence[str]) -> str:
    """Return the escaped popup of one emerging hot spot cell: pattern, steps and trend.

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.models.emerging.emerging_hotspots`.
    periods : sequence of str
        The time step labels, oldest first (``attrs["params"]["periods"]``).
    """
    steps = len(periods)
    rows = [("Incidents over the steps", f"{int(row['count']):,}"),
            ("Steps hot (90%+)", f"{int(row['n_hot'])} of {steps}"),
            ("Steps cold (90%+)", f"{int(row['n_cold'])} of {steps}"),
            ("Gi* z, last step", f"{_num(row['final_z']):+.2f}"),
            ("Trend of z (Mann-Kendall)", f"τ {_num(row['trend_tau']):+.2f}, "
                                          f"p {_num(row['trend_p']):.2g}")]
    bins = str(row.get("bins") or "").split()
    listing = ""
    if bins and len(bins) == steps:
        listing = ("<div class='hs-sub'>Confidence bin per step</div><table>"
                   + "".join(f"<tr><th class='hs-ind'>{esc(month_label(p))}</th>"
                             f"<td>{esc(b)}</td></tr>" for p, b in zip(periods, bins,
                                                                       strict=True))
                   + "</table>")
    return (f"<div class='hs-pop'><b>{esc(capitalise(str(row['pattern'])))}</b>"
            f"<table>{_table(rows)}</table>{listing}</div>")


def emerging_layer(cells: gpd.GeoDataFrame, *, crimes: str, area: str,
                   unmapped: int = 0) -> ModelLayer:
    """Turn emerging hot spot results into a map layer: cells coloured by pattern class.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        :func:`hotspots.models.emerging.emerging_hotspots` output, ``attrs["params"]`` set.
    crimes : str
        The crime selection in words.
    area : str
        The study area in words.
    unmapped : int
        Incidents without a location (said in a note).

    Returns
    -------
    ModelLayer
        Cells with a pattern, coloured by :data:`PATTERN_COLOURS`; "no pattern detected" is
        not drawn. The key lists the classes present, in ArcGIS Pro's order, with counts.
    """
    params = cells.attrs.get("params")
    if not params:
        raise ParameterError("emerging cells carry no attrs['params']; pass the output of "
                             "emerging_hotspots")
    pattern = cells["pattern"].astype(str)
    unknown = sorted(set(pattern) - set(PATTERN_COLOURS) - {NO_PATTERN})
    if unknown:
        raise ParameterError(f"unknown emerging pattern(s): {', '.join(unknown)}")
    drawn = cells[pattern != NO_PATTERN]
    periods = [str(p) for p in params.get("periods") or []]
    props = []
    for row in drawn.to_dict("records"):
        name = str(row["pattern"])
        side = "hot" if name.endswith("hot spot") else "cold"
        tip = (f"{capitalise(name)}: {int(row['count']):,} incidents, hot in {int(row['n_hot'])} "
               f"of {len(periods)} steps")
        props.append({"popup": emerging_popup_html(row, periods), "tooltip": esc(tip),
                      "style": {"fillColor": PATTERN_COLOURS[name],
                                "className": f"hs-emerging hs-emerging-{side}"}})
    counts = drawn["pattern"].astype(str).value_counts()
    key = tuple(KeyItem(PATTERN_COLOURS[name], f"{capitalise(name)} ({int(counts[name]):,} "
                                               f"cell{'' if counts[name] == 1 else 's'})")
                for name in PATTERNS if name in counts.index)
    notes = [f"{int((pattern == NO_PATTERN).sum()):,} of {len(cells):,} cells: no pattern "
             "detected (not drawn). Classes absent from this map are not listed; each cell's "
             "popup says what its pattern means."]
    notes += [f"{capitalise(str(w))}." for w in params.get("warnings") or []]
    if params.get("n_outside_study"):
        notes.append(f"{int(params['n_outside_study']):,} mapped incidents fall outside the "
                     "study cells and are not counted.")
    if unmapped:
        notes.append(f"{int(unmapped):,} incidents have no location and are not mapped.")
    return ModelLayer(
        name="Emerging hot spot patterns", features=_polygons(drawn.geometry, props),
        labels=collection([]),
        title=f"{capitalise(crimes)}: emerging hot spots, {area}",
        method=emerging_statement(params, crimes=crimes),
        key_heading="Cells by pattern (ArcGIS Pro's definitions)", key=key, notes=tuple(notes),
        style={"color": "#ffffff", "weight": 0.6, "opacity": 0.9, "fill": True,
               "fillOpacity": 0.8})


# ------------------------------------------------------------------------------ clusters


def _mix(value: Any, limit: int = 6) -> list[tuple[str, int]]:
    if isinstance(value, Mapping):
        items = [(str(k), int(v)) for k, v in value.items()]
        return sorted(items, key=lambda kv: -kv[1])[:limit]
    return []


def cluster_popup_html(row: Mapping[str, Any], *, total: int, mapped: int) -> str:
    """Return the escaped popup of one cluster: incidents, crime mix, months, top locations.

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.models.clusters.find_clusters`.
    total : int
        Number of clusters ("3 of 29").
    mapped : int
        Mapped incidents clustered over (for the share).
    """
    n = int(row["incidents"])
    share = f" ({format_share_1dp(n / mapped)} of mapped)" if mapped else ""
    rows = [("Incidents", f"{n:,}{share}"),
            ("Map points", f"{int(row['locations']):,}"),
            ("First month", month_label(str(row["first_month"]))),
            ("Last month", month_label(str(row["last_month"]))),
            ("Months with incidents", f"{int(row['months_active']):,}"),
            ("Hull area", f"{_num(row['area_km2']):.2f} km²")]
    mix = _mix(row.get("by_type")) or _mix(row.get("by_group"))
    listing = ""
    if mix:
        listing += ("<div class='hs-sub'>Crime mix</div><table>"
                    + "".join(f"<tr><th class='hs-ind'>{esc(t)}</th><td>{v:,}</td></tr>"
                              for t, v in mix) + "</table>")
    places = [p.strip() for p in str(row.get("top_locations") or "").split(";") if p.strip()]
    if not places and row.get("top_location"):
        places = [str(row["top_location"])]
    if places:
        listing += ("<div class='hs-sub'>Top locations</div><ol>"
                    + "".join(f"<li>{esc(p)}</li>" for p in places[:5]) + "</ol>")
    head = f"Cluster {int(row['cluster'])} of {int(total)}"
    return f"<div class='hs-pop'><b>{esc(head)}</b><table>{_table(rows)}</table>{listing}</div>"


def cluster_layer(clusters: gpd.GeoDataFrame, *, crimes: str, area: str, start: str, end: str,
                  missing: Sequence[str] = (), label_top: int = 10) -> ModelLayer:
    """Turn density clusters into a map layer: hull polygons with popups, numbered by size.

    Parameters
    ----------
    clusters : geopandas.GeoDataFrame
        :func:`hotspots.models.clusters.find_clusters` output (EPSG:27700),
        ``attrs["params"]`` set.
    crimes : str
        The crime selection in words.
    area : str
        The study area in words.
    start, end : str
        Period, ``YYYY-MM``.
    missing : sequence of str
        Months of the period without published data.
    label_top : int
        Clusters numbered 1..``label_top`` get a rank label on the map.

    Returns
    -------
    ModelLayer
    """
    params = clusters.attrs.get("params")
    if not params:
        raise ParameterError("clusters carry no attrs['params']; pass find_clusters output")
    total = len(clusters)
    mapped = int(params.get("mapped", 0))
    props = []
    for row in clusters.to_dict("records"):
        tip = (f"Cluster {int(row['cluster'])}: {int(row['incidents']):,} incidents, "
               f"{row.get('top_location') or 'no location name'}")
        props.append({"popup": cluster_popup_html(row, total=total, mapped=mapped),
                      "tooltip": esc(tip), "style": {"className": "hs-cluster"}})
    # Largest first in the data, so smaller hulls inside bigger ones are drawn on top.
    features = _polygons(clusters.geometry, props)
    top = clusters[clusters["cluster"].astype(int) <= label_top]
    pts = wgs84_geoms(gpd.GeoSeries(top.geometry.representative_point(),
                                    crs=clusters.crs))
    labels = collection(
        feature(p, {"label": esc(int(c)), "rank": int(c)})
        for p, c in zip(pts, top["cluster"], strict=True))
    clustered = int(params.get("clustered_incidents", int(clusters["incidents"].sum())))
    share = f" ({clustered / mapped:.0%})" if mapped else ""
    key = (KeyItem(CLUSTER_COLOUR, f"Cluster hull, numbered by size: {total:,} cluster"
                                   f"{'' if total == 1 else 's'} hold {clustered:,} of "
                                   f"{mapped:,} mapped incidents{share}", shape="hull"),)
    notes = []
    if params.get("noise_incidents") is not None:
        notes.append(f"{int(params['noise_incidents']):,} mapped incidents are in no cluster "
                     "(noise).")
    notes += [f"{capitalise(str(n))}." if not str(n).endswith(".") else capitalise(str(n))
              for n in params.get("notes") or []]
    if params.get("unmapped"):
        notes.append(f"{int(params['unmapped']):,} incidents have no location and are not "
                     "clustered.")
    if not total:
        notes.insert(0, "No cluster found with these parameters.")
    return ModelLayer(
        name="Clusters", features=features, labels=labels,
        title=f"{capitalise(crimes)}: density clusters, {area}",
        method=cluster_statement(params, start=start, end=end, crimes=crimes, missing=missing),
        key_heading="Clusters (click a hull for its details)", key=key, notes=tuple(notes),
        style={"color": CLUSTER_EDGE, "weight": 2.0, "opacity": 0.95, "fill": True,
               "fillColor": CLUSTER_COLOUR, "fillOpacity": 0.33})


# ------------------------------------------------------------------------------ legend, map


def _key_html(layer: ModelLayer) -> str:
    rows = []
    for item in layer.key:
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", item.colour):
            raise ParameterError(f"key colour {item.colour!r} must be a #RRGGBB colour")
        swatch = ("<span class='hs-sw-hull'></span>" if item.shape == "hull" else
                  f"<span class='hs-sw-cell' style='background:{item.colour}'></span>")
        rows.append(f"<div class='hs-key'>{swatch}<span>{esc(item.text)}</span></div>")
    return (f"<div class='hs-sub'>{esc(layer.key_heading)}</div><div class='hs-keys'>"
            + "".join(rows) + "</div>")


def model_legend_html(layer: ModelLayer, *, counts: Sequence[CountLayer] = (),
                      marking: str = "", notes: Sequence[str] = ()) -> str:
    """Return the legend of a model map: :func:`hotspots.legend.legend_html` plus the class key.

    Parameters
    ----------
    layer : ModelLayer
    counts : sequence of CountLayer
        Count symbol layers shown on the map (keyed as on the hotspot map).
    marking : str
        Protective marking.
    notes : sequence of str
        Notes added after the layer's own (plain text).

    Returns
    -------
    str
        HTML, every text escaped; the key follows the method statement.
    """
    legend = Legend(title=layer.title, method=layer.method, counts=tuple(counts),
                    marking=marking, notes=(*layer.notes, *notes))
    body = legend_html(legend)
    if KEY_MARK not in body:
        raise ParameterError("unexpected legend layout from hotspots.legend.legend_html")
    return body.replace(KEY_MARK, _key_html(layer), 1)


def model_map(layer: ModelLayer, *, base: BaseLayers, view: BaseGeometry,
              settings: Settings, counts: Sequence[CountLayer] = (),
              show_services: bool = False, notes: Sequence[str] = (),
              title: str = "Hotspot map", areas: gpd.GeoDataFrame | None = None
              ) -> folium.Map:
    """Build a model map on the hotspot map's base: the layer's polygons, ranks and legend.

    The polygons sit in a pane of their own just below the boundaries and roads, so district
    lines and motorways stay readable over filled cells; rank labels sit above and to the
    right of their polygon, so small hulls stay visible.

    Parameters
    ----------
    layer : ModelLayer
    base : BaseLayers
        From :func:`hotspots.base_layers.load_base_layers`.
    view : shapely geometry
        Study area (EPSG:27700); the map opens fitted to it.
    settings : Settings
    counts : sequence of CountLayer
        Optional count symbols (as on the hotspot map).
    show_services : bool
        Show the service areas on opening.
    notes : sequence of str
        Extra legend notes (plain text).
    title : str
        Page title.
    areas : geopandas.GeoDataFrame, optional
        The ranked patrol areas (EPSG:27700): drawn as the hotspot map draws its areas, with
        their rank numbers, in place of the layer's own numbers.

    Returns
    -------
    folium.Map
        Pass it to :func:`hotspots.leaflet.offline_html`.
    """
    ranked = areas is not None and len(areas) > 0
    pane = folium.map.CustomPane(_MODEL_PANE, z_index=380, pointer_events=True)
    group = folium.FeatureGroup(name=esc(layer.name), overlay=True, control=True, show=True)
    GeoJsonLayer(layer.features, name=f"{esc(layer.name)} (polygons)", control=False,
                 style=dict(layer.style or {}), feature_style=("fillColor", "className"),
                 attribution=esc(ATTRIBUTION["police_uk"]),
                 pane=_MODEL_PANE).add_to(group)
    if layer.labels.get("features") and not ranked:
        GeoJsonLayer(layer.labels, name=f"{esc(layer.name)} (numbers)", point="label",
                     label_class="hs-rank hs-mrank", control=False,
                     interactive=False).add_to(group)
    m = build_map(base=base, view=view, counts=counts, legend=None, settings=settings,
                  show_services=show_services, title=title, overlays=[pane, group],
                  hotspots=areas if ranked else None)
    m.get_root().header.add_child(Element(f"<style>{_CSS}</style>"), name="hs_model_css")
    LegendControl(model_legend_html(layer, counts=counts, marking=settings.marking,
                                    notes=notes)).add_to(m)
    return m


def model_map_page(layer: ModelLayer, **kwargs: Any) -> str:
    """Build a model map and render it to self-contained, offline HTML.

    Parameters
    ----------
    layer : ModelLayer
    **kwargs
        As :func:`model_map`.

    Returns
    -------
    str
    """
    return offline_html(model_map(layer, **kwargs))

