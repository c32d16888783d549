"""The dashboard's current view as URL query parameters: encode, decode and validate."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hotspots.months import is_month

__all__ = [
    "BANDWIDTH",
    "GROUPS",
    "LAYERS",
    "METHODS",
    "RADIUS",
    "ROAD_BANDWIDTH",
    "TOP",
    "VIEWS",
    "Choices",
    "Decoded",
    "Range",
    "ViewState",
    "decode",
    "encode",
    "query_string",
]

#: View names as they appear in the URL (the dashboard shows them capitalised); the default
#: of :attr:`Choices.views`, whose first entry is the default view.
VIEWS = ("hotspots", "corridors")
#: Crime groups the sidebar offers (``hotspots.ui.compute.GROUP_LABELS``; a test checks them).
GROUPS = ("acquisitive", "soc", "violence", "asb", "other")
#: Bandwidth methods the sidebar offers (``auto``: back-tested; a test checks them).
METHODS = ("auto", "fixed", "arcgis")
#: Optional map layers of the Hotspots view, in the order they are written.
LAYERS = ("counts", "neighbours", "services")
#: Streamlit's own query parameters: left alone, never reported as unknown.
RESERVED = frozenset({"embed", "embed_options"})
#: Longest piece of a bad value quoted back in a note (the URL is untrusted input).
QUOTE_CHARS = 40

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_KNOWN = ("view", "force", "region", "area", "from", "to", "group", "type", "method",
          "bandwidth", "top", "layer", "neighbours", "radius", "road_bandwidth", "meeting")


@dataclass(frozen=True)
class Range:
    """The values a slider accepts: ``lo`` to ``hi`` in steps of ``step``."""

    lo: float
    hi: float
    step: float

    def accepts(self, value: float) -> bool:
        """True when ``value`` is within the range and on a step."""
        if not (math.isfinite(value) and self.lo <= value <= self.hi):
            return False
        steps = (value - self.lo) / self.step
        return abs(steps - round(steps)) < 1e-9

    def words(self) -> str:
        """The range for a note, e.g. ``"100 to 3000 in steps of 50"``."""
        return f"{self.lo:g} to {self.hi:g} in steps of {self.step:g}"


#: Slider ranges of the dashboard's sidebar (a test checks them against the widgets).
BANDWIDTH = Range(100, 3000, 50)  # metres, fixed bandwidth
TOP = Range(1.0, 20.0, 0.5)  # per cent of the study area marked as hotspot
RADIUS = Range(500, 5000, 250)  # metres, junction radius (Corridors)
ROAD_BANDWIDTH = Range(200, 3000, 100)  # metres along the network (Corridors)


def is_true(value: str | None) -> bool:
    """Whether a URL flag is on (``1``, ``true``, ``yes`` or ``on``, in any case)."""
    return value is not None and value.strip().lower() in _TRUE


@dataclass(frozen=True)
class ViewState:
    """Everything the URL keeps: the selection, the method, its parameters and the view.

    A parameter left at ``None`` is not in the link: the dashboard's default applies (a
    control that was never shown has no value to keep).

    Attributes
    ----------
    view : str
        The view shown, lower case: ``"hotspots"``, ``"corridors"``, ...
    force : str
        The force chosen (its slug), or "" (the dashboard's default, or a region).
    region : str
        The region chosen (its slug), or "".
    area : str
        ``"force"`` or a district name.
    start, end : str
        First and last month, ``YYYY-MM`` (empty: the dashboard's default period).
    groups : tuple of str
        Crime groups, in the order chosen.
    types : tuple of str
        Crime types; when given they replace the groups.
    method : str, optional
        Bandwidth method of the hotspot surface, one of :data:`METHODS`.
    bandwidth : float, optional
        Fixed bandwidth, metres (kept while another method is chosen).
    top : float, optional
        Hotspot share of the study area, per cent (as the slider shows it).
    layers : tuple of str
        Optional map layers shown, a subset of :data:`LAYERS` in that order.
    neighbours : bool
        Corridors: neighbouring forces' near-border incidents included.
    radius : float, optional
        Corridors: junction radius, metres.
    road_bandwidth : float, optional
        Corridors: network density bandwidth, metres.
    options : tuple of (str, str)
        Further choices kept in the URL (e.g. the map method), as ``(parameter, value)`` in
        the order :attr:`Choices.options` lists them.
    meeting : bool
        Meeting mode (shared-screen layout).
    """

    view: str = VIEWS[0]
    force: str = ""
    region: str = ""
    area: str = "force"
    start: str = ""
    end: str = ""
    groups: tuple[str, ...] = ("acquisitive",)
    types: tuple[str, ...] = ()
    method: str | None = None
    bandwidth: float | None = None
    top: float | None = None
    layers: tuple[str, ...] = ()
    neighbours: bool = False
    radius: float | None = None
    road_bandwidth: float | None = None
    options: tuple[tuple[str, str], ...] = ()
    meeting: bool = False


@dataclass(frozen=True)
class Choices:
    """What the store, the boundaries and the dashboard offer, to check a URL against.

    Attributes
    ----------
    months : tuple of str
        Months the store holds, sorted (the period slider offers only these).
    forces : tuple of str
        Force slugs the picker offers (empty: a ``force=`` is not checked, and kept).
    regions : tuple of str
        Region slugs the picker offers.
    districts : tuple of str
        District names (besides ``"force"``).
    types : tuple of str
        Crime types the store holds.
    default_period : tuple of str, optional
        Period used when the URL has none or a bad one; default the last three held months.
    views : tuple of str
        The dashboard's views, lower case; the first is the default.
    options : mapping of str to tuple of str
        Further choice parameters and the values each accepts (e.g. ``{"map": ("kde",
        "gistar")}``); their names must not clash with the parameters above.
    """

    months: tuple[str, ...]
    districts: tuple[str, ...] = ()
    forces: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    default_period: tuple[str, str] | None = None
    views: tuple[str, ...] = VIEWS
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def period(self) -> tuple[str, str]:
        """The default period."""
        if self.default_period is not None:
            return self.default_period
        if not self.months:
            return ("", "")
        return (self.months[max(0, len(self.months) - 3)], self.months[-1])


@dataclass(frozen=True)
class Decoded:
    """A validated view and the notes on what was ignored or replaced by a default."""

    state: ViewState
    notes: tuple[str, ...] = field(default_factory=tuple)


def _num(value: float) -> str:
    return f"{value:g}"


def encode(state: ViewState) -> dict[str, str | list[str]]:
    """Return the query parameters of a view, in a stable order.

    The view, the force or region (when set), the area, period and crimes are always written;
    the method parameters when they have a value; crime types, layers, the neighbours toggle
    and meeting mode only when set. An empty crime-group list is written as one blank
    ``group=`` (no group is not the default).

    Parameters
    ----------
    state : ViewState

    Returns
    -------
    dict
        Parameter name to a value, or to a list of values for repeated parameters
        (``group``, ``type``, ``layer``), as ``st.query_params.from_dict`` takes them.
    """
    out: dict[str, str | list[str]] = {"view": state.view}
    if state.region:
        out["region"] = state.region
    elif state.force:
        out["force"] = state.force
    out["area"] = state.area
    if state.start:
        out["from"] = state.start
    if state.end:
        out["to"] = state.end
    out["group"] = list(state.groups) if state.groups else [""]
    if state.types:
        out["type"] = list(state.types)
    if state.method is not None:
        out["method"] = state.method
    if state.bandwidth is not None:
        out["bandwidth"] = _num(state.bandwidth)
    if state.top is not None:
        out["top"] = _num(state.top)
    if state.layers:
        out["layer"] = [name for name in LAYERS if name in state.layers]
    if state.neighbours:
        out["neighbours"] = "1"
    if state.radius is not None:
        out["radius"] = _num(state.radius)
    if state.road_bandwidth is not None:
        out["road_bandwidth"] = _num(state.road_bandwidth)
    for name, value in state.options:
        out[name] = value
    if state.meeting:
        out["meeting"] = "1"
    return out


def query_string(state: ViewState) -> str:
    """Return the view as a URL query string (without the ``?``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in encode(state).items():
        pairs.extend((key, v) for v in ([value] if isinstance(value, str) else value))
    return urlencode(pairs)


def _quote(value: str) -> str:
    text = " ".join(str(value).split())
    if len(text) > QUOTE_CHARS:
        text = text[:QUOTE_CHARS] + "…"
    return f"“{text}”"


class _Reader:
    """Reads one query, collecting notes about what it cannot use."""

    def __init__(self, query: Mapping[str, str | Sequence[str]]) -> None:
        self.query = {str(k): ([v] if isinstance(v, str) else [str(x) for x in v])
                      for k, v in query.items()}
        self.notes: list[str] = []

    def one(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[-1].strip() if values else None

    def many(self, key: str) -> list[str] | None:
        values = self.query.get(key)
        if values is None:
            return None
        return [p.strip() for v in values for p in v.split(",") if p.strip()]

    def note(self, text: str) -> None:
        self.notes.append(text)

    def choice(self, key: str, options: Sequence[str], what: str) -> str | None:
        raw = self.one(key)
        if raw is None:
            return None
        found = {o.lower(): o for o in options}.get(raw.lower())
        if found is None:
            self.note(f"{what} {_quote(raw)} is not one of {', '.join(options)}: the default "
                      "is used.")
        return found

    def number(self, key: str, rng: Range, what: str) -> float | None:
        raw = self.one(key)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not rng.accepts(value):
            self.note(f"{what} {_quote(raw)} is not a number from {rng.words()}: the default "
                      "is used.")
            return None
        return value

    def flag(self, key: str, what: str) -> bool:
        raw = self.one(key)
        if raw is None or is_true(raw):
            return raw is not None
        if raw.lower() not in _FALSE:
            self.note(f"{what} {_quote(raw)} is not 1 or 0: off.")
        return False


def _period(r: _Reader, choices: Choices) -> tuple[str, str]:
    default = choices.period()
    held = set(choices.months)
    got: dict[str, str | None] = {}
    for key, word in (("from", "First month"), ("to", "Last month")):
        raw = r.one(key)
        got[key] = None
        if raw is None:
            continue
        if not is_month(raw):
            r.note(f"{word} {_quote(raw)} is not a month written YYYY-MM: the default period "
                   "is used.")
        elif raw not in held:
            r.note(f"{word} {raw} has no data in the store: the default period is used.")
        else:
            got[key] = raw
    bad = any(r.one(k) is not None and got[k] is None for k in ("from", "to"))
    start, end = got["from"], got["to"]
    if bad or (start is None and end is None):
        return default
    # One end given: the other from the default period when that makes a period, else the
    # same month.
    if start is None:
        start = default[0] if default[0] <= str(end) else str(end)
    if end is None:
        end = default[1] if default[1] >= start else start
    if start > end:
        r.note(f"The period starts ({start}) after it ends ({end}): the default period is "
               "used.")
        return default
    return start, end


def _groups(r: _Reader) -> tuple[str, ...]:
    values = r.many("group")
    if values is None:
        return ViewState.groups
    out: list[str] = []
    bad: list[str] = []
    for v in values:
        g = v.lower()
        if g not in GROUPS:
            bad.append(v)
        elif g not in out:
            out.append(g)
    if bad:
        r.note("Unknown crime group " + ", ".join(_quote(b) for b in bad[:5])
               + f" ignored (groups: {', '.join(GROUPS)}).")
        if not out:
            return ViewState.groups
    return tuple(out)


def _types(r: _Reader, choices: Choices) -> tuple[str, ...]:
    known = {t.lower(): t for t in choices.types}
    out: list[str] = []
    bad: list[str] = []
    for v in r.query.get("type", []):  # types may hold commas: one per parameter
        if not v.strip():
            continue
        t = known.get(v.strip().lower())
        if t is None:
            bad.append(v)
        elif t not in out:
            out.append(t)
    if bad:
        r.note("Crime type " + ", ".join(_quote(b) for b in bad[:5])
               + " is not in the store: ignored.")
    return tuple(out)


def _layers(r: _Reader) -> tuple[str, ...]:
    values = {v.lower() for v in (r.many("layer") or [])}
    bad = sorted(values - set(LAYERS))
    if bad:
        r.note("Unknown layer " + ", ".join(_quote(b) for b in bad[:5])
               + f" ignored (layers: {', '.join(LAYERS)}).")
    return tuple(name for name in LAYERS if name in values)


def _options(r: _Reader, choices: Choices) -> tuple[tuple[str, str], ...]:
    out = []
    for name, allowed in choices.options.items():
        if name in _KNOWN:
            raise ValueError(f"option parameter {name!r} clashes with a view parameter")
        value = r.choice(name, allowed, f"The {name}")
        if value is not None:
            out.append((name, value))
    return tuple(out)


def _scope(r: _Reader, choices: Choices) -> tuple[str, str]:
    """The link's force or region, as the picker offers them ("" when not given or not
    offered; a region wins over a force)."""
    region = r.one("region")
    if region:
        found = {o.lower(): o for o in choices.regions}.get(region.lower())
        if found is not None:
            return "", found
        r.note(f"Region {_quote(region)} is not one the store holds two forces of"
               + (f" ({', '.join(choices.regions)})" if choices.regions else "")
               + ": the default force is used.")
    force = r.one("force")
    if not force:
        return "", ""
    if not choices.forces:
        return force.lower(), ""
    found = {o.lower(): o for o in choices.forces}.get(force.lower())
    if found is None:
        r.note(f"Force {_quote(force)} is not in the store (forces: "
               f"{', '.join(choices.forces)}): the default force is used.")
        return "", ""
    return found, ""


def decode(query: Mapping[str, str | Sequence[str]], choices: Choices) -> Decoded:
    """Read a view from query parameters, checking every value against what exists.

    A value that cannot be used (an unknown area or group, a month the store does not hold, a
    bandwidth off the slider) is replaced by its default and a note says so; the rest of the
    link still applies. Values are matched without regard to case.

    Parameters
    ----------
    query : mapping
        Parameter name to a value or a list of values (repeated parameters), e.g. from
        ``st.query_params`` or :func:`urllib.parse.parse_qs`.
    choices : Choices
        The months, districts, crime types, views and options that exist.

    Returns
    -------
    Decoded
        The view and the notes (plain text that quotes the URL: escape it for display).
    """
    r = _Reader(query)
    unknown = sorted(k for k in r.query
                     if k not in _KNOWN and k not in choices.options and k not in RESERVED)
    if unknown:
        r.note("Unknown link parameter " + ", ".join(_quote(k) for k in unknown[:5])
               + " ignored.")
    views = tuple(v.lower() for v in choices.views) or VIEWS
    force, region = _scope(r, choices)
    area = r.choice("area", ("force", *choices.districts), "Area")
    start, end = _period(r, choices)
    state = ViewState(
        view=r.choice("view", views, "View") or views[0], force=force, region=region,
        area=area or "force", start=start,
        end=end, groups=_groups(r), types=_types(r, choices),
        method=r.choice("method", METHODS, "Bandwidth method"),
        bandwidth=r.number("bandwidth", BANDWIDTH, "Bandwidth"),
        top=r.number("top", TOP, "Hotspot share"),
        layers=_layers(r),
        neighbours=r.flag("neighbours", "Neighbours"),
        radius=r.number("radius", RADIUS, "Junction radius"),
        road_bandwidth=r.number("road_bandwidth", ROAD_BANDWIDTH, "Network density bandwidth"),
        options=_options(r, choices),
        meeting=r.flag("meeting", "Meeting mode"))
    return Decoded(state=state, notes=tuple(r.notes))
