"""Time the full hotspot back-test on the shipped data, beside scikit-learn as the KDE engine.

Run from the repository root::

    .venv/bin/python benchmarks/bench_evaluate.py            # writes docs/benchmarks_evaluate.md
    .venv/bin/python benchmarks/bench_evaluate.py --quick    # Burglary only, prints, writes nothing

Part 1 runs :func:`hotspots.models.evaluate.evaluate_store` with every default method (KDE at
five bandwidths, the multi-scale KDE, prospective KDE at five, Gi*, last month's counts, auto)
for four crime selections, timing each method's scoring. Part 2 runs the same back-test twice
more on Burglary with the KDE surfaces from hotspots' exact epanechnikov KDE and from
scikit-learn's ``KernelDensity`` (epanechnikov, exact: rtol=0, evaluated only at the study
cells' centres), the engine an analyst would otherwise reach for, and compares times and
figures. Part 3 checks the acceptance criterion (auto against the best single fixed-bandwidth
KDE chosen in hindsight) and shows how other selection rules and candidate sets would have
fared, each seeing only earlier folds (sensitivity; the prospective+KDE blends exist only
here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotspots.config import load_settings  # noqa: E402
from hotspots.ingest import build_default_store  # noqa: E402
from hotspots.models.evaluate import (  # noqa: E402
    AUTO_TIE_RTOL,
    FALLBACK_LABEL,
    evaluate_store,
)
from hotspots.models.scoring import (  # noqa: E402
    Method,
    default_methods,
    score_kde,
    score_prospective,
)
from hotspots.months import month_index  # noqa: E402

SELECTIONS = {
    "acquisitive (group)": {"groups": ["acquisitive"]},
    "Burglary": {"types": ["Burglary"]},
    "Vehicle crime": {"types": ["Vehicle crime"]},
    "Drugs": {"types": ["Drugs"]},
}
COVERAGE = 0.05
LATER = "2025-01"  # the folds after the 2024-05..12 gap: auto has history for all of them


def timed_methods(methods: list[Method], clock: dict[str, float]) -> list[Method]:
    """Wrap each method's score function so its time adds up in ``clock[label]``."""

    def wrap(m: Method):
        def score(*args, **kwargs):
            t = time.perf_counter()
            try:
                return m.score(*args, **kwargs)
            finally:
                clock[m.label] += time.perf_counter() - t
        return score

    return [Method(m.name, m.label, wrap(m), m.params, m.smoothness, m.notes) for m in methods]


def sklearn_methods(bandwidths: list[float], noise: list[float]) -> list[Method]:
    """KDE methods whose surfaces come from scikit-learn, at the study cells' centres only.

    ``noise[0]`` records the largest spurious value zeroed, as a share of the peak.
    """
    from sklearn.neighbors import KernelDensity

    cache: dict = {}

    def score(train, grid, window, study_area, *, bandwidth):
        key = (grid, id(study_area))
        if key not in cache:
            mask = grid.mask(study_area)
            xc, yc = grid.centres(mesh=True)
            cache[key] = (mask, np.column_stack([xc[mask], yc[mask]]))
        mask, q = cache[key]
        kd = KernelDensity(kernel="epanechnikov", bandwidth=bandwidth, rtol=0.0)
        kd.fit(train[["x", "y"]].to_numpy(dtype=float))
        v = np.exp(kd.score_samples(q))
        # scikit-learn's tree sums leave rounding noise (~1e-14 of the peak) in cells beyond
        # every kernel's reach; zero it, or the never-flag-zero rule would flag those cells.
        noise[0] = max(noise[0], float(v[v < 1e-12 * v.max()].max(initial=0.0) / v.max()))
        v[v < 1e-12 * v.max()] = 0.0
        out = np.zeros(grid.shape)
        out[mask] = v
        return out

    return [Method("kde", f"KDE {b:g} m", score, {"bandwidth": float(b)}, float(b))
            for b in bandwidths]


def _normalised(v: np.ndarray) -> np.ndarray:
    total = float(v.sum())
    return v / total if total > 0 else v


def score_blend(train, grid, window, study_area=None, *, bandwidth, kernel="quartic"):
    """Mean of the normalised plain and prospective KDE surfaces at one bandwidth."""
    return 0.5 * (_normalised(score_kde(train, grid, window, study_area, bandwidth=bandwidth,
                                        kernel=kernel))
                  + _normalised(score_prospective(train, grid, window, study_area,
                                                  bandwidth=bandwidth, kernel=kernel)))


BLEND_BANDWIDTHS = (300.0, 500.0, 750.0, 1000.0)


