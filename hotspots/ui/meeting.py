"""Meeting mode for shared screens, and the current view kept in the page's URL."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from hotspots import registry, viewstate, wording
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.significance import CORRECTIONS
from hotspots.ui import link_guard
from hotspots.ui.common import DEFAULT_MONTHS, VIEWS, md_escape
from hotspots.ui.compute import REGION_PREFIX, Params, Scope
from hotspots.viewstate import Choices, ViewState

#: Session-state key of the meeting-mode checkbox.
MEETING_KEY = "meeting"
#: Widget keys of the sidebar (hotspots.ui.dashboard), by ViewState field.
WIDGETS = {
    "view": "view", "scope": "scope", "area": "area", "period": "period", "groups": "groups",
    "types": "types",
    "method": "bw_mode", "bandwidth": "bandwidth", "top": "top", "neighbours": "cor_neighbours",
    "radius": "cor_radius", "road_bandwidth": "cor_bandwidth", "meeting": MEETING_KEY,
}
#: Map-layer checkboxes of the Hotspots view, by ViewState layer name.
LAYER_WIDGETS = {"counts": "show_counts", "neighbours": "show_neighbours",
                 "services": "show_services"}
#: Further choices kept in the URL: parameter -> (widget key, what gives the values it offers;
#: the Hotspots view's map method switcher, :mod:`hotspots.ui.methods`). The map methods are
#: read from the registry when asked, so a method registered later is offered too.
OPTION_WIDGETS = {
    "map": ("hs_method", registry.names),
    "correction": ("hs_correction", lambda: CORRECTIONS),
    "clustering": ("hs_cluster", lambda: CLUSTER_METHODS),
}
#: What each view shows, for the meeting title's second line (other views: their name).
VIEW_WORDS = {"hotspots": "Crime hotspots · the map's legend states the method and its "
                          "parameters",
              "corridors": "SRN corridors: crime along the Strategic Road Network and at its "
                           "junctions"}
#: Height of the map in meeting mode (CSS length).
MAP_HEIGHT = "calc(100vh - 16.6rem)"

#: Session-state key of the view as last written to the URL (for the audit lines).
STATE_KEY = "_hs_view_state"

_RESTORED = "_hs_view_restored"

# Shared-screen page: larger type, black on white, bigger metrics, the map filling the screen;
# the view's own header (the meeting title replaces it) and the map-method switch (the legend
# states the method) are hidden.
_PAGE_CSS = f"""<style>
html {{ font-size: 19px; }}
.stApp, [data-testid="stMain"] {{ background: #ffffff; color: #000000; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 3.4rem; max-width: 100%; }}
[data-testid="stMain"] [data-testid="stLayoutWrapper"]:has(> [data-testid="stHorizontalBlock"] h1),
[data-testid="stMain"] [data-testid="stLayoutWrapper"]:has(.st-key-hs_method) {{
  display: none; }}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {{
  color: #1a1a1a; font-size: 0.95rem; }}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p {{ color: #000000;
  font-size: 1.05rem; font-weight: 600; }}
[data-testid="stMetricValue"] {{ font-size: 2.4rem; font-weight: 700; color: #000000; }}
[data-testid="stMetric"] {{ border-left: 5px solid #0072B2; padding-left: 0.6rem; }}
[data-testid="stTable"] table {{ font-size: 1rem; color: #000000; }}
[data-testid="stMarkdownContainer"] p {{ color: #000000; }}
[data-testid="stMain"] iframe[title$=" map"] {{ height: {MAP_HEIGHT} !important;
  min-height: 480px; border: 2px solid #000000; }}
[data-testid="stElementContainer"]:has(> iframe[title$=" map"]) {{ height: auto !important; }}
.hs-meeting-head {{ display: flex; align-items: center; justify-content: space-between;
  gap: 1.5rem; border-bottom: 4px solid #000000; padding: 0.1rem 0 0.45rem; }}
.hs-meeting-title {{ font-size: 2.5rem; font-weight: 800; line-height: 1.15; color: #000000;
  letter-spacing: -0.01em; }}
.hs-meeting-sub {{ font-size: 1.05rem; color: #1a1a1a; margin-top: 0.15rem; }}
.hs-meeting-mark {{ flex: none; font-size: 1.05rem; font-weight: 800; letter-spacing: 0.05em;
  border: 3px solid #000000; padding: 0.15rem 0.6rem; color: #000000; background: #ffffff; }}
</style>"""

# Inside the map's own page: a larger legend, labels and controls, on opaque white.
_MAP_CSS = """<style>
.hs-legend { zoom: 1.45; max-width: 300px; background: #ffffff; color: #000000;
  border: 2px solid #000000; box-shadow: none; }
.hs-legend summary, .hs-method, .hs-note, .hs-ticks { color: #000000; }
.hs-dlabel span { font-size: 19px; color: #000000; }
.hs-clabel span { font-size: 15px; color: #333333; }
.hs-mlabel span { font-size: 14px; }
.hs-rank span { font-size: 17px; border-width: 2.5px; border-radius: 13px; min-width: 18px; }
.leaflet-control-attribution { font-size: 12px; color: #000000; }
.leaflet-control-zoom a { width: 40px; height: 40px; line-height: 40px; font-size: 26px; }
.leaflet-control-layers { font-size: 16px; }
</style>"""


# ----------------------------------------------------------------------------------- the title


def title_line(params: Params) -> str:
    """The meeting title in plain text: crimes · area · period.

    Parameters
    ----------
    params : Params

    Returns
    -------
    str
        E.g. ``"Acquisitive crime · Rugby · Oct–Dec 2025"`` (not escaped).
    """
    crimes = params.crimes()
    area = params.area_name()
    return (f"{crimes[:1].upper()}{crimes[1:]} · {area} · "
            f"{wording.period_label(params.start, params.end)}")


def title_html(params: Params, *, view: str = "hotspots", marking: str = "") -> str:
    """The meeting title block as HTML; every text escaped.

    Parameters
    ----------
    params : Params
        The selection.
    view : str
        The view shown, as the URL names it (``"hotspots"``, ``"corridors"``, ...).
    marking : str
        Protective marking, boxed at the right.

    Returns
    -------
    str
    """
    what = VIEW_WORDS.get(view, view[:1].upper() + view[1:])
    mark = (f"<div class='hs-meeting-mark'>{html.escape(marking)}</div>"
            if marking.strip() else "")
    return (f"<div class='hs-meeting-head'><div>"
            f"<div class='hs-meeting-title' role='heading' aria-level='1'>"
            f"{html.escape(title_line(params))}</div>"
            f"<div class='hs-meeting-sub'>{html.escape(what)}</div>"
            f"</div>{mark}</div>")


def map_page(page: str, on: bool | None = None) -> str:
    """The map's HTML page, with the larger, high-contrast legend when meeting mode is on.

    Parameters
    ----------
    page : str
        From :func:`hotspots.leaflet.offline_html`.
    on : bool, optional
        Meeting mode; default the page's current state.

    Returns
    -------
    str
        ``page`` unchanged when meeting mode is off.
    """
    if on is None:
        on = is_on()
    if not on:
        return page
    at = page.find("</head>")
    return page[:at] + _MAP_CSS + page[at:] if at >= 0 else _MAP_CSS + page


# ----------------------------------------------------------------------------------- the URL


def _url_query() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def is_on() -> bool:
    """Whether meeting mode is on: the checkbox once drawn, else the ``meeting`` URL flag."""
    if MEETING_KEY in st.session_state:
        return bool(st.session_state[MEETING_KEY])
    values = st.query_params.get_all(MEETING_KEY)
    return bool(values) and viewstate.is_true(values[-1])


def sidebar_state() -> str:
    """``initial_sidebar_state`` for ``st.set_page_config``: collapsed in meeting mode."""
    return "collapsed" if is_on() else "expanded"


def view_labels() -> dict[str, str]:
    """The dashboard's views as its radio labels them, by URL name (``"hotspots"``)."""
    return {label.lower(): label for label in VIEWS}


def option_values() -> dict[str, tuple[str, ...]]:
    """The values each further choice (:data:`OPTION_WIDGETS`) offers."""
    return {name: tuple(str(v) for v in values())
            for name, (_key, values) in OPTION_WIDGETS.items()}


def choices(months: Sequence[str], types: Sequence[str], districts: Sequence[str],
            scopes: Sequence[Scope] = ()) -> Choices:
    """What a link is checked against.

    Parameters
    ----------
    months, types, districts : sequence of str
        Months and crime types the store holds; district names.
    scopes : sequence of Scope
        The force / region picker's choices.

    Returns
    -------
    Choices
        With the sidebar's default period, the dashboard's views and :func:`option_values`.
    """
    months = tuple(months)
    period = ((months[max(0, len(months) - DEFAULT_MONTHS)], months[-1]) if months
              else ("", ""))
    return Choices(months=months, districts=tuple(districts), types=tuple(types),
                   forces=tuple(c.value for c in scopes if not c.region),
                   regions=tuple(c.region for c in scopes if c.region),
                   default_period=period, views=tuple(view_labels()), options=option_values())


def scope_value(state: ViewState) -> str:
    """The picker's value for a view's force or region ("" for neither)."""
    return REGION_PREFIX + state.region if state.region else state.force


def scope_from_url(scopes: Sequence[Scope]) -> Scope | None:
    """The picker's choice the page's link names (``region=`` or ``force=``), or None when it
    names none the picker offers (the link's notes say so once the sidebar is drawn)."""
    query = _url_query()
    state = viewstate.decode({k: v for k, v in query.items() if k in ("force", "region")},
                             choices((), (), (), scopes)).state
    value = scope_value(state)
    return next((c for c in scopes if c.value == value), None) if value else None


def seed_widgets(state: ViewState, session: Any, *, labels: Mapping[str, str] | None = None,
                 single_month: bool = False) -> None:
    """Put a view into the widgets' session state, before the widgets are drawn.

    Parameters left at ``None`` are not touched (the widget's default applies).

    Parameters
    ----------
    state : ViewState
    session : MutableMapping
        ``st.session_state`` (any mutable mapping in tests).
    labels : mapping, optional
        View URL names to radio labels; default :func:`view_labels`.
    single_month : bool
        The store holds one month: there is no period slider to seed.
    """
    labels = view_labels() if labels is None else labels
    if state.view in labels:
        session[WIDGETS["view"]] = labels[state.view]
    if scope_value(state):
        session[WIDGETS["scope"]] = scope_value(state)
    session[WIDGETS["area"]] = state.area
    if not single_month and state.start and state.end:
        session[WIDGETS["period"]] = (state.start, state.end)
    session[WIDGETS["groups"]] = list(state.groups)
    session[WIDGETS["types"]] = list(state.types)
    for name, value in (("method", state.method), ("top", state.top)):
        if value is not None:
            session[WIDGETS[name]] = value
    if state.top is not None:  # a share of the area is the areas' share mode
        session[AREA_MODE] = "share"
    for name, value in (("bandwidth", state.bandwidth), ("radius", state.radius),
                        ("road_bandwidth", state.road_bandwidth)):
        if value is not None:
            session[WIDGETS[name]] = int(value)  # integer sliders
    for name, key in LAYER_WIDGETS.items():
        session[key] = name in state.layers
    session[WIDGETS["neighbours"]] = state.neighbours
    for name, value in state.options:
        if name in OPTION_WIDGETS:
            session[OPTION_WIDGETS[name][0]] = value
    session[WIDGETS["meeting"]] = state.meeting


#: The Hotspots view's radio choosing patrol areas or a share of the area.
AREA_MODE = "area_mode"


def state_from_widgets(session: Mapping[str, Any], params: Params, view: str) -> ViewState:
    """Read the current view back from the widgets (``None`` for controls never shown).

    Parameters
    ----------
    session : Mapping
        ``st.session_state``.
    params : Params
        The selection the sidebar returned (area, period and crimes as drawn).
    view : str
        The view shown, as the radio labels it.

    Returns
    -------
    ViewState
    """
    def get(key: str) -> Any:
        return session[key] if key in session else None

    def num(name: str) -> float | None:
        value = get(WIDGETS[name])
        return None if value is None else float(value)

    method = get(WIDGETS["method"])
    # The picker is drawn (and kept in the link) only when the store offers a choice.
    scope = str(get(WIDGETS["scope"]) or "")
    options = tuple((name, str(get(key))) for name, (key, _values) in OPTION_WIDGETS.items()
                    if get(key) is not None)
    return ViewState(
        view=str(view).lower(), force="" if scope.startswith(REGION_PREFIX) else scope,
        region=scope.removeprefix(REGION_PREFIX) if scope.startswith(REGION_PREFIX) else "",
        area=params.area, start=params.start, end=params.end,
        groups=tuple(params.groups), types=tuple(params.types),
        method=None if method is None else str(method),
        bandwidth=num("bandwidth"),
        # The share of the area is the view's only in share mode (patrol areas have none).
        top=num("top") if get(AREA_MODE) == "share" else None,
        layers=tuple(n for n, k in LAYER_WIDGETS.items() if bool(get(k))),
        neighbours=bool(get(WIDGETS["neighbours"])),
        radius=num("radius"), road_bandwidth=num("road_bandwidth"), options=options,
        meeting=bool(get(WIDGETS["meeting"])))


def restore_view(months: Sequence[str], types: Sequence[str], districts: Sequence[str],
                 scopes: Sequence[Scope] = ()) -> None:
    """On a session's first run, set the sidebar from the link's query parameters.

    Bad values fall back to their defaults; a note at the top of the page says which (on that
    run only). Call it before the sidebar is drawn.

    Parameters
    ----------
    months, types, districts : sequence of str
        What the store holds for the link's forces and their districts, to check the link
        against.
    scopes : sequence of Scope
        The force / region picker's choices.
    """
    if st.session_state.get(_RESTORED):
        return
    st.session_state[_RESTORED] = True
    query = {k: v for k, v in _url_query().items() if k.lower() not in viewstate.RESERVED}
    if not query:
        # An over-long link reaches the page empty: the browser is asked whether that is why.
        link_guard.note_ignored_link()
        return
    decoded = viewstate.decode(query, choices(months, types, districts, scopes))
    seed_widgets(decoded.state, st.session_state, single_month=len(months) < 2)
    notes = decoded.notes
    if notes:
        st.info("**This link could not be followed in full.** "
                + " ".join(md_escape(n) for n in notes), icon=":material/link_off:")


def keep_in_url(state: ViewState) -> None:
    """Write the view to the page's URL (only when it changed; no rerun follows).

    Parameters
    ----------
    state : ViewState
    """
    target = {k: ([v] if isinstance(v, str) else list(v))
              for k, v in viewstate.encode(state).items()}
    if _url_query() != target:
        st.query_params.from_dict(target)


# ----------------------------------------------------------------------------------- the page


def present(view: str, params: Params, settings: Any) -> ViewState:
    """Draw the meeting-mode switch, keep the view in the URL and, in meeting mode, restyle
    the page and draw the meeting title. Call it after the sidebar, before the view.

    Parameters
    ----------
    view : str
        The view shown, as the radio labels it.
    params : Params
        The sidebar's selection.
    settings : Settings
        For the protective marking.

    Returns
    -------
    ViewState
        The view as written to the URL.
    """
    with st.sidebar:
        st.header("Tasking meeting")
        st.checkbox("Meeting mode (shared screen)", key=MEETING_KEY,
                    help="Larger type and legend, high contrast, the map filling the screen "
                         "and the side bar tucked away. The link keeps it: ?meeting=1.")
        st.caption("The address bar keeps this view (area, period, crimes, method and "
                   "parameters): copy it to reopen the view or send it to a colleague.")
    state = state_from_widgets(st.session_state, params, view)
    keep_in_url(state)
    st.session_state[STATE_KEY] = state
    if state.meeting:
        st.html(_PAGE_CSS)
        st.html(title_html(params, view=state.view,
                           marking=str(getattr(settings, "marking", "") or "")))
    return state
