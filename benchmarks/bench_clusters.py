"""Benchmark hotspots' clusters and Knox test beside scikit-learn, the hdbscan package, numpy."""

# Run from the repository root:
#     .venv/bin/python benchmarks/bench_clusters.py           # full run, writes
#                                                            # docs/benchmarks_clusters.md
#     .venv/bin/python benchmarks/bench_clusters.py --quick   # 10k only, prints, writes nothing
# Needs the bench extra: `pip install hdbscan` (the hdbscan package; scikit-learn is a core
# dependency). Points are the shipped police.uk locations (every month, every crime type)
# sampled with replacement; "jittered" adds N(0, 50 m) per axis so nearly every point is a
# distinct location, "snapped" keeps police.uk's map points (thousands of exact duplicates).
# Every clustering run is a fresh process (spawn) limited to LIMIT_S seconds and MEM_GB of
# address space, single-threaded, so a library that cannot finish is recorded, not waited on.

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import queue as queue_mod
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMIT_S = 120.0
MEM_GB = 6.0
SIZES = (10_000, 100_000, 1_000_000)
JITTER_M = 50.0
SEED = 0
# Fixed parameters at every size, so the times show how each library scales.
DB_EPS, DB_MIN = 100.0, 20
HD_MCS, HD_MS = 100, 10

METHODS = (
    ("hotspots find_clusters dbscan", "dbscan"),
    ("scikit-learn DBSCAN", "dbscan"),
    ("hotspots find_clusters hdbscan", "hdbscan"),
    ("scikit-learn HDBSCAN", "hdbscan"),
    ("hdbscan package HDBSCAN", "hdbscan"),
)
REFERENCE = {"dbscan": "scikit-learn DBSCAN", "hdbscan": "scikit-learn HDBSCAN"}


# ------------------------------------------------------------------------------ data
def shipped_locations() -> tuple[np.ndarray, np.ndarray]:
    """BNG coordinates of every mapped incident in the shipped store (built if missing)."""
    from hotspots.config import load_settings
    from hotspots.ingest import build_default_store
    from hotspots.query import load_incidents

    settings = load_settings()
    build_default_store(settings)
    inc = load_incidents(mapped_only=True, settings=settings)
    return inc["x"].to_numpy(), inc["y"].to_numpy()


def make_points(n: int, jitter: float, seed: int = SEED) -> np.ndarray:
    x, y = shipped_locations()
    rng = np.random.default_rng(seed)
    i = rng.integers(0, x.size, n)
    xy = np.column_stack([x[i], y[i]])
    if jitter:
        xy += rng.normal(0.0, jitter, xy.shape)
    return xy


# ------------------------------------------------------------------------------ one run
def _fit(name: str, xy: np.ndarray) -> tuple[np.ndarray, float]:
    if name.startswith("hotspots"):
        from hotspots.models.clusters import find_clusters

        frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "has_location": True})
        t0 = time.perf_counter()
        if name == "hotspots find_clusters dbscan":
            out = find_clusters(frame, method="dbscan", eps=DB_EPS, min_samples=DB_MIN)
        else:
            out = find_clusters(frame, method="hdbscan", min_cluster_size=HD_MCS,
                                min_samples=HD_MS)
        return out.attrs["labels"], time.perf_counter() - t0
    if name == "scikit-learn DBSCAN":
        from sklearn.cluster import DBSCAN

        t0 = time.perf_counter()
        lab = DBSCAN(eps=DB_EPS, min_samples=DB_MIN, algorithm="kd_tree").fit_predict(xy)
        return lab, time.perf_counter() - t0
    if name == "scikit-learn HDBSCAN":
        from sklearn.cluster import HDBSCAN

        t0 = time.perf_counter()
        lab = HDBSCAN(min_cluster_size=HD_MCS, min_samples=HD_MS, copy=False).fit_predict(xy)
        return lab, time.perf_counter() - t0
    if name == "hdbscan package HDBSCAN":
        import hdbscan

        t0 = time.perf_counter()
        lab = hdbscan.HDBSCAN(min_cluster_size=HD_MCS, min_samples=HD_MS,
                              core_dist_n_jobs=1).fit_predict(xy)
        return lab, time.perf_counter() - t0
    raise ValueError(name)


