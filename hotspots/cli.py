"""The ``hotspots`` command line: the library's functions, scriptable, with JSON out.

Each command imports the analysis it runs when it runs, so ``hotspots --help`` starts in a
fraction of a second and ``hotspots kde`` never pays for the PDF pack or the road graph.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hotspots import cli_help, defaults, wording
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.significance import CORRECTIONS
from hotspots.months import is_month
from hotspots.query import available_months, load_incidents, no_data_error, select
from hotspots.review import BUFFER_M
from hotspots.schema import mapped_rows
from hotspots.selection import Selection


class _MapMethods:
    """``--method`` choices read from the map-method registry when argparse asks, so a method
    registered after start-up is offered and parsing other commands never loads the models."""

    def _names(self) -> list[str]:
        from hotspots import registry

        return registry.names()

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def _version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hotspots")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _months(value: str) -> str:
    if not is_month(value or ""):
        raise argparse.ArgumentTypeError(f"{value!r} is not a month in the form YYYY-MM")
    return value


def _types(value: str) -> list[str]:
    items = [t.strip() for t in value.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("--types needs at least one crime type")
    return items


def _positive(kind):
    def parse(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"{value!r} must be greater than zero")
        return v

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line and exits 2, like every other error."""

    def error(self, message: str):  # noqa: D401 - argparse API
        # prog is "hotspots" or "hotspots kde": the program is named once.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _emit(payload: dict, args, lines: Sequence[str]) -> None:
    """Print the payload as JSON (``--json``, naming the forces analysed) or the lines."""
    scope = getattr(args, "scope", None)
    if scope:
        payload = {**payload, "forces": payload.get("forces", scope["forces"]),
                   "region": scope["region"]}
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print("\n".join(lines))


def _crimes(args) -> dict:
    """``--group`` / ``--types`` as Selection keyword arguments (one of the two is needed)."""
    if args.group is None and args.types is None:
        raise ParameterError("choose crimes with --group NAME or --types \"A,B\"")
    return {"groups": [args.group] if args.group else None, "types": args.types}


def _selection(args) -> Selection:
    """The command's Selection, validated once: forces, crimes, period and area."""
    return Selection.build(args.settings, start=getattr(args, "from"), end=args.to,
                           area=getattr(args, "area", None), **_scope_kwargs(args),
                           **_crimes(args))


def no_data_message(settings: Settings, start: str, end: str,
                    forces: Sequence[str] | None = None) -> str:
    """The no-data answer for a period the store does not reach (before crimes are known)."""
    held = available_months(settings=settings, forces=forces)
    return (f"no incidents for {wording.period_label(start, end)}; the store holds "
            f"{wording.held_months_label(held)}")


def _history(args) -> Selection:
    """A Selection over the months the store holds for the forces (for the back-test),
    within --from/--to."""
    held = available_months(settings=args.settings, forces=args.scope["forces"])
    if not held:
        raise NoDataError(f"{args.settings.store_dir}: the incident store holds no months of "
                          + ", ".join(args.scope["forces"]))
    start, end = getattr(args, "from", None) or held[0], args.to or held[-1]
    if not any(start <= m <= end for m in held):
        raise NoDataError(no_data_message(args.settings, start, end, args.scope["forces"]))
    return Selection.build(args.settings, start=start, end=end,
                           area=getattr(args, "area", None), **_scope_kwargs(args),
                           **_crimes(args))


def _scope_kwargs(args) -> dict:
    """The forces (or region) of the command as Selection keyword arguments."""
    scope = args.scope
    if scope["region"]:
        return {"region": scope["region"]}
    return {"forces": scope["forces"]}


def _resolve_scope(args, settings: Settings) -> dict:
    """``--force`` / ``--region``, or the default force: the configured one, or the store's
    only force when it holds one force and not the configured one."""
    from hotspots import forces as force_registry
    from hotspots.store import store_exists, store_forces

    region = getattr(args, "region", None)
    chosen = force_registry.resolve_forces(getattr(args, "force", None), region, settings)
    if not chosen:
        store = Path(args.store)
        held = store_forces(store) if store_exists(store) else []
        chosen = (force_registry.default_force(settings, held),)
    slug = force_registry.region_slug(region, settings) if region else None
    return {"forces": list(chosen), "region": slug}


def _mapping(pairs: list[str] | None):
    """Build a ColumnMapping from ``--map field=column`` pairs (None when no pairs)."""
    if not pairs:
        return None
    from hotspots.validate import ColumnMapping

    fields = {f.name for f in dataclasses.fields(ColumnMapping)}
    kwargs = {}
    for pair in pairs:
        key, sep, column = pair.partition("=")
        key = key.strip()
        if not sep or not column.strip():
            raise ParameterError(f"--map {pair!r}: write it as FIELD=COLUMN, e.g. category=Offence")
        if key not in fields:
            raise ParameterError(f"--map {pair!r}: unknown field {key!r}; fields are "
                                 + ", ".join(sorted(fields)))
        kwargs[key] = column.strip()
    if "category" not in kwargs:
        raise ParameterError("--map needs category=COLUMN (the crime type column)")
    return ColumnMapping(**kwargs)


def _cmd_ingest(args) -> int:
    from hotspots.ingest import ingest
    from hotspots.spatial.boundaries import read_boundary_file

    if args.boundary is None:
        boundary = "force"
    elif args.boundary.lower() == "none":
        boundary = None
    else:
        boundary = read_boundary_file(args.boundary)
    report = ingest(args.paths, args.store, boundary=boundary, buffer_m=args.buffer,
                    mapping=_mapping(args.map), settings=args.settings)
    d = report.to_dict()
    _emit(d, args, [
        f"rows read {d['rows_read']}: accepted {d['accepted']}, rejected {d['rejected']}, "
        f"duplicates {d['duplicates']} ({d['no_location']} accepted without location)",
        *(f"  rejected: {k}: {v}" for k, v in d["by_reason"].items()),
        f"months: {', '.join(d['months'])}",
        f"forces: {', '.join(d['forces'])}",
        f"store: {args.store}",
    ])
    return 0


