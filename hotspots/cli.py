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

from hotspots import wording
from hotspots.config import Settings, load_settings
from hotspots.errors import NO_MAPPED, HotspotsError, NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.significance import CORRECTIONS
from hotspots.months import is_month
from hotspots.query import available_months, load_incidents, select
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


def _emit(payload: dict, as_json: bool, lines: Sequence[str]) -> None:
    if as_json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print("\n".join(lines))


def _crimes(args) -> dict:
    """``--group`` / ``--types`` as Selection keyword arguments (one of the two is needed)."""
    if args.group is None and args.types is None:
        raise ParameterError("choose crimes with --group NAME or --types \"A,B\"")
    return {"groups": [args.group] if args.group else None, "types": args.types}


def _selection(args) -> Selection:
    """The command's Selection, validated once: crimes, period and area."""
    return Selection.build(args.settings, start=getattr(args, "from"), end=args.to,
                           area=getattr(args, "area", None), **_crimes(args))


def _history(args) -> Selection:
    """A Selection over every month the store holds (for the back-test)."""
    held = available_months(settings=args.settings)
    if not held:
        raise NoDataError(f"{args.settings.store_dir}: the incident store holds no months")
    return Selection.build(args.settings, start=held[0], end=held[-1],
                           area=getattr(args, "area", None), **_crimes(args))


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
    _emit(d, args.json, [
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
        raise NoDataError(NO_MAPPED)
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
        areas = with_trend(areas, sel, available_months(settings=args.settings))
    written = []
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        areas.to_crs("EPSG:4326").to_file(args.out, driver="GeoJSON")
        written.append(args.out)
    if args.surface:
        Path(args.surface).parent.mkdir(parents=True, exist_ok=True)
        write_geotiff(surface, args.surface, mask=geom)
        written.append(args.surface)
    share = float(areas["incidents"].sum() / len(mapped)) if len(mapped) else 0.0
    payload = {
        "incidents": int(len(mapped)),
        "incidents_without_location": int((~inc["has_location"]).sum()),
        "from": getattr(args, "from"),
        "to": args.to,
        "area": args.area or "force",
        "cell": surface.grid.cell,
        "bandwidth": surface.bandwidth,
        **({"bandwidths": list(surface.bandwidths)} if surface.multiscale else {}),
        "bandwidth_rule": "auto" if auto else surface.bandwidth_rule,
        **({"auto": auto} if auto else {}),
        "kernel": surface.kernel,
        "top": args.top,
        **rule.to_dict(),
        "areas_method": areas.attrs.get("method", {}).get("method", ""),
        "hotspots": int(len(areas)),
        "share_in_hotspots": round(share, 4),
        "areas": area_records(areas),
        "files": written,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    _emit(payload, args.json, [
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
    mode (``--areas 0``) or when the command's units are not a grid."""
    from hotspots import methods
    from hotspots.pack_areas import with_trend
    from hotspots.spatial.places import load_places

    rule = _rule(args)
    if not rule.patrol:
        return None
    held = available_months(settings=args.settings)
    shown = methods.model_areas(method, result, inc, start=sel.start, end=sel.end,
                                crimes=wording.crimes_label(sel.groups, sel.types),
                                study_area=sel.geometry, months_held=held, rule=rule,
                                places=load_places(args.settings))
    return with_trend(shown.areas, sel, held)


def _records(frame, columns: list[str]) -> list[dict]:
    """JSON-ready rows: numpy scalars to Python, NaN to None."""
    return json_value(frame[columns].to_dict("records"))


def _cmd_corridors(args) -> int:
    from hotspots.spatial.corridors import corridor_bands, junction_stats
    from hotspots.spatial.srn_graph import build_srn_graph

    t0 = time.perf_counter()
    sel, settings = _selection(args), args.settings
    start, end = sel.start, sel.end
    forces = "all" if args.neighbours else None
    # junction_stats compares with the previous period of equal length, so it gets the whole
    # span of data and is told which months the store covers (gaps are never read as zeros).
    everything = load_incidents(settings.store_dir, area="none" if args.neighbours else None,
                                forces=forces, settings=settings, **sel.crime_filter)
    period = everything[(everything["month"] >= start) & (everything["month"] <= end)]
    located = mapped_rows(period)
    if located.empty:
        raise NoDataError(NO_MAPPED)
    graph = build_srn_graph(settings)
    junctions = junction_stats(everything, graph, radius=args.radius, period=(start, end),
                               months=available_months(settings=settings))
    bands = corridor_bands(period, graph, sel.geometry)
    payload = {
        "from": start,
        "to": end,
        "selection": _crimes(args),
        "forces": sorted(period["force"].dropna().unique().tolist()),
        "incidents": int(len(period)),
        "incidents_without_location": int((~period["has_location"]).sum()),
        "radius_m": args.radius,
        "junction_method": f"incidents within {args.radius:.0f} m straight-line of the junction "
                           "node; change against the previous period of equal length",
        "band_method": "distance to the nearest SRN road; location quotient = share of "
                       "incidents / share of the force area",
        "junctions": _records(junctions, ["name", "lon", "lat", "incidents", "by_group",
                                          "previous", "change", "change_note"]),
        "bands": _records(bands, ["band", "incidents", "share", "area_km2", "density_km2",
                                  "lq"]),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    top = payload["junctions"][:10]
    _emit(payload, args.json, [
        f"{payload['incidents']} incidents {start}..{end} "
        f"({', '.join(payload['forces'])})",
        "Junctions by incidents within "
        f"{args.radius:.0f} m:",
        *(f"  {j['name']}: {j['incidents']}" for j in top),
        "Corridor bands (distance from the SRN):",
        *(f"  {b['band']}: {b['incidents']} ({b['share']:.1%}), LQ "
          f"{b['lq'] if b['lq'] is None else round(b['lq'], 2)}" for b in payload["bands"]),
    ])
    return 0


def _load_period(sel: Selection, *, mapped_only: bool = True):
    """Incidents of the selection, with a clear error when none are left."""
    inc = select(sel, mapped_only=mapped_only)
    if inc.empty:
        raise NoDataError(NO_MAPPED)
    return inc


def _write_geojson(frame, path: str | None, written: list[str]) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
        written.append(path)


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


def _patrol_payload(payload: dict, lines: list[str], areas, args, written: list[str]) -> None:
    """Put a model command's patrol areas into its JSON, its lines and ``--areas-out``."""
    from hotspots.models.patrol import area_records

    payload["areas"] = area_records(areas)
    payload["areas_method"] = areas.attrs["method"]["method"]
    payload.update(_rule(args).to_dict())
    share = sum(a["share"] for a in payload["areas"])
    payload["share_in_areas"] = round(share, 4)
    _write_geojson(areas, args.areas_out, written)
    lines.append(f"{len(payload['areas'])} patrol areas ({_rule(args).words()}) hold "
                 f"{share:.1%} of mapped incidents")
    lines += [f"  {a['rank']}. {a['name']}: {a['incidents']} incidents ({a['share']:.1%}), "
              f"{a['area_km2']:.2f} km²" for a in payload["areas"][:10]]


def _cmd_gistar(args) -> int:
    from hotspots.method_spec import MapMethod
    from hotspots.models.areas import gistar_areas
    from hotspots.models.gistar import gi_star_grid, gi_star_lsoa

    t0 = time.perf_counter()
    sel = _selection(args)
    inc = _load_period(sel)
    if args.units == "lsoa":
        frame = gi_star_lsoa(inc, settings=args.settings, correction=args.correction,
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
    written: list[str] = []
    _write_geojson(significant, args.out, written)
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": args.area or "force", "units": args.units, "params": params,
               "hot": int((significant["bin"] > 0).sum()),
               "cold": int((significant["bin"] < 0).sum()), "files": written}
    lines = [f"Gi* on {args.units} ({params.get('correction_name', args.correction)}): "
             f"{payload['hot']} hot and {payload['cold']} cold features at 90% or more"]
    if args.units != "lsoa":
        patrol = _patrol(args, MapMethod("gistar", correction=args.correction), frame, inc,
                         sel)
        if patrol is not None:
            _patrol_payload(payload, lines, patrol, args, written)
        else:
            areas = gistar_areas(frame, inc)
            payload["areas"] = _area_records(areas)
            payload["areas_method"] = areas.attrs["method"]["method"]
            lines += [f"  area {a['rank']}: {a['incidents']} incidents, {a['confidence']}%, "
                      f"{a['top_locations']}" for a in payload["areas"][:5]]
    elif args.areas_out:
        raise ParameterError("--areas-out needs --units grid (patrol areas grow on grid cells)")
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args.json, [*lines, *(f"wrote {w}" for w in written)])
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
                            months_held=available_months(settings=args.settings))
    params = res.attrs["params"]
    classes = res["pattern"].value_counts().to_dict()
    written: list[str] = []
    with_pattern = res[res["pattern"] != "no pattern detected"]
    _write_geojson(with_pattern.drop(columns=["bins"], errors="ignore"), args.out, written)
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": args.area or "force", "params": params,
               "patterns": {str(k): int(v) for k, v in classes.items()}, "files": written}
    lines = ["Emerging hot spots: " + ", ".join(f"{k} {v}"
                                                for k, v in payload["patterns"].items())]
    patrol = _patrol(args, MapMethod("emerging", correction=args.correction), res, inc, sel)
    if patrol is not None:
        _patrol_payload(payload, lines, patrol, args, written)
    else:
        areas = emerging_areas(res, inc)
        payload["areas"] = _area_records(areas)
        payload["areas_method"] = areas.attrs["method"]["method"]
        lines += [f"  area {a['rank']}: {a['pattern']}, {a['incidents']} incidents, "
                  f"{a['top_locations']}" for a in payload["areas"][:5]]
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args.json, [*lines, *(f"wrote {w}" for w in written)])
    return 0


def _cmd_disrupt(args) -> int:
    from hotspots.method_kde import density_areas
    from hotspots.methods import FALLBACK_BANDWIDTH
    from hotspots.models.candidates import read_sites
    from hotspots.models.coverage import build_coverage
    from hotspots.models.disruption import choose_sites
    from hotspots.spatial.srn_graph import build_srn_graph

    t0 = time.perf_counter()
    if args.radius is not None and args.minutes is not None:
        raise ParameterError("give --radius (metres) or --minutes (drive time), not both")
    sel = _selection(args)
    inc = _load_period(sel)
    extra = read_sites(args.candidates) if args.candidates else None
    existing = read_sites(args.existing) if args.existing else None
    # "Hotspots within reach" in the rationale: the period's KDE areas at the fallback bandwidth.
    _, hotspots = density_areas(inc, sel.geometry, bandwidth=FALLBACK_BANDWIDTH, top=0.05)
    cov = build_coverage(inc, build_srn_graph(args.settings), minutes=args.minutes,
                         radius=args.radius, extra=extra, existing=existing,
                         soc_boost=args.soc_boost, weight="count" if args.unweighted else "harm",
                         hotspots=hotspots, study_area=sel.geometry,
                         period=(sel.start, sel.end),
                         months=available_months(settings=args.settings))
    plan = choose_sites(cov, args.k, time_limit=args.time_limit)
    payload = plan.to_dict()
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args.json, [
        f"{len(payload['sites'])} sites by {payload['method']} (gap {payload['gap']:.2%}):",
        *(f"  {site['rank']}. {site['name']}: {site['rationale']}"
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
        return text


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
    _emit(result, args.json, [
        f"{len(result['files'])} files written to {args.out} "
        f"(pack: {result.get('pages')} pages; sites.csv holds {result.get('sites_csv')})",
        f"map: {p.get('map_method')}, {p.get('hotspots')} areas"
        + (f" ({p['auto']['label']}, {p['auto']['rule']})"
           if p.get("auto") and registry.get(args.method).density else ""),
        *([f"back-test: {acc['statement']}"] if acc.get("statement") else []),
        *(f"  {f['name']}: {f['bytes']:,} bytes" for f in result["files"])])
    return 0


def _cmd_evaluate(args) -> int:
    from hotspots.models.evaluate import evaluate_store
    from hotspots.registry import backtest_methods

    t0 = time.perf_counter()
    sel = _history(args)
    coverages = tuple(sorted({0.01, 0.02, 0.05, 0.10, args.coverage}))
    res = evaluate_store(args.settings.store_dir, area=sel.area, settings=args.settings,
                         methods=backtest_methods(), train_months=args.train_months,
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

    _emit(payload, args.json, [
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
    written: list[str] = []
    _write_geojson(clusters, args.out, written)
    records = clusters.drop(columns="geometry").to_dict("records")
    payload = {"incidents": int(len(inc)), "from": getattr(args, "from"), "to": args.to,
               "area": args.area or "force", "params": clusters.attrs.get("params", {}),
               "clusters": _records(clusters, [c for c in clusters.columns
                                               if c != "geometry"]),
               "files": written}
    lines = [f"{len(records)} clusters ({args.method}) among {len(inc)} mapped incidents"]
    patrol = (_patrol(args, MapMethod("clusters", cluster_method=args.method), clusters, inc,
                      sel) if len(clusters) else None)
    if patrol is not None:
        _patrol_payload(payload, lines, patrol, args, written)
    else:  # share mode, or no cluster at all: the clusters are the areas
        payload["areas"] = [{**r, "rank": i + 1} for i, r in enumerate(payload["clusters"])]
        lines += [f"  {i + 1}. {r.get('incidents')} incidents, {r.get('top_location', '')}"
                  for i, r in enumerate(records[:10])]
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args.json, [*lines, *(f"wrote {w}" for w in written)])
    return 0


def _cmd_nearrepeat(args) -> int:
    from hotspots.models.nearrepeat import knox_test

    t0 = time.perf_counter()
    inc = _load_period(_selection(args))
    res = knox_test(inc, permutations=args.permutations, seed=args.seed)
    payload = res.to_dict()
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    _emit(payload, args.json, [
        "Knox near-repeat test: observed / expected pairs (Monte Carlo p-value)",
        res.to_frame().to_string()])
    return 0


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
    p.add_argument("--areas", type=_whole, default=10, metavar="N",
                   help="patrol areas to rank: compact areas grown from the map's peaks, "
                        "chosen to hold the most predicted crime (default 10); 0 for the "
                        "method's own areas (the KDE's --top share of the area, every Gi* hot "
                        "cell, emerging hot pattern or cluster)")
    p.add_argument("--max-area-km2", type=_positive(float), default=1.0, metavar="A",
                   help="largest patrol area, km² (default 1: about ten minutes' walk across)")
    if out:
        p.add_argument("--areas-out", help="the ranked patrol areas, GeoJSON (WGS84)")


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--group", help="crime group: acquisitive, soc, violence, asb, other")
    g.add_argument("--types", type=_types, help='crime types, e.g. "Burglary,Vehicle crime"')
    p.add_argument("--from", type=_months, required=True, help="first month, YYYY-MM")
    p.add_argument("--to", type=_months, required=True, help="last month, YYYY-MM")


def _analysis_command(sub, name: str, help_text: str, func, store: str, *,
                      period: bool = True, area: bool = True) -> argparse.ArgumentParser:
    """Add a subcommand with the options every analysis shares: store, crimes and period,
    area, --json; the caller adds the command's own options."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--store", default=store, help="incident store folder")
    if period:
        _add_selection(p)
    if area:
        p.add_argument("--area", default=None, help="district name (default: whole force area)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=func)
    return p


def _add_ingest(sub, default_store: str) -> None:
    """``hotspots ingest``: load files into the incident store."""
    ing = sub.add_parser("ingest", help="load police.uk or force files into the incident store")
    ing.add_argument("paths", nargs="+", help="CSV/ZIP/GeoJSON/GeoPackage/GeoParquet files or "
                                               "folders")
    ing.add_argument("--store", default=default_store, help="incident store folder")
    ing.add_argument("--boundary", help="area file for the location check, or 'none' "
                                        "(default: the configured force area)")
    ing.add_argument("--buffer", type=float, default=None,
                     help="metres allowed outside the boundary (default from settings)")
    ing.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                     help="column mapping for force extracts, repeatable: category=, lon=/lat= or "
                          "easting=/northing=, date=|datetime=|month=, date_format=, id=, "
                          "location=, soc_flag=, ocg_ref=, county_line=, force=, default_force=")
    ing.add_argument("--json", action="store_true", help="print one JSON object")
    ing.set_defaults(func=_cmd_ingest)


def _add_map_commands(sub, default_store: str) -> None:
    """The hotspot map commands: kde, gistar, emerging, clusters, nearrepeat."""
    kde = _analysis_command(sub, "kde", "kernel density hotspots for a period and crime selection",
                             _cmd_kde, default_store)
    kde.add_argument("--cell", type=_positive(float), default=100.0, help="cell size, metres")
    kde.add_argument("--bandwidth", default="500",
                     help="metres, a rule name (arcgis, scott, silverman), auto (the KDE "
                          "surface with the best back-tested PAI at 5%% on earlier months, as "
                          "the dashboard draws it), or several metres separated by commas for "
                          "the multi-scale KDE (e.g. 300,500,750,1000)")
    kde.add_argument("--kernel", default="quartic", choices=["quartic", "gaussian",
                                                             "epanechnikov"])
    kde.add_argument("--top", type=_positive(float), default=0.05,
                     help="share of the area marked as hotspot with --areas 0 (default 0.05)")
    _add_area_rule(kde, out=False)
    kde.add_argument("--out", help="hotspot (patrol) area polygons, GeoJSON (WGS84)")
    kde.add_argument("--surface", help="density surface, GeoTIFF (EPSG:27700)")

    gi = _analysis_command(sub, "gistar", "Getis-Ord Gi* hot and cold spots with FDR",
                            _cmd_gistar, default_store)
    gi.add_argument("--units", choices=["grid", "lsoa"], default="grid")
    gi.add_argument("--cell", type=_positive(float), default=None,
                    help="cell size, metres (default: shorter side of the area / 50)")
    gi.add_argument("--distance", type=_positive(float), default=None,
                    help="neighbourhood distance, metres (default 1.5 x cell)")
    gi.add_argument("--correction", choices=list(CORRECTIONS), default="fdr_bh")
    gi.add_argument("--permutations", type=int, default=0,
                    help="conditional permutations for pseudo p-values (default 0: analytical)")
    gi.add_argument("--seed", type=int, default=0)
    gi.add_argument("--out", help="significant features, GeoJSON (WGS84)")
    _add_area_rule(gi)

    em = _analysis_command(sub, "emerging", "emerging hot spot patterns over time",
                            _cmd_emerging, default_store)
    em.add_argument("--cell", type=_positive(float), default=None)
    em.add_argument("--correction", choices=list(CORRECTIONS), default="fdr_bh")
    em.add_argument("--out", help="locations with a pattern, GeoJSON (WGS84)")
    _add_area_rule(em)

    cl = _analysis_command(sub, "clusters", "DBSCAN / HDBSCAN clusters in metres",
                            _cmd_clusters, default_store)
    cl.add_argument("--method", choices=list(CLUSTER_METHODS), default="dbscan")
    cl.add_argument("--eps", default=None,
                    help="DBSCAN radius in metres, or 'elbow' (default 250)")
    cl.add_argument("--min-samples", type=int, default=None)
    cl.add_argument("--min-cluster-size", type=int, default=None)
    cl.add_argument("--out", help="cluster hulls, GeoJSON (WGS84)")
    _add_area_rule(cl)

    nr = _analysis_command(sub, "nearrepeat", "Knox near-repeat test",
                            _cmd_nearrepeat, default_store)
    nr.add_argument("--permutations", type=int, default=999)
    nr.add_argument("--seed", type=int, default=0)


def _add_road_commands(sub, default_store: str) -> None:
    """The SRN commands: disrupt and corridors."""
    dis = _analysis_command(sub, "disrupt", "suggest SRN disruption points (maximal covering)",
                             _cmd_disrupt, default_store)
    dis.add_argument("--k", type=int, default=5, help="number of new sites (default 5)")
    dis.add_argument("--radius", type=float, default=None,
                     help="reach as straight-line metres (default: 10 minutes by road)")
    dis.add_argument("--minutes", type=float, default=None,
                     help="reach as drive time by the SRN drive-time model (default 10)")
    dis.add_argument("--candidates", help="extra candidate sites, CSV or GeoJSON")
    dis.add_argument("--existing", help="sites already in place (e.g. ANPR), CSV or GeoJSON")
    dis.add_argument("--soc-boost", type=_positive(float), default=1.0,
                     help="multiply SOC-linked demand by this factor (default 1)")
    dis.add_argument("--unweighted", action="store_true",
                     help="count incidents instead of weighting them by harm")
    dis.add_argument("--time-limit", type=_positive(float), default=30.0,
                     help="seconds for the exact solver before falling back to greedy")

    cor = _analysis_command(sub, "corridors", "crime around SRN junctions and corridor bands",
                            _cmd_corridors, default_store, area=False)
    cor.add_argument("--radius", type=_positive(float), default=2000.0,
                     help="junction radius, metres (default 2000)")
    cor.add_argument("--neighbours", action="store_true",
                     help="include neighbouring forces' near-border incidents")


def _add_evaluate(sub, default_store: str) -> None:
    """``hotspots evaluate``: the rolling-origin back-test."""
    ev = _analysis_command(sub, "evaluate", "back-test hotspot methods on later months",
                           _cmd_evaluate, default_store, period=False)
    g = ev.add_mutually_exclusive_group()
    g.add_argument("--group", help="crime group: acquisitive, soc, violence, asb, other")
    g.add_argument("--types", type=_types, help='crime types, e.g. "Burglary,Vehicle crime"')
    ev.add_argument("--train-months", type=int, default=3,
                    help="training window in months (default 3)")
    ev.add_argument("--coverage", type=_positive(float), default=0.05,
                    help="share of the area flagged (default 0.05)")


def _add_report(sub, default_store: str) -> None:
    """``hotspots report``: the map, tasking pack and GIS files."""
    rep = _analysis_command(sub, "report", "map PNG, tasking pack PDF and GIS exports",
                             _cmd_report, default_store)
    rep.add_argument("--out", required=True, help="folder to write the files into")
    rep.add_argument("--marking", default=None,
                     help="protective marking (default from settings: OFFICIAL-SENSITIVE)")
    rep.add_argument("--method", default="kde", choices=_MapMethods(), metavar="METHOD",
                     help="map method, as the dashboard's switcher: %(choices)s (default kde)")
    rep.add_argument("--bandwidth", default="auto",
                     help="KDE bandwidth: auto (default, as the dashboard), metres, a rule name "
                          "or several metres separated by commas (multi-scale)")
    rep.add_argument("--top", type=_positive(float), default=0.05,
                     help="share of the area marked as hotspot by the KDE with --areas 0 "
                          "(default 0.05)")
    _add_area_rule(rep, out=False)
    rep.add_argument("--correction", default="fdr_bh", choices=list(CORRECTIONS),
                     help="multiple-testing correction of gistar and emerging (default fdr_bh)")
    rep.add_argument("--cluster-method", default="dbscan", choices=list(CLUSTER_METHODS),
                     help="clustering of --method clusters (default dbscan)")
    rep.add_argument("--sites", type=int, default=5,
                     help="disruption sites to choose (default 5; 0 for none)")


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """Return the argument parser for the ``hotspots`` command.

    Parameters
    ----------
    settings : Settings, optional
        Where the default store is (default: :func:`hotspots.config.load_settings`). The map
        methods offered are those of the registry when the parser is built.
    """
    settings = settings or load_settings()
    default_store = str(settings.store_dir)
    p = _Parser(prog="hotspots", description="Crime hotspot and SRN corridor analysis.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _add_ingest(sub, default_store)
    _add_map_commands(sub, default_store)
    _add_road_commands(sub, default_store)
    _add_evaluate(sub, default_store)
    _add_report(sub, default_store)
    return p


def _ensure_default_store(args, settings: Settings) -> None:
    """On a fresh checkout the default store does not exist yet: build it from the shipped data
    (as the dashboard does) rather than fail; any other store must exist already."""
    from hotspots.ingest import build_default_store

    if args.command == "ingest":
        return
    if Path(args.store).resolve() == Path(settings.store_dir).resolve():
        report = build_default_store(settings)
        if report is not None:
            print(f"hotspots: built the incident store from the shipped data "
                  f"({report.accepted:,} incidents) in {settings.store_dir}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hotspots`` command; return its exit code (0 ok, 2 for any handled error)."""
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
        args.settings = settings.with_(store_dir=Path(args.store))
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


if __name__ == "__main__":
    sys.exit(main())