def _child(name: str, n: int, jitter: float, q) -> None:
    import resource

    limit = int(MEM_GB * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    xy = make_points(n, jitter)
    # Imports are not part of the work being timed.
    import hdbscan  # noqa: F401
    import sklearn.cluster  # noqa: F401

    import hotspots.models.clusters  # noqa: F401
    q.put(("ready", None))
    try:
        lab, secs = _fit(name, xy)
    except MemoryError:
        q.put(("done", {"status": f"out of memory ({MEM_GB:g} GB limit)"}))
        return
    except Exception as exc:  # noqa: BLE001 - a refusal or failure is a result to record
        q.put(("done", {"status": f"{type(exc).__name__}: {exc}"}))
        return
    lab = np.asarray(lab).astype(np.int32)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(("done", {"status": "ok", "seconds": secs, "labels": lab, "rss_mb": rss}))


def run_one(name: str, n: int, jitter: float) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(name, n, jitter, q), daemon=True)
    p.start()
    try:
        tag, _ = q.get(timeout=300)
        assert tag == "ready"
        tag, res = q.get(timeout=LIMIT_S)
    except queue_mod.Empty:
        alive = p.is_alive()
        res = {"status": f"not finished in {LIMIT_S:.0f} s (stopped)" if alive
               else f"crashed (exit code {p.exitcode}; likely out of memory under the "
                    f"{MEM_GB:g} GB limit)"}
    finally:
        if p.is_alive():
            p.terminate()
            p.join(5)
            if p.is_alive():
                p.kill()
        p.join()
    return res


# ------------------------------------------------------------------------------ knox
def knox_rows(permutations: int, baseline_perms: int) -> list[dict]:
    """Time knox_test on shipped selections, beside a dense numpy Knox written the usual way."""
    from hotspots.config import load_settings
    from hotspots.models.nearrepeat import knox_test
    from hotspots.query import load_incidents

    cases = [
        ("Burglary, Warwickshire, 2025", dict(types=["Burglary"], start="2025-01",
                                             end="2025-12")),
        ("Burglary, Warwick district, 2025", dict(types=["Burglary"], start="2025-01",
                                                 end="2025-12", area="Warwick")),
        ("Acquisitive, Rugby district, 2025", dict(groups=["acquisitive"], start="2025-01",
                                                  end="2025-12", area="Rugby")),
        ("Burglary, Warwickshire, all 16 months", dict(types=["Burglary"])),
        ("Acquisitive, Warwickshire, 2025", dict(groups=["acquisitive"], start="2025-01",
                                                end="2025-12")),
    ]
    settings = load_settings()
    rows = []
    for label, sel in cases:
        inc = load_incidents(mapped_only=True, settings=settings, **sel)
        t0 = time.perf_counter()
        res = knox_test(inc, permutations=permutations, seed=0)
        secs = time.perf_counter() - t0
        row = {"data": label, "n": res.params["used"],
               "pairs": res.params["pairs_within_max_distance"], "seconds": secs,
               "baseline": None, "same": None}
        if res.params["used"] <= 3000:
            t0 = time.perf_counter()
            obs = dense_knox(inc, res.params["distance_bands_m"], res.params["time_bands"],
                             baseline_perms)
            row["baseline"] = (time.perf_counter() - t0) * (permutations + 1) / (
                baseline_perms + 1)
            row["same"] = bool(np.array_equal(obs, res.observed.to_numpy()))
        rows.append(row)
        print(f"  knox {label:<40} n={row['n']:>6,} pairs={row['pairs']:>10,} "
              f"{secs:7.2f} s  dense numpy {row['baseline'] or float('nan'):8.1f} s", flush=True)
    return rows