def _cmd_kde(args) -> int:
    from hotspots.method_kde import density_areas
    from hotspots.methods import AUTO, describe_auto, resolve_auto
    from hotspots.spatial.raster import write_geotiff

    t0 = time.perf_counter()
    sel = _selection(args)
    inc = _load_period(sel, mapped_only=False)
    mapped = mapped_rows(inc)
    if mapped.empty:
        raise no_data_error(sel)
    geom = sel.geometry
    bandwidth = _bandwidth_arg(args.bandwidth)
    auto = None
    if isinstance(bandwidth, str) and bandwidth.strip().lower() == AUTO:
        choice = resolve_auto(sel)
        bandwidth, auto = choice.bandwidth, describe_auto(choice)
    from hotspots.models.patrol import area_records
    from hotspots.pack_areas import with_trend
    from hotspots.spatial.places import load_places

    rule = _rule(args)
    surface, areas = density_areas(mapped, geom, bandwidth=bandwidth, top=args.top,
                                   cell=args.cell, kernel=args.kernel, rule=rule,
                                   places=load_places(args.settings) if rule.patrol else None)
    if rule.patrol:
        areas = with_trend(areas, sel, available_months(settings=args.settings,
                                                        forces=list(sel.all_forces)))
    staged: list = []
    params = {"cell_m": surface.grid.cell, "bandwidth": args.bandwidth,
              "bandwidth_m": surface.bandwidths or surface.bandwidth,
              "kernel": surface.kernel, "top": args.top, **rule.to_dict()}
    _stage_geojson(areas, args.out, staged, args, {**areas.attrs.get("method", {}), **params})
    if args.surface:
        write_geotiff(surface, _stage(args.surface, staged), mask=geom,
                      tags={"marking": args.settings.marking})
    written = _release(args, "kde", sel, staged, params)
    share = float(areas["incidents"].sum() / len(mapped)) if len(mapped) else 0.0
    payload = {
        "incidents": int(len(mapped)),
        "incidents_without_location": int((~inc["has_location"]).sum()),
        "from": getattr(args, "from"),
        "to": args.to,
        "area": sel.area,
        "cell": surface.grid.cell,
        "bandwidth": surface.bandwidth,
        **({"bandwidths": list(surface.bandwidths)} if surface.multiscale else {}),
        "bandwidth_rule": "auto" if auto else surface.bandwidth_rule,
        **({"auto": auto} if auto else {}),
        "kernel": surface.kernel,
        "top": args.top,
        "params": params,
        **rule.to_dict(),
        "areas_method": areas.attrs.get("method", {}).get("method", ""),
        "hotspots": int(len(areas)),
        "share_in_hotspots": round(share, 4),
        "areas": area_records(areas),
        "files": written,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    _emit(payload, args, [
        f"{payload['incidents']} mapped incidents, {payload['from']}..{payload['to']}, "
        f"{payload['area']}",
        f"KDE {surface.kernel}, bandwidth "
        f"{wording.format_bandwidth(surface.bandwidths or surface.bandwidth)}"
        f"{'' if surface.multiscale else f' ({surface.bandwidth_rule})'}, "
        f"cell {surface.grid.cell:.0f} m"
        + (f" ({auto['rule']}: {auto['label']}, learnt from {len(auto['folds'])} test "
           f"month{'' if len(auto['folds']) == 1 else 's'})" if auto else ""),
        (f"{payload['hotspots']} patrol areas ({rule.words()}) hold {share:.1%} of incidents"
         if rule.patrol else f"{payload['hotspots']} hotspot areas in the top {args.top:.0%} "
                             f"of the area hold {share:.1%} of incidents"),
        *(f"  {a['rank']}. {a['name']}: {a['incidents']} incidents ({a['share']:.1%}), "
          f"{a['area_km2']:.2f} km²" for a in payload["areas"][:10] if rule.patrol),
        *(f"wrote {w}" for w in written),
    ])
    return 0


def _rule(args):
    """``--areas`` / ``--max-area-km2`` as a PatrolRule (one-line error when out of range)."""
    from hotspots.models.patrol import PatrolRule

    return PatrolRule(args.areas, args.max_area_km2)


def _patrol(args, method, result, inc, sel):
    """The patrol areas of a model command's result, with their trend, or None in share
    mode (``--areas 0``)."""
    from hotspots import methods
    from hotspots.pack_areas import with_trend
    from hotspots.spatial.places import load_places

    rule = _rule(args)
    if not rule.patrol:
        return None
    held = available_months(settings=args.settings, forces=list(sel.all_forces))
    shown = methods.model_areas(method, result, inc, start=sel.start, end=sel.end,
                                crimes=wording.crimes_label(sel.groups, sel.types),
                                study_area=sel.geometry, months_held=held, rule=rule,
                                places=load_places(args.settings))
    return with_trend(shown.areas, sel, held)


def _patrol_payload(payload: dict, lines: list[str], areas, args, staged: list) -> None:
    """Put a model command's patrol areas into its JSON, its lines and ``--areas-out``."""
    from hotspots.models.patrol import area_records

    payload["areas"] = area_records(areas)
    payload["areas_method"] = areas.attrs["method"]["method"]
    payload.update(_rule(args).to_dict())
    share = sum(a["share"] for a in payload["areas"])
    payload["share_in_areas"] = round(share, 4)
    _stage_geojson(areas, args.areas_out, staged, args, areas.attrs.get("method", {}))
    lines.append(f"{len(payload['areas'])} patrol areas ({_rule(args).words()}) hold "
                 f"{share:.1%} of mapped incidents")
    lines += [f"  {a['rank']}. {a['name']}: {a['incidents']} incidents ({a['share']:.1%}), "
              f"{a['area_km2']:.2f} km²" for a in payload["areas"][:10]]


def _records(frame, columns: list[str]) -> list[dict]:
    """JSON-ready rows: numpy scalars to Python, NaN to None."""
    return json_value(frame[columns].to_dict("records"))


def _cmd_corridors(args) -> int:
    from hotspots.spatial.corridors import corridor_bands, junction_stats
    from hotspots.spatial.srn_graph import srn_graph_for

    t0 = time.perf_counter()
    sel, settings = _selection(args), args.settings
    start, end = sel.start, sel.end
    if args.neighbours and not sel.whole_force:
        raise ParameterError("--neighbours adds incidents from across the force border; it "
                             "cannot be combined with --area")
    # junction_stats compares with the previous period of equal length, so it gets the whole
    # span of data and is told which months the store covers (gaps are never read as zeros).
    if args.neighbours:
        everything = load_incidents(settings.store_dir, area="none", forces="all",
                                    settings=settings, **sel.crime_filter)
    else:
        everything = load_incidents(settings.store_dir, area=sel.area,
                                    forces=list(sel.all_forces), settings=settings,
                                    geometry=sel.geometry, **sel.crime_filter)
    period = everything[(everything["month"] >= start) & (everything["month"] <= end)]
    located = mapped_rows(period)
    if located.empty:
        raise no_data_error(sel)
    graph = srn_graph_for(settings, sel.all_forces, extract=args.roads)
    junctions = junction_stats(everything, graph, radius=args.radius, period=(start, end),
                               months=available_months(settings=settings,
                                                       forces=list(sel.all_forces)))
    bands = corridor_bands(period, graph, sel.geometry)
    payload = {
        "from": start,
        "to": end,
        "area": sel.area,
        "selection": _crimes(args),
        "forces": sorted(period["force"].dropna().unique().tolist()),
        "incidents": int(len(period)),
        "incidents_without_location": int((~period["has_location"]).sum()),
        "radius_m": args.radius,
        "junction_method": f"incidents within {args.radius:.0f} m straight-line of the junction "
                           "node; change against the previous period of equal length",
        "band_method": "distance to the nearest SRN road; location quotient = share of "
                       "incidents / share of the force area",
        "srn": graph.graph.get("source", ""),
        "srn_attribution": graph.graph.get("attribution", ""),
        "junctions": _records(junctions, ["name", "force", "lon", "lat", "incidents",
                                          "by_group", "by_force", "previous", "change",
                                          "change_note"]),
        "bands": _records(bands, ["band", "incidents", "share", "area_km2", "density_km2",
                                  "lq"]),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    top = payload["junctions"][:10]
    _emit(payload, args, [
        f"{payload['incidents']} incidents {start}..{end} "
        f"({', '.join(payload['forces'])})",
        "Junctions by incidents within "
        f"{args.radius:.0f} m:",
        *(f"  {j['name']}{_force_note(j, sel)}: {j['incidents']}" for j in top),
        "Corridor bands (distance from the SRN):",
        *(f"  {b['band']}: {b['incidents']} ({b['share']:.1%}), LQ "
          f"{b['lq'] if b['lq'] is None else round(b['lq'], 2)}" for b in payload["bands"]),
    ])
    return 0


def _force_note(row: dict, sel: Selection) -> str:
    """" (essex)" after a junction or site of a selection of several forces, else nothing."""
    force = row.get("force") or ""
    if len(sel.all_forces) < 2:
        return ""
    return f" ({force})" if force else " (outside the forces' areas)"


def _load_period(sel: Selection, *, mapped_only: bool = True):
    """Incidents of the selection, with a clear error (naming the months held) when none are
    left."""
    inc = select(sel, mapped_only=mapped_only)
    if inc.empty or not inc["has_location"].any():
        raise no_data_error(sel)
    return inc


def _stage(path: str, staged: list) -> Path:
    """A hidden name beside the output ``path`` to write to until the audit line exists."""
    from hotspots.audit import staged_path

    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"{final}: cannot create its folder ({exc.strerror})") from None
    s = staged_path(final)
    staged.append((s, final))
    return s


def _stage_geojson(frame, path: str | None, staged: list, args, metadata: dict) -> None:
    """Write ``frame`` as GeoJSON (WGS84) with the marking and the method, staged."""
    if path:
        from hotspots.gis import to_geojson

        text = to_geojson(frame, metadata=metadata, marking=args.settings.marking)
        try:
            _stage(path, staged).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ParameterError(f"{path}: cannot write ({exc.strerror})") from None


def _release(args, what: str, sel: Selection, staged: list, params: dict) -> list[str]:
    """Audit the staged outputs (who, what, selection, each file's size and SHA-256), then
    move them into place; an unwritable log releases nothing and leaves nothing."""
    if not staged:
        return []
    from hotspots.audit import check_log_writable, release

    try:
        check_log_writable(settings=args.settings)
        release(what, {**sel.to_dict(), **params, "marking": args.settings.marking}, staged,
                settings=args.settings)
    except BaseException:
        for s, _ in staged:
            s.unlink(missing_ok=True)
        raise
    return [str(f) for _, f in staged]


def _area_records(areas) -> list[dict]:
    """Ranked areas as JSON rows: their columns (no geometry) and lon/lat of a point inside."""
    import numpy as np

    from hotspots.spatial.crs import to_wgs84

    if not len(areas):
        return []
    inner = areas.geometry.representative_point()
    lon, lat = to_wgs84(inner.x.to_numpy(), inner.y.to_numpy())
    rows = areas.drop(columns="geometry").assign(lon=np.round(lon, 6), lat=np.round(lat, 6))
    return _records(rows, list(rows.columns))


def _cmd_gistar(args) -> int:
    from hotspots.method_spec import MapMethod
    from hotspots.models.areas import gistar_areas
    from hotspots.models.gistar import gi_star_grid, gi_star_lsoa

    t0 = time.perf_counter()
    sel = _selection(args)
    inc = _load_period(sel)
    if args.units == "lsoa":
        if args.areas_out:
            raise ParameterError("--areas-out needs --units grid (patrol areas grow on grid "
                                 "cells)")
        from hotspots.spatial.boundaries import forces_lsoas

        # The selected forces' LSOAs (a region's are every force's), not the default force's.
        frame = gi_star_lsoa(inc, forces_lsoas(list(sel.all_forces), args.settings),
                             settings=args.settings, correction=args.correction,
                             permutations=args.permutations,
                             seed=args.seed)
        params = frame.attrs["params"]
    else:
        res = gi_star_grid(inc["x"].to_numpy(), inc["y"].to_numpy(),
                           study_area=sel.geometry, cell=args.cell,
                           distance=args.distance, correction=args.correction,
                           permutations=args.permutations, seed=args.seed)
        frame = res.to_frame()
        params = res.params()
    significant = frame[frame["bin"] != 0]
    staged: list = []
    _stage_geojson(significant, args.out, staged, args, params)
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": sel.area, "units": args.units, "params": params,
               "hot": int((significant["bin"] > 0).sum()),
               "cold": int((significant["bin"] < 0).sum())}
    lines = [f"Gi* on {args.units} ({params.get('correction_name', args.correction)}): "
             f"{payload['hot']} hot and {payload['cold']} cold features at 90% or more"]
    if args.units != "lsoa":
        patrol = _patrol(args, MapMethod("gistar", correction=args.correction), frame, inc,
                         sel)
        if patrol is not None:
            _patrol_payload(payload, lines, patrol, args, staged)
        else:
            areas = gistar_areas(frame, inc)
            payload["areas"] = _area_records(areas)
            payload["areas_method"] = areas.attrs["method"]["method"]
            lines += [f"  area {a['rank']}: {a['incidents']} incidents, {a['confidence']}%, "
                      f"{a['top_locations']}" for a in payload["areas"][:5]]
    written = _release(args, "gistar", sel, staged, params)
    payload["files"] = written
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args, [*lines, *(f"wrote {w}" for w in written)])
    return 0


