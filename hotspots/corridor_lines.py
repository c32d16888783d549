"""The SRN coloured by network kernel density: colour classes and runs of one class as GeoJSON."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.density_image import CLIP_PERCENTILE
from hotspots.errors import InputError, ParameterError
from hotspots.geojson import collection, feature, wgs84_geoms
from hotspots.leaflet import esc
from hotspots.spatial.crs import BNG
from hotspots.wording import format_break, two_figures

__all__ = [
    "APPROXIMATE_DASH",
    "NETWORK_CMAP",
    "NETWORK_ZERO_COLOUR",
    "CorridorLines",
    "NetworkClasses",
    "corridor_lines",
    "network_classes",
]


#: Sequential, perceptually uniform, safe for the common colour-vision deficiencies; dark =
#: dense, as on the hotspot surface.
NETWORK_CMAP = "viridis_r"


#: Roads with no incident within the bandwidth: light grey inside the dark casing.
NETWORK_ZERO_COLOUR = "#d9d9d9"


#: Dash pattern of approximate (derived) alignments, pixels: dash, gap.
APPROXIMATE_DASH = "8 5"


@dataclass(frozen=True)
class NetworkClasses:
    """Colour classes of network density (incidents per km of road).

    Class 0 is "no incident within the bandwidth" (density 0); class ``k`` >= 1 holds densities
    above ``breaks[k - 2]`` (or above 0 for ``k = 1``) up to ``breaks[k - 1]``; the last class
    is open-ended.

    Attributes
    ----------
    breaks : tuple of float
        Upper bounds of every class but the last, increasing.
    colours : tuple of str
        ``#rrggbb`` of class 0, then of classes 1..n.
    peak : float
        Largest density.
    """

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    peak: float = 0.0

    def __post_init__(self) -> None:
        if list(self.breaks) != sorted(set(self.breaks)):
            raise ParameterError("density class breaks must be increasing")
        wanted = len(self.breaks) + 2
        if len(self.colours) != wanted and not (not self.breaks and len(self.colours) == 1):
            raise ParameterError(f"{len(self.breaks)} class breaks need {wanted} colours "
                                 f"(zero class first), got {len(self.colours)}")
        for colour in self.colours:
            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
                raise ParameterError(f"class colour {colour!r} must be a #rrggbb colour")

    def classify(self, density: np.ndarray) -> np.ndarray:
        """Return the class (0..n) of each density."""
        d = np.nan_to_num(np.asarray(density, float), nan=0.0)
        cls = 1 + np.searchsorted(np.asarray(self.breaks, float), d, side="left")
        return np.where(d > 0, cls, 0).astype(np.int64)

    def labels(self) -> list[str]:
        """Return the legend label of each class, class 0 first."""
        out = ["0 (no incident within the bandwidth)"]
        if len(self.colours) <= 1:
            return out
        b = [format_break(v) for v in self.breaks]
        if not b:
            return out + ["above 0"]
        out.append(f"up to {b[0]}")
        out += [f"{lo}–{hi}" for lo, hi in zip(b[:-1], b[1:], strict=True)]
        out.append(f"over {b[-1]}")
        return out


def network_classes(density: np.ndarray, *, n: int = 5, cmap: str = NETWORK_CMAP,
                    gamma: float = 0.5) -> NetworkClasses:
    """Choose colour classes for network densities, as the hotspot surface's colour scale does.

    The top of the scale is the :data:`CLIP_PERCENTILE` percentile of the positive densities;
    breaks are equal steps of ``(density / top) ** gamma`` (square-root steps by default),
    rounded to two significant figures.

    Parameters
    ----------
    density : numpy.ndarray
        Densities, incidents per km of road.
    n : int
        Number of classes above zero.
    cmap : str
        Matplotlib colour map.
    gamma : float
        Scale exponent.

    Returns
    -------
    NetworkClasses
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n < 1:
        raise ParameterError(f"number of density classes {n!r} must be at least 1")
    d = np.nan_to_num(np.asarray(density, float), nan=0.0)
    positive = d[d > 0]
    if not positive.size:
        return NetworkClasses(breaks=(), colours=(NETWORK_ZERO_COLOUR,), peak=0.0)
    top = float(np.percentile(positive, CLIP_PERCENTILE))
    raw = [top * (k / n) ** (1.0 / gamma) for k in range(1, n)]
    breaks = tuple(sorted({v for v in (two_figures(r) for r in raw) if v > 0}))
    k = len(breaks) + 1
    ramp = colormaps[cmap](np.linspace(0.05, 0.95, k))
    colours = (NETWORK_ZERO_COLOUR, *(to_hex(c) for c in ramp))
    return NetworkClasses(breaks=breaks, colours=colours, peak=float(positive.max()))