def dense_knox(inc: pd.DataFrame, dbands, tbands, permutations: int) -> np.ndarray:
    """Knox table the way it is usually scripted: full n x n matrices, recounted each time."""
    x, y = inc["x"].to_numpy(), inc["y"].to_numpy()
    t = (inc["occurred"].dt.year * 12 + inc["occurred"].dt.month).to_numpy()
    iu = np.triu_indices(x.size, 1)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])[iu]
    drow = np.searchsorted(np.asarray(dbands, float), d, side="left")
    kt = len(tbands) + 1

    def table(tt: np.ndarray) -> np.ndarray:
        dtm = np.abs(tt[:, None] - tt[None, :])[iu]
        tcol = np.searchsorted(np.asarray(tbands), dtm, side="left")
        return np.bincount(drow * kt + tcol, minlength=(len(dbands) + 1) * kt).reshape(-1, kt)

    obs = table(t)
    rng = np.random.default_rng(0)
    for _ in range(permutations):
        table(rng.permutation(t))
    return obs


# ------------------------------------------------------------------------------ main
def one_location_clusters(lab: np.ndarray, codes: np.ndarray) -> int:
    """Clusters (label >= 0) whose points all sit on one distinct location."""
    hit = lab >= 0
    per = pd.Series(codes[hit]).groupby(lab[hit]).nunique()
    return int((per == 1).sum())


def run(sizes, datasets) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for data, jitter in datasets:
        for n in sizes:
            xy = make_points(n, jitter)
            codes = pd.factorize(xy[:, 0] + 1j * xy[:, 1])[0]
            distinct = int(codes.max()) + 1
            print(f"\n== {data}, {n:,} points, {distinct:,} distinct", flush=True)
            labels = {}
            for name, family in METHODS:
                res = run_one(name, n, jitter)
                lab = res.pop("labels", None)
                if lab is not None:
                    if name.startswith("hotspots"):
                        # hotspots: 1.. clusters, 0 noise; the libraries: 0.. clusters, -1 noise.
                        lab = np.where(lab > 0, lab - 1, -1)
                    labels[name] = lab
                    res["clusters"] = int(lab.max()) + 1
                    res["noise"] = float(np.mean(lab < 0))
                    res["one_location"] = one_location_clusters(lab, codes)
                res.update(data=data, n=n, distinct=distinct, method=name, family=family)
                rows.append(res)
                print(f"  {name:<34} {res['status'][:24]:<24} "
                      f"{res.get('seconds', float('nan')):8.2f} s  "
                      f"clusters {res.get('clusters', '-')}  "
                      f"rss {res.get('rss_mb', float('nan')):7.0f} MB", flush=True)
            for r in rows[-len(METHODS):]:
                if r["method"] not in labels:
                    continue
                refs = [REFERENCE[r["family"]]]
                if r["family"] == "hdbscan":
                    refs.append("hdbscan package HDBSCAN")
                ref = next((m for m in refs if m in labels and m != r["method"]), None)
                if ref is not None and r["method"] != REFERENCE[r["family"]]:
                    r["ari"] = float(adjusted_rand_score(labels[ref], labels[r["method"]]))
                    r["ari_vs"] = ref
    return rows


def _cell(r: dict) -> str:
    if r["status"] == "ok":
        return f"{r['seconds']:.2f}"
    if r["status"].startswith("ParameterError"):
        return "refused by its guard"
    return r["status"]