def _cmd_emerging(args) -> int:
    from hotspots.method_spec import MapMethod
    from hotspots.models.areas import emerging_areas
    from hotspots.models.emerging import emerging_hotspots

    t0 = time.perf_counter()
    sel = _selection(args)
    inc = _load_period(sel)
    res = emerging_hotspots(inc, study_area=sel.geometry, cell=args.cell,
                            correction=args.correction,
                            months_held=available_months(settings=args.settings,
                                                         forces=list(sel.all_forces)))
    params = res.attrs["params"]
    classes = res["pattern"].value_counts().to_dict()
    staged: list = []
    with_pattern = res[res["pattern"] != "no pattern detected"]
    _stage_geojson(with_pattern.drop(columns=["bins"], errors="ignore"), args.out, staged,
                   args, params)
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": sel.area, "params": params,
               "patterns": {str(k): int(v) for k, v in classes.items()}}
    lines = ["Emerging hot spots: " + ", ".join(f"{k} {v}"
                                                for k, v in payload["patterns"].items())]
    patrol = _patrol(args, MapMethod("emerging", correction=args.correction), res, inc, sel)
    if patrol is not None:
        _patrol_payload(payload, lines, patrol, args, staged)
    else:
        areas = emerging_areas(res, inc)
        payload["areas"] = _area_records(areas)
        payload["areas_method"] = areas.attrs["method"]["method"]
        lines += [f"  area {a['rank']}: {a['pattern']}, {a['incidents']} incidents, "
                  f"{a['top_locations']}" for a in payload["areas"][:5]]
    written = _release(args, "emerging", sel, staged, params)
    payload["files"] = written
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args, [*lines, *(f"wrote {w}" for w in written)])
    return 0


