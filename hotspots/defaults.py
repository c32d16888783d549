"""The analysis defaults, in one place: the CLI, the dashboard and the tasking pack read them here.

The same selection must give the same map whichever face asks for it, so no face keeps a
default of its own. Each value is printed in ``hotspots <command> --help`` and written into
the commands' JSON ``params``.
"""

from __future__ import annotations

__all__ = [
    "AREAS",
    "BANDWIDTH",
    "CELL_M",
    "CLUSTER_METHOD",
    "CORRECTION",
    "COVERAGE",
    "FIXED_BANDWIDTH_M",
    "JUNCTION_RADIUS_M",
    "KERNEL",
    "KNOX_PERMUTATIONS",
    "MAP_METHOD",
    "MAX_AREA_KM2",
    "SEED",
    "SITES",
    "TOP",
    "TRAIN_MONTHS",
    "map_params",
]

#: KDE bandwidth of every map: the surface with the best back-tested PAI at :data:`COVERAGE`
#: of the area on the months before the period (see ``hotspots.methods.resolve_auto``).
BANDWIDTH = "auto"
#: Fixed bandwidth, metres: what ``auto`` falls back to when the back-test cannot run, and
#: where the dashboard's fixed-bandwidth slider starts.
FIXED_BANDWIDTH_M = 500.0
#: KDE cell size, metres.
CELL_M = 100.0
#: KDE kernel.
KERNEL = "quartic"
#: Share of the study area marked as hotspot by the KDE.
TOP = 0.05
#: Ranked patrol areas on every map (0: the method's own areas, e.g. the KDE's --top share).
AREAS = 10
#: Largest patrol area, km²: about ten minutes' walk across.
MAX_AREA_KM2 = 1.0
#: Map method of the dashboard's switcher and of ``hotspots report``.
MAP_METHOD = "kde"
#: Multiple-testing correction of Gi* and emerging hot spots (Benjamini-Hochberg FDR).
CORRECTION = "fdr_bh"
#: Clustering algorithm of the cluster map.
CLUSTER_METHOD = "dbscan"
#: New disruption sites suggested.
SITES = 5
#: Junction radius of the corridor analysis, metres (straight line).
JUNCTION_RADIUS_M = 2000.0
#: Training window of the back-test, months.
TRAIN_MONTHS = 3
#: Share of the area flagged when the back-test scores a map (PAI and hit rate).
COVERAGE = 0.05
#: Monte Carlo permutations of the Knox near-repeat test.
KNOX_PERMUTATIONS = 999
#: Random seed of every permutation test, so a run can be repeated exactly.
SEED = 0


def map_params() -> dict[str, object]:
    """The default KDE map recipe as JSON ``params`` (what a face uses when not told otherwise)."""
    return {"bandwidth": BANDWIDTH, "fixed_bandwidth_m": FIXED_BANDWIDTH_M, "cell_m": CELL_M,
            "kernel": KERNEL, "top": TOP, "coverage": COVERAGE}