@dataclass(frozen=True)
class CorridorLines:
    """The road network as WGS84 GeoJSON runs of one colour class, ready for the corridor map.

    Attributes
    ----------
    data : dict
        FeatureCollection of (Multi)LineStrings, lowest class first; ``properties``: ``style``
        (``color``; ``dashArray``/``lineCap`` for approximate alignments; ``className``),
        ``tooltip`` (escaped), ``cls``, ``approximate``.
    classes : NetworkClasses
    surveyed_km, approximate_km : float
        Road drawn, by alignment.
    """

    data: dict
    classes: NetworkClasses
    surveyed_km: float = 0.0
    approximate_km: float = 0.0


def corridor_lines(lixels: gpd.GeoDataFrame, *, classes: NetworkClasses | None = None,
                   clip: BaseGeometry | None = None, simplify_m: float = 5.0) -> CorridorLines:
    """Merge network-density lixels into runs of equal colour class, for a light map.

    Consecutive lixels of one road piece that share their colour class, road and alignment
    source are joined into one line and simplified by ``simplify_m`` metres; the runs of one
    road, class and kind of alignment then make one (multi-)line feature with one tooltip, so
    the page carries tens of features (one SVG path each) instead of ten thousand lixels.

    Parameters
    ----------
    lixels : geopandas.GeoDataFrame
        Output of :func:`hotspots.spatial.corridors.network_kde`, in its order (lixels of a
        piece are consecutive): ``ref``, ``geometry_source``, ``density``, ``length_m``.
    classes : NetworkClasses, optional
        Default: :func:`network_classes` of the densities.
    clip : shapely geometry, optional
        Draw only lixels touching this area (EPSG:27700).
    simplify_m : float
        Douglas-Peucker tolerance, metres.

    Returns
    -------
    CorridorLines
    """
    if lixels.crs is None:
        raise InputError("network density lixels have no coordinate reference system")
    missing = [c for c in ("ref", "geometry_source", "density") if c not in lixels.columns]
    if missing:
        raise InputError(f"network density lixels lack column(s) {', '.join(missing)}")
    lx = lixels.to_crs(BNG) if lixels.crs != BNG else lixels
    geoms = lx.geometry.to_numpy()
    keep = np.ones(len(lx), bool) if clip is None else shapely.intersects(geoms, clip)
    geoms = geoms[keep]
    density = np.nan_to_num(lx["density"].to_numpy(float), nan=0.0)[keep]
    classes = classes or network_classes(density)  # the scale of what is drawn
    if not len(geoms):
        return CorridorLines(data=collection([]), classes=classes)
    cls = classes.classify(density)
    approx = (lx["geometry_source"].astype(str).to_numpy() == "approximate")[keep]
    ref = lx["ref"].astype(str).to_numpy()[keep]
    length = shapely.length(geoms)

    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    lead = np.r_[True, owner[1:] != owner[:-1]]  # first coordinate of each lixel
    first = coords[lead]
    last = coords[np.r_[lead[1:], True]]
    joined = np.zeros(len(geoms), bool)
    joined[1:] = ((np.hypot(*(first[1:] - last[:-1]).T) < 0.01) & (cls[1:] == cls[:-1])
                  & (approx[1:] == approx[:-1]) & (ref[1:] == ref[:-1]))
    run = np.cumsum(~joined) - 1
    use = ~(lead & joined[owner])  # a joined lixel's first point repeats the previous end
    lines = shapely.linestrings(coords[use], indices=run[owner[use]])
    heads = np.flatnonzero(~joined)
    peak = np.maximum.reduceat(density, heads)
    run_len = np.add.reduceat(length, heads)
    lines = shapely.simplify(lines, simplify_m) if simplify_m > 0 else lines

    # One feature (one SVG path) per road, class and alignment kind: the browser draws a few
    # hundred paths, not one per run.
    runs = pd.DataFrame({"cls": cls[heads], "approx": approx[heads], "ref": ref[heads],
                         "peak": peak, "run": np.arange(len(heads))})
    labels = classes.labels()
    geoms_out, props = [], []
    for (c, dashed, road), grp in runs.groupby(["cls", "approx", "ref"], sort=True):
        c, dashed = int(c), bool(dashed)
        parts = lines[grp["run"].to_numpy()]
        geom = parts[0] if len(parts) == 1 else shapely.multilinestrings(parts)
        tip = (f"{road}: no incident within the bandwidth" if c == 0 else
               f"{road}: {labels[c]} incidents per km of road (peak {grp['peak'].max():.1f})")
        if dashed:
            tip += "; approximate alignment"
        style: dict[str, Any] = {"color": classes.colours[c],
                                 "className": "hs-srn hs-srn-approx" if dashed else "hs-srn"}
        if dashed:
            style.update({"dashArray": APPROXIMATE_DASH, "lineCap": "butt"})
        geoms_out.append(geom)
        props.append({"style": style, "tooltip": esc(tip), "cls": c, "approximate": dashed})
    wgs = wgs84_geoms(gpd.GeoSeries(geoms_out, crs=BNG))
    return CorridorLines(
        data=collection(feature(g, pr) for g, pr in zip(wgs, props, strict=True)),
        classes=classes,
        surveyed_km=float(run_len[~approx[heads]].sum() / 1000.0),
        approximate_km=float(run_len[approx[heads]].sum() / 1000.0))