def _cmd_disrupt(args) -> int:
    import numpy as np

    from hotspots.method_kde import density_areas
    from hotspots.methods import FALLBACK_BANDWIDTH
    from hotspots.models.candidates import read_sites
    from hotspots.models.coverage import build_coverage
    from hotspots.models.disruption import choose_sites
    from hotspots.spatial.crs import to_bng
    from hotspots.spatial.srn_graph import force_areas, srn_graph_for
    from hotspots.spatial.srn_national import forces_at

    t0 = time.perf_counter()
    if args.radius is not None and args.minutes is not None:
        raise ParameterError("give --radius (metres) or --minutes (drive time), not both")
    sel = _selection(args)
    inc = _load_period(sel)
    # Sites beyond the selected area (plus a margin) are rejected row by row, with the reason.
    extra = read_sites(args.candidates, area=sel.geometry) if args.candidates else None
    existing = read_sites(args.existing, area=sel.geometry) if args.existing else None
    # "Hotspots within reach" in the rationale: the period's KDE areas at the fallback bandwidth.
    _, hotspots = density_areas(inc, sel.geometry, bandwidth=FALLBACK_BANDWIDTH, top=0.05)
    graph = srn_graph_for(args.settings, sel.all_forces, extract=args.roads)
    cov = build_coverage(inc, graph, minutes=args.minutes,
                         radius=args.radius, extra=extra, existing=existing,
                         soc_boost=args.soc_boost, weight="count" if args.unweighted else "harm",
                         hotspots=hotspots, study_area=sel.geometry,
                         period=(sel.start, sel.end),
                         months=available_months(settings=args.settings,
                                                 forces=list(sel.all_forces)))
    plan = choose_sites(cov, args.k, time_limit=args.time_limit)
    payload = plan.to_dict()
    # Each site with the force whose area holds it: a region's plan crosses force borders.
    areas = force_areas(args.settings)
    for key in ("sites", "existing"):
        rows = payload.get(key) or []
        x, y = to_bng(np.array([r["lon"] for r in rows], float),
                      np.array([r["lat"] for r in rows], float))
        where = forces_at(x, y, areas)
        for r, f in zip(rows, where, strict=True):
            r["force"] = str(f)
    payload["srn"] = graph.graph.get("source", "")
    payload["srn_attribution"] = graph.graph.get("attribution", "")
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args, [
        f"{len(payload['sites'])} sites by {payload['method']} (gap {payload['gap']:.2%}):",
        *(f"  {site['rank']}. {site['name']}{_force_note(site, sel)}: {site['rationale']}"
          for site in payload["sites"])])
    return 0


def _bandwidth_arg(text: str) -> float | str | tuple[float, ...]:
    """``--bandwidth``: metres, a rule name, ``auto`` or comma-separated metres (multi-scale)."""
    if "," in text:
        try:
            return tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise ParameterError(f"--bandwidth {text!r}: give metres separated by commas, e.g. "
                                 "300,500,750,1000") from None
    try:
        return float(text)
    except ValueError:
        pass
    from hotspots.models.kde import BANDWIDTH_RULES

    word = text.strip().lower()
    if word != defaults.BANDWIDTH and word not in BANDWIDTH_RULES:
        raise ParameterError(f"--bandwidth {text!r}: give auto, metres (e.g. 500), a rule ("
                             f"{', '.join(BANDWIDTH_RULES)}) or metres separated by commas for "
                             "the multi-scale KDE (e.g. 300,500,750,1000)")
    return word


def _cmd_report(args) -> int:
    from hotspots import registry
    from hotspots.report import write_report

    result = write_report(args.out, _selection(args), marking=args.marking,
                          method=args.method, bandwidth=_bandwidth_arg(args.bandwidth),
                          top=args.top, correction=args.correction,
                          cluster_method=args.cluster_method, sites=args.sites,
                          rule=_rule(args))
    p = result["parameters"]
    acc = p.get("accuracy") or {}
    _emit(result, args, [
        f"{len(result['files'])} files written to {args.out} "
        f"(pack: {result.get('pages')} pages; sites.csv holds {result.get('sites_csv')})",
        f"map: {p.get('map_method')}, {p.get('hotspots')} areas"
        + (f" ({p['auto']['label']}, {p['auto']['rule']})"
           if p.get("auto") and registry.get(args.method).density else ""),
        *([f"back-test: {acc['statement']}"] if acc.get("statement") else []),
        *(f"  {f['name']}: {f['bytes']:,} bytes" for f in result["files"])])
    return 0


def _cmd_review(args) -> int:
    from hotspots.review import read_targets, review_lines, review_selection

    targets = read_targets(args.targets) if args.targets else None
    ranks = [int(r) for r in args.ranks.split(",") if r.strip()] if args.ranks else None
    if ranks is not None and any(r < 1 for r in ranks):
        raise ParameterError(f"--ranks {args.ranks!r}: give ranks from 1, e.g. 1,2,3")
    review = review_selection(_selection(args), targets=targets, ranks=ranks,
                              buffer_m=args.buffer, top_n=args.top_areas,
                              store_dir=args.store)
    _emit(review.to_dict(), args, review_lines(review))
    return 0