def blend_methods() -> list[Method]:
    """Prospective+KDE blends (sensitivity only; not in the registry)."""
    return [Method("blend", f"KDE+prospective {b:g} m", score_blend,
                   {"bandwidth": b, "kernel": "quartic"}, b) for b in BLEND_BANDWIDTHS]


#: Selection rules compared; each sees only the folds before the one being predicted.
RULES = ["highest mean (shipped)", "one standard error", "tie band 1%", "tie band 2%",
         "forgetting, half-life 3 months", "forgetting, half-life 6 months",
         "lower bound (mean - 1 SE)"]


def pick(hist: pd.DataFrame, rule: str, test: str, smooth: dict[str, float],
         order: dict[str, int]) -> str:
    """Re-implementation of auto's choice under other selection rules (sensitivity only).

    ``hist`` holds the folds whose test month precedes ``test``. Forgetting weighs a fold
    ``0.5 ** (months before test / half-life)``; the lower bound is the mean less one standard
    error of the mean (with one fold, the mean). Scores within ``AUTO_TIE_RTOL`` of the best,
    or within the rule's band, tie and the smoothest method wins.
    """
    if hist.empty:
        return FALLBACK_LABEL
    piv = hist.pivot(index="test", columns="label", values="pai_requested")
    n = len(piv)
    means = piv.mean()
    score, tol = means, 0.0
    if rule.startswith("forgetting"):
        half_life = float(rule.split()[-2])
        age = np.array([month_index(test) - month_index(t) for t in piv.index], float)
        w = 0.5 ** (age / half_life)
        score = piv.mul(w, axis=0).sum() / w.sum()
    elif rule.startswith("lower bound") and n >= 2:
        score = means - piv.std(ddof=1) / math.sqrt(n)
    best = score.idxmax()
    if rule == "one standard error" and n >= 2:
        tol = piv[best].std(ddof=1) / math.sqrt(n)
    elif rule.startswith("tie band"):
        tol = float(rule.split()[-1].rstrip("%")) / 100 * score[best]
    tol = max(tol, AUTO_TIE_RTOL * abs(score[best]))
    ok = [lab for lab in score.index if score[lab] >= score[best] - tol]
    return max(ok, key=lambda lab: (smooth[lab], -order[lab]))


