"""The map legend: what it says (:class:`Legend`) and its escaped HTML (:func:`legend_html`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotspots.corridor_lines import NetworkClasses
from hotspots.count_symbols import CountLayer
from hotspots.density_image import CLIP_PERCENTILE, DensityImage
from hotspots.leaflet import esc
from hotspots.wording import format_break, format_density, format_metres, format_share

__all__ = ["KEY_MARK", "Legend", "legend_html"]

#: Where :func:`legend_html` leaves room for a class key (a model map's colours).
KEY_MARK = "<!--hs-key-->"


@dataclass(frozen=True)
class Legend:
    """What the legend says. Strings are plain text: :func:`legend_html` escapes them."""

    title: str
    method: str
    density: DensityImage | None = None
    hotspots_line: str = ""
    counts: tuple[CountLayer, ...] = ()
    roads: bool = True
    marking: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    network: NetworkClasses | None = None
    junction_key: str = ""


def _network_key_html(classes: NetworkClasses) -> str:
    """Legend rows of the network density classes and of the two kinds of alignment."""
    rows = ["<div class='hs-sub'>Network density, incidents per km of road</div>"]
    if len(classes.colours) > 1:
        blocks = "".join(f"<span style='background:{esc(c)}'></span>"
                         for c in classes.colours[1:])
        ticks = ["0", *(format_break(b) for b in classes.breaks), f"{classes.peak:.3g}"]
        rows.append(f"<div class='hs-steps'>{blocks}</div><div class='hs-ticks'>"
                    + "".join(f"<span>{esc(t)}</span>" for t in ticks) + "</div>")
    rows.append(f"<div class='hs-key'><span class='hs-sw-line' "
                f"style='background:{esc(classes.colours[0])}'></span>"
                "<span>No incident within the bandwidth</span></div>"
                "<div class='hs-key'><span class='hs-sw-line' style='background:#ffffff'></span>"
                "<span>Surveyed</span><span class='hs-sw-dash'></span>"
                "<span>Approximate alignment (drawn dashed)</span></div>")
    return "".join(rows)


def legend_html(legend: Legend) -> str:
    """Return the legend's HTML (every text escaped).

    Parameters
    ----------
    legend : Legend

    Returns
    -------
    str
    """
    parts = []
    if legend.marking:
        parts.append(f"<div class='hs-marking'>{esc(legend.marking)}</div>")
    parts.append(KEY_MARK)  # where a model map's class key goes (model_maps)
    if legend.density is not None and legend.density.vmax > 0:
        d = legend.density
        stops = ", ".join(d.colour_stops())
        values = d.tick_values()
        labels = [format_density(v) for v in values]
        if d.clipped:
            labels[-1] += "+"
        ticks = "".join(f"<span>{esc(t)}</span>" for t in labels)
        parts.append(
            "<div class='hs-sub'>Incidents per km²</div>"
            f"<div class='hs-ramp' style='background: linear-gradient(to right, {stops})'></div>"
            f"<div class='hs-ticks'>{ticks}</div>")
    if legend.hotspots_line:
        parts.append("<div class='hs-key'><span class='hs-sw-hot'></span>"
                     f"<span>{esc(legend.hotspots_line)}</span></div>")
    if legend.network is not None:
        parts.append(_network_key_html(legend.network))
    if legend.junction_key:
        circles = "".join(f"<span class='hs-sw-jn' style='width:{d}px;height:{d}px'></span>"
                          for d in (7, 13, 20))
        parts.append(f"<div class='hs-key'>{circles}<span>{esc(legend.junction_key)}</span>"
                     "</div>")
    for c in legend.counts:
        sym = ("<span class='hs-sw-dia' style='background:%s'></span>" if c.shape == "diamond"
               else "<span class='hs-sw-circ' style='background:%s'></span>") % esc(c.colour)
        text = (f"{c.name}: {c.total:,} incidents, per {format_metres(c.cell)} square"
                + (f" (largest {c.max_count:,})" if c.max_count else ""))
        parts.append(f"<div class='hs-key'>{sym}<span>{esc(text)}</span></div>")
    if legend.roads:
        parts.append("<div class='hs-key'><span class='hs-sw-mway'></span><span>Motorway</span>"
                     "<span class='hs-sw-junc'></span><span>SRN junction</span></div>")
    # The method in full, the colour scale's detail and the notes: one click away, so the
    # legend itself stays small over the map.
    how = [f"<div class='hs-method'>{esc(legend.method)}</div>"]
    if legend.density is not None and legend.density.vmax > 0 and legend.density.clipped:
        how.append("<div class='hs-note'>Colour: square-root scale; the densest "
                   f"{esc(format_share((100 - CLIP_PERCENTILE) / 100))} of non-zero cells "
                   "share the top colour.</div>")
    how += [f"<div class='hs-note'>{esc(note)}</div>" for note in legend.notes]
    return ("<details open class='hs-legend-box'><summary><span class='hs-title'>"
            f"{esc(legend.title)}</span></summary>" + "".join(parts)
            + "<div class='hs-how' tabindex='0'><div class='hs-how-head'>How this map was made "
            "▸</div><div class='hs-how-body'>" + "".join(how) + "</div></div></details>")