def to_markdown(rows: list[dict], knox: list[dict], command: str, seconds: float,
                permutations: int, baseline_perms: int) -> str:
    from importlib.metadata import version

    import sklearn

    from hotspots.models import clusters

    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    lines = [
        "# Clusters benchmark: hotspots vs scikit-learn DBSCAN/HDBSCAN vs the hdbscan package",
        "",
        f"- Command: `{command}` (from the repository root; took {seconds:.0f} s in all)",
        f"- Date: {dt.date.today().isoformat()}",
        f"- Machine: nproc {nproc}, {platform.machine()}, {platform.system()}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, hdbscan {version('hdbscan')}. The machine is shared: "
        "other jobs can slow single runs, so read ratios under 2x with care.",
        "- Points: the shipped police.uk incidents' locations (all 16 months, every crime "
        "type), sampled with replacement. *jittered*: plus N(0, 50 m) per axis, so nearly "
        "every point is distinct (like a force extract with exact addresses); *snapped*: "
        "police.uk's anonymous map points as they are (thousands of exact duplicates).",
        f"- Parameters, fixed at every size: DBSCAN eps {DB_EPS:g} m, min_samples {DB_MIN}; "
        f"HDBSCAN min_cluster_size {HD_MCS}, min_samples {HD_MS} (hotspots' data-size "
        "defaults are not used, so every library solves the same problem).",
        "- hotspots rows time the whole `find_clusters` call (merging duplicates, guards, "
        "clustering, crime mix, months, hulls) on a frame with x and y; the other rows time "
        "the library's fit alone on the raw points. hotspots clusters distinct locations: "
        "DBSCAN with `sample_weight` = incidents (the same clusters as DBSCAN on every "
        "point), HDBSCAN with each location repeated at most min_samples times (the same "
        "core distances; a busy map point counts at most min_samples times towards "
        "min_cluster_size, by design: see docs/clusters.md).",
        f"- Each run is its own process, single-threaded (OMP/BLAS threads 1, hdbscan "
        f"core_dist_n_jobs=1), stopped after {LIMIT_S:.0f} s, with a {MEM_GB:g} GB "
        "address-space limit; one run each.",
        "- Agreement: adjusted Rand index (1 = identical partition, noise counted as one "
        "group) against scikit-learn's own DBSCAN or HDBSCAN on the same points, or against "
        "the hdbscan package where scikit-learn did not finish. 'one-location' counts "
        "clusters whose points all sit on a single map point.",
        "",
        "## Seconds",
        "",
        "| data | points | distinct | " + " | ".join(m for m, _ in METHODS) + " |",
        "|---|---:|---:|" + "---:|" * len(METHODS),
    ]
    keys = list(dict.fromkeys((r["data"], r["n"]) for r in rows))
    for data, n in keys:
        sel = {r["method"]: r for r in rows if (r["data"], r["n"]) == (data, n)}
        first = next(iter(sel.values()))
        lines.append(f"| {data} | {n:,} | {first['distinct']:,} | "
                     + " | ".join(_cell(sel[m]) for m, _ in METHODS) + " |")
    lines += ["", "## Clusters found and agreement", "",
              "| data | points | method | clusters | one-location | noise share | ARI | "
              "against | peak RSS MB |",
              "|---|---:|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        if r["status"] != "ok":
            continue
        if "ari" in r:
            ari, vs = f"{r['ari']:.4f}", r["ari_vs"]
        elif r["method"] == REFERENCE[r["family"]]:
            ari, vs = "(reference)", ""
        else:
            ari, vs = "–", "no reference finished"
        lines.append(f"| {r['data']} | {r['n']:,} | {r['method']} | {r['clusters']:,} | "
                     f"{r['one_location']:,} | {r['noise']:.3f} | {ari} | {vs} | "
                     f"{r['rss_mb']:,.0f} |")
    lines += ["", "## One million points", ""]
    for r in rows:
        if r["n"] != max(x["n"] for x in rows):
            continue
        what = (f"finished in {r['seconds']:.1f} s" if r["status"] == "ok"
                else r["status"])
        lines.append(f"- {r['method']}, {r['data']}: {what}.")
    lines += [
        "",
        "## Knox test (near repeat) on shipped data",
        "",
        f"`knox_test` with its police.uk defaults (distance bands 0, 100, 200, 400, 800 m; "
        f"time bands same month, 1, 2, 3, over 3 months) and {permutations} permutations, "
        "beside the same table computed the way it is usually scripted (dense n x n distance "
        "and month-difference matrices, recounted for each permutation; no Python library "
        "computes the Near Repeat Calculator's banded table). The dense version "
        f"ran {baseline_perms} permutations and its time is scaled to {permutations} "
        "(EXTRAPOLATED, linear in permutations); it is skipped above 3,000 incidents (its "
        "matrices grow with the square). 'same table' checks its observed counts equal "
        "hotspots'.",
        "",
        "| data | incidents | pairs within 800 m | hotspots s | dense numpy s (extrap.) | "
        "speed-up | same table |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for k in knox:
        base = f"{k['baseline']:.1f}" if k["baseline"] is not None else "skipped"
        speed = f"{k['baseline'] / k['seconds']:,.0f}x" if k["baseline"] is not None else ""
        same = "" if k["same"] is None else ("yes" if k["same"] else "NO")
        lines.append(f"| {k['data']} | {k['n']:,} | {k['pairs']:,} | {k['seconds']:.2f} | "
                     f"{base} | {speed} | {same} |")
    lines += ["", "## Targets", ""]
    for k in knox:
        if k["n"] > 3000:
            continue
        verdict = "met" if k["seconds"] < 5 else "NOT met"
        lines.append(f"- Knox, {k['data']} ({k['n']:,} incidents), {permutations} "
                     f"permutations: {k['seconds']:.2f} s; target a few seconds (< 5 s) "
                     f"{verdict}.")
    hd = {(r["data"], r["n"], r["method"]): r for r in rows}
    lines += [
        "",
        "## Reading the numbers",
        "",
        "- DBSCAN: hotspots gives scikit-learn's partition exactly (ARI 1 wherever both ran). "
        "On snapped data it clusters a few thousand weighted map points whatever the number "
        "of incidents, so its time barely grows with n, while scikit-learn given every point "
        "holds a neighbour list per point that includes all the duplicates at its map point "
        "and runs out of memory first. On jittered points there is nothing to merge and the "
        "two take about the same time; hotspots refuses, before allocating anything, jobs its "
        f"estimate puts over {clusters.MAX_NEIGHBOURS:,} neighbour entries.",
        "- HDBSCAN: scikit-learn builds its minimum spanning tree with Prim's algorithm, whose "
        "time grows with the square of the points; the hdbscan package uses dual-tree Boruvka "
        "and is far faster at every size. hotspots uses scikit-learn (a core dependency) and "
        f"refuses more than {clusters.MAX_HDBSCAN_ROWS:,} rows after merging. On jittered "
        "points hotspots and scikit-learn agree exactly; the hdbscan package finds about as "
        "many clusters but not the same partition (see its ARI): its cluster extraction "
        "differs in detail from scikit-learn's.",
        "- HDBSCAN on snapped data: run on every point, scikit-learn and the hdbscan package "
        "count every duplicate in cluster sizes and stability, so map points holding at least "
        "min_cluster_size crimes can become clusters of their own (the one-location column) "
        "and busy points pull the hierarchy apart. hotspots caps each map point at "
        "min_samples copies (core distances unchanged), so with min_samples < "
        "min_cluster_size no single map point can be a cluster by itself; its clusters are "
        "groups of nearby map points, fewer and larger, and the adjusted Rand index against "
        "the uncapped run is low by design, not by error. The cap also bounds the rows "
        "HDBSCAN sees, which is why hotspots finishes a million snapped incidents in seconds.",
    ]
    for data in ("jittered", "snapped"):
        a = hd.get((data, 100_000, "hotspots find_clusters hdbscan"))
        b = hd.get((data, 100_000, "scikit-learn HDBSCAN"))
        if a and b and a["status"] == b["status"] == "ok":
            lines.append(f"- At 100,000 {data} points hotspots' HDBSCAN took "
                         f"{a['seconds']:.1f} s and scikit-learn's {b['seconds']:.1f} s.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10k points only; print, write nothing")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sizes = SIZES[:1] if args.quick else SIZES
    datasets = [("jittered", JITTER_M), ("snapped", 0.0)]
    rows = run(sizes, datasets)
    perms, base_perms = 999, 99
    print("\n== Knox", flush=True)
    knox = knox_rows(perms, base_perms if not args.quick else 9)
    if args.quick:
        return 0
    command = ".venv/bin/python benchmarks/bench_clusters.py"
    md = to_markdown(rows, knox, command, time.perf_counter() - t0, perms, base_perms)
    out = ROOT / "docs" / "benchmarks_clusters.md"
    out.write_text(md, "utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