def _cmd_evaluate(args) -> int:
    from hotspots.models.evaluate import evaluate_store
    from hotspots.registry import backtest_methods

    t0 = time.perf_counter()
    sel = _history(args)
    coverages = tuple(sorted({0.01, 0.02, 0.05, 0.10, args.coverage}))
    window = {"start": sel.start, "end": sel.end} if getattr(args, "from") or args.to else {}
    res = evaluate_store(args.settings.store_dir, area=sel.area, settings=args.settings,
                         forces=list(sel.all_forces), methods=backtest_methods(),
                         train_months=args.train_months, **window,
                         coverages=coverages, select_coverage=args.coverage,
                         **sel.crime_filter)
    payload = res.to_dict()
    # The headline table is at the requested coverage; every level stays in "summary".
    payload["results"] = [r for r in payload["results"]
                          if abs(r["coverage"] - args.coverage) < 1e-9]
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    best = max(payload["results"], key=lambda r: r["pai"] if r["pai"] is not None else -1,
               default=None)

    def line(r: dict) -> str:
        # A surface that flags less than asked has a PAI for a smaller area: say so, with the
        # PAI charged for the area asked, which is what auto compares.
        text = f"  {r['label']}: hit rate {r['hit_rate']:.0%}, PAI {r['pai']:.1f}"
        share = r.get("area_share")
        if share is not None and share < args.coverage * 0.995:
            text += (f" (flags {share:.1%} of the area; PAI at {args.coverage:.0%}: "
                     f"{r['pai_requested']:.1f})")
        return text

    _emit(payload, args, [
        f"Back-test: {len(payload['results'])} methods at {args.coverage:.0%} of the area, "
        f"test months {', '.join(best['periods']) if best else 'none'}",
        *(line(r) for r in payload["results"] if r["pai"] is not None),
        f"default (auto): {payload['default']['label']} - {payload['default']['reason']}",
    ])
    return 0


def _cmd_clusters(args) -> int:
    from hotspots.method_spec import MapMethod
    from hotspots.models.clusters import find_clusters

    t0 = time.perf_counter()
    sel = _selection(args)
    inc = _load_period(sel)
    eps = args.eps if args.eps in (None, "elbow") else float(args.eps)
    clusters = find_clusters(inc, method=args.method, eps=eps, min_samples=args.min_samples,
                             min_cluster_size=args.min_cluster_size)
    params = clusters.attrs.get("params", {})
    staged: list = []
    _stage_geojson(clusters, args.out, staged, args, params)
    records = clusters.drop(columns="geometry").to_dict("records")
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": sel.area, "params": params,
               "clusters": _records(clusters, [c for c in clusters.columns
                                               if c != "geometry"])}
    lines = [f"{len(records)} clusters ({args.method}) among {len(inc)} mapped incidents"]
    patrol = (_patrol(args, MapMethod("clusters", cluster_method=args.method), clusters, inc,
                      sel) if len(clusters) else None)
    if patrol is not None:
        _patrol_payload(payload, lines, patrol, args, staged)
    else:  # share mode, or no cluster at all: the clusters are the areas
        payload["areas"] = [{**r, "rank": i + 1} for i, r in enumerate(payload["clusters"])]
        lines += [f"  {i + 1}. {r.get('incidents')} incidents, {r.get('top_location', '')}"
                  for i, r in enumerate(records[:10])]
    written = _release(args, "clusters", sel, staged, params)
    payload["files"] = written
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args, [*lines, *(f"wrote {w}" for w in written)])
    return 0

def _cmd_nearrepeat(args) -> int:
    from hotspots.models.nearrepeat import knox_test

    t0 = time.perf_counter()
    inc = _load_period(_selection(args))
    res = knox_test(inc, permutations=args.permutations, seed=args.seed)
    payload = res.to_dict()
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args, [
        "Knox near-repeat test: observed / expected pairs (Monte Carlo p-value)",
        res.to_frame().to_string()])
    return 0


_GROUPS_HELP = "crime group: acquisitive, soc, violence, asb or other (any case)"
_TYPES_HELP = ('police.uk crime types separated by commas, any case, e.g. '
               '"Burglary,Vehicle crime"')