def replay(d: pd.DataFrame, rule: str, smooth: dict[str, float], order: dict[str, int],
           since: str = "") -> float:
    """Mean PAI at the requested area of a rule's choices over the folds from ``since``."""
    vals = []
    for t in sorted(d["test"].unique()):
        if t < since:
            continue
        lab = pick(d[d["test"] < t], rule, t, smooth, order)
        vals.append(float(d[(d["test"] == t) & (d["label"] == lab)]["pai_requested"].iloc[0]))
    return float(np.mean(vals))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Burglary only; print, write nothing")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks_evaluate.md"))
    args = ap.parse_args(argv)
    import sklearn

    selections = {"Burglary": SELECTIONS["Burglary"]} if args.quick else SELECTIONS
    settings = load_settings()
    work = Path(tempfile.mkdtemp(prefix="hotspots-bench-evaluate-"))
    load = os.getloadavg()
    t_all = time.perf_counter()
    try:
        store = work / "store"
        build_default_store(settings.with_(store_dir=store))

        # ------------------------------------------------------------ part 1
        runs, clocks, seconds, blends = {}, {}, {}, {}
        for name, sel in selections.items():
            clock: dict[str, float] = defaultdict(float)
            t = time.perf_counter()
            res = evaluate_store(store, settings=settings,
                                 methods=timed_methods(default_methods(), clock), **sel)
            seconds[name] = time.perf_counter() - t
            runs[name], clocks[name] = res, clock
            print(f"{name}: {seconds[name]:.2f} s, auto: {res.describe()}", flush=True)
            # Sensitivity only: the blends' fold results (each fold is self-contained).
            blends[name] = evaluate_store(store, settings=settings, methods=blend_methods(),
                                          coverages=[COVERAGE],
                                          fallback=blend_methods()[0].label, **sel).detail

        # ------------------------------------------------------------ part 2
        bws = [200.0, 300.0, 500.0, 750.0, 1000.0]
        kw = dict(settings=settings, types=["Burglary"], coverages=[0.01, 0.02, 0.05, 0.10])
        t = time.perf_counter()
        ours = evaluate_store(store, methods=default_methods(
            bandwidths=bws, kernel="epanechnikov", prospective_bandwidths=[], gistar=False
        )[:len(bws)], **kw)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        noise = [0.0]
        theirs = evaluate_store(store, methods=sklearn_methods(bws, noise), **kw)
        t_theirs = time.perf_counter() - t
        print(f"epanechnikov back-test: hotspots {t_ours:.2f} s, scikit-learn {t_theirs:.2f} s",
              flush=True)
        a = ours.detail.set_index(["label", "test", "coverage"]).sort_index()
        b = theirs.detail.set_index(["label", "test", "coverage"]).sort_index()
        diff_hits = int((a["hits"] - b["hits"]).abs().max())
        diff_cells = int((a["cells"] - b["cells"]).abs().max())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - t_all

    # ---------------------------------------------------------------- report
    def f(v: float, nd: int = 3) -> str:
        return "-" if v is None or not np.isfinite(v) else f"{v:.{nd}f}"

    cmd = "python benchmarks/bench_evaluate.py" + (" --quick" if args.quick else "")
    any_res = next(iter(runs.values()))
    p = any_res.params
    lines = [
        "# Back-test (evaluation) benchmark",
        "",
        f"- Command: `{cmd}` (from the repository root; took {total:.0f} s in all, store "
        "build included)",
        f"- Date: {dt.date.today().isoformat()}",
        f"- Machine: nproc {os.cpu_count()}, {platform.machine()}, {platform.system()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scikit-learn {sklearn.__version__}; load average {load[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (the machine is shared)",
        f"- Data: the shipped police.uk Warwickshire store, months {', '.join(p['months'])}; "
        f"study area the force area, {p['study_cells']:,} cells of {p['grid']['cell']:g} m "
        f"({p['study_area_km2']:,.0f} km2) on the fixed county grid.",
        f"- Back-test: train on {p['train_months']} calendar months, test on the next; "
        f"folds: {', '.join(f['test'] for f in any_res.auto)}. Skipped: "
        + "; ".join(f"{s['test']} ({s['reason']})" for s in any_res.skipped
                    if s["test"] >= "2025-01") + "; and 2024-05..2024-12 (test month missing).",
        "- Methods: " + ", ".join(m["label"] for m in any_res.methods) + ".",
        "",
        "## Speed: full back-test of every method",
        "",
        "| selection | mapped incidents | folds | methods | seconds | target < 60 s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, res in runs.items():
        lines.append(f"| {name} | {res.params['incidents_mapped']:,} | {len(res.auto)} | "
                     f"{len(res.methods)} | {seconds[name]:.2f} | "
                     f"{'met' if seconds[name] < 60 else 'NOT met'} |")
    lines += ["", "Scoring time per method, summed over the folds (seconds):", "",
              "| method | " + " | ".join(runs) + " |",
              "|---|" + "---:|" * len(runs)]
    for label in clocks[next(iter(clocks))]:
        lines.append(f"| {label} | " + " | ".join(f"{clocks[n][label]:.2f}" for n in runs)
                     + " |")
    lines += [
        "",
        "The rest of each run is loading the selection from the store, counting incidents per "
        "cell once per month, one partial sort of the study cells' scores per method and fold "
        "(it serves every coverage; auto reuses the candidates' fold results), and building "
        "the result. Gi* builds its neighbourhood weights once and reuses them for every fold.",
        "",
        "## Side by side: the KDE back-test with scikit-learn as the engine (Burglary)",
        "",
        "Same folds, same hotspot rule, same five bandwidths, epanechnikov kernel (scikit-learn "
        "has no quartic); scikit-learn evaluates only the study cells' centres, exactly "
        "(rtol=0). scikit-learn's tree sums leave rounding noise in cells beyond every "
        f"kernel's reach (up to {noise[0]:.1e} of the peak, in cells kilometres from any "
        "incident); it is set to zero, or the rule that never flags a zero-density cell would "
        "flag them.",
        "",
        "| KDE engine | seconds | speed-up |",
        "|---|---:|---:|",
        f"| hotspots `kernel_density` (exact) | {t_ours:.2f} | {t_theirs / t_ours:.0f}x |",
        f"| scikit-learn `KernelDensity` (exact) | {t_theirs:.2f} | 1x |",
        "",
        f"Largest difference in any fold's flagged cells: {diff_cells}; in hits: {diff_hits} "
        f"(over {len(bws)} bandwidths x {len(ours.auto)} folds x 4 coverages)"
        + (": the two engines give the same back-test." if diff_cells == diff_hits == 0
           else "."),
        "",
    ]

    # ---------------------------------------------------------------- results
    lines += ["## Mean figures at 5 % coverage (all folds)", ""]
    for name, res in runs.items():
        s = res.summary[np.isclose(res.summary["coverage"], COVERAGE)]
        lines += [f"### {name}", "",
                  "| method | hit rate | PAI | PAI at requested area | PEI | RRI | area share |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in s.to_dict("records"):
            lines.append(f"| {r['label']} | {f(r['hit_rate'])} | {f(r['pai'], 2)} | "
                         f"{f(r['pai_requested'], 2)} | {f(r['pei'])} | {f(r['rri'])} | "
                         f"{f(r['area_share'], 4)} |")
        chosen = ", ".join(f"{a['test']}: {a['chosen']}" for a in res.auto)
        lines += ["", f"auto chose: {chosen}. Default for next month: "
                      f"{res.default['label']} ({res.default['reason']}).", ""]

    # ---------------------------------------------------------------- acceptance
    lines += [
        "## Acceptance: auto against the best fixed-bandwidth KDE, mean PAI at 5 %",
        "",
        "The best fixed KDE is chosen in hindsight among the single fixed bandwidths (the "
        "bandwidth with the highest mean over the same folds; the multi-scale KDE is not a "
        "single bandwidth and is not a comparator), so auto, which learns from earlier folds "
        "only, can beat it only by choosing a better method than any one bandwidth. 'PAI at "
        "requested area' charges a surface that flags less than 5 % (its kernels reach too "
        "few cells) for the full 5 %; "
        "it equals PAI whenever the surface fills the coverage. Later months = the "
        f"folds from {LATER} (after the gap), where auto always had earlier folds to learn from.",
        "",
        "| selection | folds | measure | auto | best KDE (hindsight) | best KDE value | "
        "auto - best | met |",
        "|---|---|---|---:|---|---:|---:|---|",
    ]
    for name, res in runs.items():
        d = res.detail[np.isclose(res.detail["coverage"], COVERAGE)]
        for span, dd in (("later months", d[d["test"] >= LATER]), ("all", d)):
            for col, what in (("pai_requested", "PAI at requested area"), ("pai", "PAI")):
                m = dd.groupby("label")[col].mean()
                kde = m[sorted(set(dd.loc[dd["method"] == "kde", "label"]))]
                best = kde.idxmax()
                gap = m["auto"] - kde.max()
                ok = gap >= -1e-9
                lines.append(f"| {name} | {span} | {what} | {m['auto']:.3f} | {best} | "
                             f"{kde.max():.3f} | {gap:+.3f} | {'met' if ok else 'NOT met'} |")
    # Sensitivity: what other honest (non-peeking) selection rules and candidate sets give.
    cands = {
        "shipped registry (with multi-scale)": lambda d: d,
        "without multi-scale (previous registry)": lambda d: d[d["method"] != "kde_multiscale"],
        "shipped + prospective+KDE blends": lambda d: d,
        "without multi-scale, + blends": lambda d: d[d["method"] != "kde_multiscale"],
    }
    lines += [
        "",
        "### Other selection rules and candidate sets (sensitivity)",
        "",
        "Every rule sees only earlier folds, as auto does; the first fold uses the fallback "
        f"({FALLBACK_LABEL}). 'tie band x %': the smoothest method within x % of the best "
        "mean; 'one standard error': the smoothest within one standard error of the best "
        "method's fold PAIs; 'forgetting': weighted mean, a fold weighing "
        "0.5 ** (months before the predicted month / half-life); 'lower bound': highest mean "
        "less one standard error of the mean (the mean while there is one fold). "
        "Blends: 'KDE+prospective b m' = mean of the normalised plain and prospective KDE at "
        "b = " + ", ".join(f"{b:g}" for b in BLEND_BANDWIDTHS) + " m (not in the registry). "
        "Mean PAI at requested area; in brackets the difference from the best single "
        "fixed-bandwidth KDE in hindsight.",
    ]
    base = default_methods()
    extra = blend_methods()
    smooth = {m.label: m.smoothness for m in base + extra}
    order = {m.label: i for i, m in enumerate(base + extra)}
    for span, since in (("later months", LATER), ("all folds", "")):
        lines += ["", f"{span[:1].upper()}{span[1:]}:", "",
                  "| selection | candidates | best KDE (hindsight) | " + " | ".join(RULES) + " |",
                  "|---|---|---:|" + "---:|" * len(RULES)]
        for name, res in runs.items():
            d0 = res.detail[np.isclose(res.detail["coverage"], COVERAGE)
                            & (res.detail["label"] != "auto")]
            b0 = blends[name]
            b0 = b0[np.isclose(b0["coverage"], COVERAGE) & (b0["label"] != "auto")]
            span_d = d0[d0["test"] >= since]
            best = span_d[span_d["method"] == "kde"].groupby("label")["pai_requested"].mean()
            for cname, keep in cands.items():
                d = keep(pd.concat([d0, b0]) if "blends" in cname else d0)
                cells = []
                for rule in RULES:
                    v = replay(d, rule, smooth, order, since)
                    cells.append(f"{v:.3f} ({v - best.max():+.3f})")
                lines.append(f"| {name} | {cname} | {best.max():.3f} ({best.idxmax()}) | "
                             + " | ".join(cells) + " |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