def _whole(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more")
    return v


def _add_area_rule(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    """``--areas`` and ``--max-area-km2`` (and ``--areas-out``): how the ranked areas are drawn."""
    p.add_argument("--areas", type=_whole, default=defaults.AREAS, metavar="N",
                   help="patrol areas to rank: compact areas grown from the map's peaks, "
                        "chosen to hold the most predicted crime; 0 for the method's own "
                        "areas (the KDE's --top share of the area, every Gi* hot cell, "
                        "emerging hot pattern or cluster)")
    p.add_argument("--max-area-km2", type=_positive(float), default=defaults.MAX_AREA_KM2,
                   metavar="KM2",
                   help="largest patrol area, km² (1 km²: about ten minutes' walk across)")
    if out:
        p.add_argument("--areas-out", metavar="FILE",
                       help="the ranked patrol areas, GeoJSON (WGS84)")


def _add_crimes(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--group", metavar="NAME", help=_GROUPS_HELP)
    g.add_argument("--types", type=_types, metavar="TYPES", help=_TYPES_HELP)


def _add_selection(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    _add_crimes(p)
    if required:
        p.add_argument("--from", type=_months, required=True, metavar="YYYY-MM",
                       help="first month of the period")
        p.add_argument("--to", type=_months, required=True, metavar="YYYY-MM",
                       help="last month of the period")
    else:
        p.add_argument("--from", type=_months, metavar="YYYY-MM",
                       help="first test month (default: as early as the store allows)")
        p.add_argument("--to", type=_months, metavar="YYYY-MM",
                       help="last test month (default: the last month the store holds)")


class _Districts:
    """The ``--area`` help, naming the districts of the configured force when argparse prints
    it (reading the boundaries only then, so parsing never pays for them)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __str__(self) -> str:
        try:
            from hotspots.spatial.boundaries import district_names

            names = ", ".join(district_names(self.settings))
        except HotspotsError:
            names = "see the force's boundaries"
        return ("a district of the force, any case: " + names
                + " (default: the whole force area)").replace("%", "%%")


def _subcommand(sub, name: str, func) -> argparse.ArgumentParser:
    """A subcommand with its description, examples and the formatter that prints defaults."""
    p = sub.add_parser(name, help=cli_help.SUMMARIES[name],
                       description=cli_help.DESCRIPTIONS[name],
                       epilog=cli_help.epilog(name), formatter_class=cli_help.HelpFormatter)
    p.set_defaults(func=func)
    return p


def _analysis_command(sub, name: str, func, settings: Settings, *,
                      period: bool = True, area: bool = True) -> argparse.ArgumentParser:
    """Add a subcommand with the options every analysis shares: store, crimes and period,
    area, --json; the caller adds the command's own options."""
    p = _subcommand(sub, name, func)
    p.add_argument("--store", default=str(settings.store_dir), metavar="DIR",
                   help="incident store folder")
    if period:
        _add_selection(p)
    if area:
        p.add_argument("--area", default=None, metavar="DISTRICT", help=_Districts(settings))
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--force", action="append", metavar="SLUG",
                       help="force to analyse, repeatable (slug or name, e.g. essex; default: "
                            "the configured force, or the store's only force)")
    scope.add_argument("--region", metavar="NAME",
                       help="the forces of a region together: a ROCU region (e.g. "
                            "west-midlands, eastern) or one of [regions] in the settings")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _add_ingest(sub, settings: Settings) -> None:
    """``hotspots ingest``: load files into the incident store."""
    ing = _subcommand(sub, "ingest", _cmd_ingest)
    ing.add_argument("paths", nargs="+", metavar="PATH",
                     help="CSV/ZIP/GeoJSON/GeoPackage/GeoParquet files or folders")
    ing.add_argument("--store", default=str(settings.store_dir), metavar="DIR",
                     help="incident store folder")
    ing.add_argument("--boundary", metavar="FILE",
                     help="area file for the location check, or 'none' (default: the "
                          "configured force area)")
    ing.add_argument("--buffer", type=float, default=None, metavar="METRES",
                     help="metres allowed outside the boundary (default: "
                          f"{settings.boundary_buffer_m:g} m, from the settings)")
    ing.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                     help="column mapping for force extracts, repeatable: category=, lon=/lat= or "
                          "easting=/northing=, date=|datetime=|month=, date_format=, id=, "
                          "location=, soc_flag=, ocg_ref=, county_line=, force=, default_force=")
    ing.add_argument("--json", action="store_true", help="print one JSON object")


def _add_forces(sub, settings: Settings) -> None:
    """``hotspots forces``: the force registry and the months the store holds per force."""
    p = _subcommand(sub, "forces", _cmd_forces)
    p.add_argument("--store", default=str(settings.store_dir), metavar="DIR",
                   help="incident store folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _cmd_forces(args) -> int:
    from hotspots import forces as force_registry
    from hotspots.store import store_exists, store_forces

    settings = args.settings
    store = Path(args.store)
    held = store_forces(store) if store_exists(store) else []
    rows = []
    for f in force_registry.registry(settings).values():
        months = available_months(settings=settings, forces=[f.slug]) if f.slug in held else []
        rows.append({"slug": f.slug, "name": f.name, "title": f.title, "ons_code": f.ons_code,
                     "ons_name": f.ons_name, "region": f.region, "districts": list(f.districts),
                     "neighbours": list(f.neighbours), "months": months})
    # Forces the store holds that have no area (e.g. BTP ingested with --boundary none).
    others = [{"slug": slug, "title": force_registry.title(slug),
               "months": available_months(settings=settings, forces=[slug])}
              for slug in held if slug not in force_registry.INFO]
    regions = {slug: {"name": force_registry.region_name(slug, settings),
                      "unit": force_registry.REGIONS.get(slug, ("", "your settings"))[1],
                      "forces": list(members)}
               for slug, members in force_registry.regions(settings).items()}
    payload = {"forces": rows, "other_forces_in_store": others, "regions": regions,
               "default_force": force_registry.default_force(settings, held),
               "store": str(store),
               "neighbour_rule": f"force areas within {force_registry.NEIGHBOUR_DISTANCE_M:.0f} "
                                 "m of each other (ONS force areas, generalised 200 m)"}
    width = max(len(r["slug"]) for r in rows)
    _emit(payload, args, [
        f"{'force':<{width}}  {'region':<20}  months held",
        *(f"{r['slug']:<{width}}  {r['region']:<20}  "
          f"{wording.month_runs_label(r['months']) or '-'}" for r in rows),
        *(f"{o['slug']:<{width}}  {'(no area)':<20}  {wording.month_runs_label(o['months'])}"
          for o in others),
        f"default force: {payload['default_force']}; store: {store}",
    ])
    return 0


def _add_map_commands(sub, settings: Settings) -> None:
    """The hotspot map commands: kde, gistar, emerging, clusters, nearrepeat."""
    kde = _analysis_command(sub, "kde", _cmd_kde, settings)
    kde.add_argument("--cell", type=_positive(float), default=defaults.CELL_M, metavar="METRES",
                     help="grid cell size, metres")
    kde.add_argument("--bandwidth", default=defaults.BANDWIDTH, metavar="BANDWIDTH",
                     help="auto (the KDE surface with the best back-tested PAI at 5%% of the "
                          "area on earlier months, as the dashboard and the pack draw it), "
                          "metres (e.g. 500), a rule (arcgis, scott, silverman), or several "
                          "metres separated by commas for the multi-scale KDE (e.g. "
                          "300,500,750,1000)")
    kde.add_argument("--kernel", default=defaults.KERNEL,
                     choices=["quartic", "gaussian", "epanechnikov"],
                     help="kernel shape")
    kde.add_argument("--top", type=_positive(float), default=defaults.TOP, metavar="SHARE",
                     help="share of the area marked as hotspot with --areas 0, between 0 "
                          "and 1")
    _add_area_rule(kde, out=False)
    kde.add_argument("--out", metavar="FILE",
                     help="hotspot (patrol) area polygons, GeoJSON (WGS84)")
    kde.add_argument("--surface", metavar="FILE", help="density surface, GeoTIFF (EPSG:27700)")

    gi = _analysis_command(sub, "gistar", _cmd_gistar, settings)
    gi.add_argument("--units", choices=["grid", "lsoa"], default="grid",
                    help="test grid cells or LSOAs")
    gi.add_argument("--cell", type=_positive(float), default=None, metavar="METRES",
                    help="cell size, metres (default: the shorter side of the area / 50)")
    gi.add_argument("--distance", type=_positive(float), default=None, metavar="METRES",
                    help="neighbourhood distance, metres (default: 1.5 x the cell)")
    gi.add_argument("--correction", choices=list(CORRECTIONS), default=defaults.CORRECTION,
                    help="multiple-testing correction: fdr_bh (Benjamini-Hochberg false "
                         "discovery rate), bonferroni or none")
    gi.add_argument("--permutations", type=int, default=0, metavar="N",
                    help="conditional permutations for pseudo p-values (0: analytical "
                         "p-values from the normal distribution)")
    gi.add_argument("--seed", type=int, default=defaults.SEED,
                    help="random seed of the permutations, for a repeatable run")
    gi.add_argument("--out", metavar="FILE", help="significant features, GeoJSON (WGS84)")
    _add_area_rule(gi)

    em = _analysis_command(sub, "emerging", _cmd_emerging, settings)
    em.add_argument("--cell", type=_positive(float), default=None, metavar="METRES",
                    help="cell size, metres (default: the shorter side of the area / 50)")
    em.add_argument("--correction", choices=list(CORRECTIONS), default=defaults.CORRECTION,
                    help="multiple-testing correction of each month's Gi*")
    em.add_argument("--out", metavar="FILE", help="locations with a pattern, GeoJSON (WGS84)")
    _add_area_rule(em)

    cl = _analysis_command(sub, "clusters", _cmd_clusters, settings)
    cl.add_argument("--method", choices=list(CLUSTER_METHODS), default=defaults.CLUSTER_METHOD,
                    help="clustering algorithm")
    cl.add_argument("--eps", default=None, metavar="METRES",
                    help="DBSCAN radius in metres, or 'elbow' to read it off the k-distance "
                         "curve (default: 250 m)")
    cl.add_argument("--min-samples", type=int, default=None, metavar="N",
                    help="DBSCAN: neighbours within the radius that make a core incident "
                         "(default: 5)")
    cl.add_argument("--min-cluster-size", type=int, default=None, metavar="N",
                    help="HDBSCAN: fewest incidents in a cluster (default: 10)")
    cl.add_argument("--out", metavar="FILE", help="cluster hulls, GeoJSON (WGS84)")
    _add_area_rule(cl)

    nr = _analysis_command(sub, "nearrepeat", _cmd_nearrepeat, settings)
    nr.add_argument("--permutations", type=int, default=defaults.KNOX_PERMUTATIONS, metavar="N",
                    help="Monte Carlo permutations of the times for the p-values")
    nr.add_argument("--seed", type=int, default=defaults.SEED,
                    help="random seed of the permutations, for a repeatable run")


def _add_road_commands(sub, settings: Settings) -> None:
    """The SRN commands: disrupt and corridors."""
    dis = _analysis_command(sub, "disrupt", _cmd_disrupt, settings)
    dis.add_argument("--k", type=int, default=defaults.SITES, metavar="N",
                     help="number of new sites")
    dis.add_argument("--radius", type=float, default=None, metavar="METRES",
                     help="reach as straight-line metres (default: --minutes by road)")
    dis.add_argument("--minutes", type=float, default=None, metavar="MIN",
                     help="reach as drive time by the SRN drive-time model (default: 10)")
    dis.add_argument("--candidates", metavar="FILE", help="extra candidate sites, CSV or GeoJSON")
    dis.add_argument("--existing", metavar="FILE",
                     help="sites already in place (e.g. ANPR), CSV or GeoJSON")
    dis.add_argument("--soc-boost", type=_positive(float), default=1.0, metavar="FACTOR",
                     help="multiply SOC-linked demand by this factor")
    dis.add_argument("--unweighted", action="store_true",
                     help="count incidents instead of weighting them by harm")
    dis.add_argument("--time-limit", type=_positive(float), default=30.0, metavar="SECONDS",
                     help="seconds for the exact solver before falling back to greedy")

    cor = _analysis_command(sub, "corridors", _cmd_corridors, settings)
    for p in (dis, cor):
        p.add_argument("--roads", metavar="EXTRACT", default=None,
                       help="SRN from this OpenStreetMap extract (.osm.pbf, .osm) instead of "
                            "the shipped National Highways data (needed for the Welsh forces)")
    cor.add_argument("--radius", type=_positive(float), default=defaults.JUNCTION_RADIUS_M,
                     metavar="METRES", help="junction radius, metres (straight line)")
    cor.add_argument("--neighbours", action="store_true",
                     help="include neighbouring forces' near-border incidents")


def _share(value: str) -> float:
    """A share of the area, 0 < share <= 1 (e.g. 0.05 for 5%)."""
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < v <= 1:
        hint = f"; for {v:g}% write {v / 100:g}" if 1 < v <= 100 else ""
        raise argparse.ArgumentTypeError(f"{value!r} must be a share between 0 and 1, e.g. "
                                         f"0.05 for 5%{hint}")
    return v


def _add_evaluate(sub, settings: Settings) -> None:
    """``hotspots evaluate``: the rolling-origin back-test."""
    ev = _analysis_command(sub, "evaluate", _cmd_evaluate, settings, period=False)
    _add_selection(ev, required=False)
    ev.add_argument("--train-months", type=int, default=defaults.TRAIN_MONTHS, metavar="N",
                    help="training window, months")
    ev.add_argument("--coverage", type=_share, default=defaults.COVERAGE, metavar="SHARE",
                    help="share of the area flagged as hotspot when scoring, between 0 and 1")


def _add_report(sub, settings: Settings) -> None:
    """``hotspots report``: the map, tasking pack and GIS files."""
    rep = _analysis_command(sub, "report", _cmd_report, settings)
    rep.add_argument("--out", required=True, metavar="DIR", help="folder to write the files into")
    rep.add_argument("--marking", default=None,
                     help=f"protective marking (default: {settings.marking}, from the settings)")
    rep.add_argument("--method", default=defaults.MAP_METHOD, choices=_MapMethods(),
                     metavar="METHOD",
                     help="map method, as the dashboard's switcher: %(choices)s")
    rep.add_argument("--bandwidth", default=defaults.BANDWIDTH, metavar="BANDWIDTH",
                     help="KDE bandwidth: auto (as the dashboard), metres, a rule name or "
                          "several metres separated by commas (multi-scale)")
    rep.add_argument("--top", type=_positive(float), default=defaults.TOP, metavar="SHARE",
                     help="share of the area marked as hotspot by the KDE with --areas 0, "
                          "between 0 and 1")
    _add_area_rule(rep, out=False)
    rep.add_argument("--correction", default=defaults.CORRECTION, choices=list(CORRECTIONS),
                     help="multiple-testing correction of gistar and emerging")
    rep.add_argument("--cluster-method", default=defaults.CLUSTER_METHOD,
                     choices=list(CLUSTER_METHODS), help="clustering of --method clusters")
    rep.add_argument("--sites", type=int, default=defaults.SITES, metavar="N",
                     help="disruption sites to choose (0 for none)")


def _add_review(sub, settings: Settings) -> None:
    """``hotspots review``: did last period's tasking work (WDQ)."""
    rev = _analysis_command(sub, "review", _cmd_review, settings)
    rev.add_argument("--buffer", type=_positive(float), default=BUFFER_M, metavar="M",
                     help="width of the displacement ring around each tasked area, metres")
    rev.add_argument("--top-areas", type=_positive(int), default=5, metavar="N",
                     help="tasked areas: the previous period's top N patrol areas")
    rev.add_argument("--ranks", default=None, metavar="R,R",
                     help="tasked areas: these ranks of the previous period's patrol areas "
                          "(e.g. 1,3)")
    rev.add_argument("--targets", default=None, metavar="FILE",
                     help="tasked areas: your own polygons (GeoJSON, GeoPackage; name and "
                          "rank columns used when present)")


def _cmd_help(args) -> int:
    print(cli_help.glossary_text())
    return 0


def _cmd_store_check(args) -> int:
    from hotspots.store_check import check_store

    report = check_store(args.store)
    _emit(report.to_dict(), args, report.lines())
    # 1, like fsck: the store is usable again, but damage was found and set aside.
    return 1 if report.corrupt else 0


def _add_store(sub, settings: Settings) -> None:
    """``hotspots store check``: verify the store's parts, set damaged ones aside."""
    st = _subcommand(sub, "store", _cmd_store_check)
    st.add_argument("action", choices=["check"],
                    help="what to do: check (verify every part, quarantine damaged ones)")
    st.add_argument("--store", default=str(settings.store_dir), metavar="DIR",
                    help="incident store folder")
    st.add_argument("--json", action="store_true", help="print one JSON object")


def _add_help(sub) -> None:
    """``hotspots help terms``: the glossary."""
    h = _subcommand(sub, "help", _cmd_help)
    h.add_argument("topic", choices=["terms"], help="what to explain: terms (the glossary)")


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """Return the argument parser for the ``hotspots`` command.

    Parameters
    ----------
    settings : Settings, optional
        Where the default store is (default: :func:`hotspots.config.load_settings`). The map
        methods offered are those of the registry when the parser is built.
    """
    settings = settings or load_settings()
    p = _Parser(prog="hotspots", description=cli_help.DESCRIPTIONS["hotspots"],
                epilog=cli_help.epilog("hotspots"), formatter_class=cli_help.HelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser,
                           metavar="COMMAND")

    _add_ingest(sub, settings)
    _add_forces(sub, settings)
    _add_map_commands(sub, settings)
    _add_road_commands(sub, settings)
    _add_evaluate(sub, settings)
    _add_report(sub, settings)
    _add_review(sub, settings)
    _add_basemap(sub, settings)
    _add_store(sub, settings)
    _add_help(sub)
    return p


def _cmd_basemap(args) -> int:
    from hotspots.streets import build_from_osm, streets_dir

    out = Path(args.out) if args.out else streets_dir(args.settings)
    written = build_from_osm(args.extract, out)
    sizes = {p.name: p.stat().st_size for p in written}
    _emit({"out": str(out), "files": sizes}, args,
          [f"street basemap written to {out}",
           *(f"  {name}: {size / 1e6:.2f} MB" for name, size in sizes.items())])
    return 0


def _add_basemap(sub, settings: Settings) -> None:
    """``hotspots basemap build EXTRACT``: the street basemap from an OpenStreetMap extract."""
    bm = _subcommand(sub, "basemap", None)
    bsub = bm.add_subparsers(dest="action", required=True, parser_class=_Parser,
                             metavar="ACTION", help="build: write the basemap from an extract")
    b = bsub.add_parser("build", help="build it from an OpenStreetMap extract (.osm.pbf, .osm)",
                        description=cli_help.DESCRIPTIONS["basemap"],
                        epilog=cli_help.epilog("basemap"),
                        formatter_class=cli_help.HelpFormatter)
    b.add_argument("extract", metavar="EXTRACT",
                   help="OpenStreetMap extract of the force area (.osm.pbf or .osm)")
    b.add_argument("--out", metavar="DIR",
                   help="folder to write (default: the data folder's streets/, "
                        f"{Path(settings.data_dir) / 'streets'})")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=_cmd_basemap, store=str(settings.store_dir))


def _ensure_default_store(args, settings: Settings) -> None:
    """On a fresh checkout the default store does not exist yet: build it from the shipped data
    (as the dashboard does) rather than fail; any other store must exist already."""
    from hotspots.ingest import build_default_store

    # `store check` must reach a damaged store as it is, to repair it.
    if args.command in ("ingest", "help", "basemap", "store"):
        return
    if Path(args.store).resolve() == Path(settings.store_dir).resolve():
        report = build_default_store(settings)
        if report is not None:
            print(f"hotspots: built the incident store from the shipped data "
                  f"({report.accepted:,} incidents) in {settings.store_dir}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hotspots`` command; return its exit code (0 ok, 2 for any handled error;
    ``store check`` returns 1 when it set damaged parts aside)."""
    # Everything the command writes (store, rejects, exports, audit log) is owner-only.
    umask = os.umask(0o077)
    try:
        # The one settings object of the run: every command gets it, with --store applied.
        settings = load_settings()
        parser = build_parser(settings)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # usage errors and --help: argparse already printed
            return int(exc.code or 0)
        if getattr(args, "from", None) and getattr(args, "to", None) and \
                getattr(args, "from") > args.to:
            raise ParameterError(f"--from {getattr(args, 'from')} is after --to {args.to}")
        if getattr(args, "top", None) is not None and not 0 < args.top < 1:
            raise ParameterError(f"--top {args.top} must be a share between 0 and 1, e.g. 0.05")
        _ensure_default_store(args, settings)
        store = getattr(args, "store", None)
        args.settings = settings.with_(store_dir=Path(store)) if store else settings
        if args.func not in (_cmd_ingest, _cmd_forces, _cmd_help, _cmd_basemap,
                             _cmd_store_check):
            args.scope = _resolve_scope(args, settings)
            # The first force is the one library defaults (e.g. the back-test) fall back to.
            args.settings = args.settings.with_(force=args.scope["forces"][0])
        return args.func(args)
    except HotspotsError as exc:
        print(f"hotspots: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours; silence the flush at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except KeyboardInterrupt:
        print("hotspots: interrupted", file=sys.stderr)
        return 130
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
