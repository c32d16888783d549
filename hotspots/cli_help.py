"""The words of ``hotspots --help``: each command's description and examples, and the glossary.

Kept apart from :mod:`hotspots.cli` so that the parser reads as options and the prose can be
read (and corrected) as prose. ``hotspots help terms`` prints :data:`GLOSSARY`.
"""

from __future__ import annotations

import argparse
import copy
import textwrap

__all__ = ["DESCRIPTIONS", "EXAMPLES", "GLOSSARY", "SUMMARIES", "HelpFormatter", "epilog",
           "glossary_text"]

#: One line per command, for the list in ``hotspots --help``.
SUMMARIES: dict[str, str] = {
    "ingest": "load police.uk or force files into the incident store",
    "forces": "list the police forces, their regions and the months held for each",
    "kde": "kernel density hotspots for a period and crime selection",
    "gistar": "Getis-Ord Gi* hot and cold spots, FDR-corrected",
    "emerging": "emerging hot spot patterns over time",
    "clusters": "DBSCAN / HDBSCAN clusters in metres",
    "nearrepeat": "Knox near-repeat test",
    "disrupt": "suggest SRN disruption points (maximal covering)",
    "corridors": "crime around SRN junctions and in corridor bands",
    "evaluate": "back-test the map methods on later months (PAI, hit rate)",
    "report": "map PNG, tasking pack PDF and GIS exports, audited",
    "review": "tasking review: before and after, displacement buffer, WDQ",
    "basemap": "build the street basemap from an OpenStreetMap extract",
    "store": "verify the incident store and set damaged parts aside (store check)",
    "help": "explain the terms (hotspots help terms)",
}

#: One paragraph per command: what it does, on what, and what comes out.
DESCRIPTIONS: dict[str, str] = {
    "hotspots": (
        "Crime hotspot and Strategic Road Network (SRN) corridor analysis for police analysts, "
        "offline, on the incident store. Every command prints a short summary, or one JSON "
        "object with --json; every figure states its method and parameters. Run "
        "'hotspots help terms' for PAI, hit rate, Gi*, FDR and the other terms used here."),
    "ingest": (
        "Load police.uk monthly files (CSV, or the ZIP of a download) or a force extract "
        "(CSV, GeoJSON, GeoPackage, GeoParquet; map its columns with --map) into the incident "
        "store. Every row read is accepted, rejected with its reason (written to "
        "<store>.rejects.csv) or counted as a duplicate of a row the store holds (same Crime "
        "ID), and the counts add up. Ingesting the same files again changes nothing."),
    "forces": (
        "List the 43 police forces of England and Wales: police.uk slug and name, ONS code, "
        "region (the regional organised crime unit's), districts and neighbouring forces, "
        "with the months the incident store holds for each. Any slug or name listed here "
        "works with --force; any region with --region."),
    "kde": (
        "Kernel density estimation (KDE): a smooth surface of incidents per km2 on a grid, "
        "and the densest share of the area (--top) as ranked hotspot polygons. The default "
        "bandwidth is 'auto', the same as the dashboard and 'hotspots report': the surface "
        "whose maps best predicted the next month on earlier months (PAI at 5% of the area)."),
    "gistar": (
        "Getis-Ord Gi* hot and cold spots: cells (or LSOAs) whose neighbourhood holds "
        "significantly more (or fewer) incidents than the area's average, with the false "
        "discovery rate controlled across all the cells tested (FDR, as ArcGIS Pro's Hot Spot "
        "Analysis). Hot cells are grouped into ranked areas."),
    "emerging": (
        "Emerging hot spot analysis (as ArcGIS Pro's): Gi* in every month of the period, then "
        "a Mann-Kendall trend test per cell, to name each location's pattern - new, "
        "consecutive, intensifying, persistent, diminishing, sporadic, oscillating or "
        "historical hot spot (and the cold-spot equivalents)."),
    "clusters": (
        "Density-based clusters of incident points in metres: DBSCAN (incidents within --eps "
        "metres of at least --min-samples others) or HDBSCAN (no radius; the most persistent "
        "dense groups), each cluster drawn as its convex hull and ranked by incidents."),
    "nearrepeat": (
        "Knox near-repeat test: are pairs of incidents close in both space and time more "
        "often than chance? Observed over expected pairs per distance and time band, with a "
        "Monte Carlo p-value from permuting the times (police.uk gives months, so the time "
        "bands are months; force data with dates gives days)."),
    "disrupt": (
        "Suggest disruption points on the SRN (junctions, slip roads, service areas, and any "
        "sites you add): the k new sites that cover the most harm-weighted incidents within "
        "reach (drive time by road or a straight-line radius), solved exactly as a maximal "
        "covering problem (MCLP, HiGHS) with a greedy fallback; each site comes with its "
        "rationale."),
    "corridors": (
        "Crime around SRN junctions (incidents within --radius metres of each junction, "
        "against the previous period of equal length) and in distance bands from the SRN "
        "(each band's share of incidents over its share of the area: the location quotient)."),
    "evaluate": (
        "Rolling-origin back-test: make each map method's hotspots from --train-months months "
        "and score them on the month after, for every test month the store allows, by hit "
        "rate and PAI at --coverage of the area. The method with the best mean PAI is what "
        "'auto' draws. By default every month the store holds is used; --from/--to narrow "
        "the test months."),
    "report": (
        "Write the tasking exports of one selection into a folder: the map PNG, the tasking "
        "pack PDF, the hotspot areas as GeoJSON and GeoPackage, the junctions and disruption "
        "sites as CSV, each with the protective marking and attributions; one line is added "
        "to the export audit log. The map follows --method, as the dashboard's switcher."),
    "review": (
        "Review last period's tasking: for the tasked areas (the previous period's top patrol "
        "areas, or your own), incidents before (the previous period) and after (--from/--to) "
        "in each area, in a ring around it (--buffer) and in the rest of the study area, and "
        "the weighted displacement quotient of Bowers & Johnson (2003): was crime cut, pushed "
        "round the corner, or cut around the area too. Counts are always shown, so that small "
        "numbers are read as counts."),
    "basemap": (
        "Build the street basemap drawn under the dashboard's map, the PNG snapshot and the "
        "tasking pack (roads by class with their names, places, railways, water, land use) "
        "from an OpenStreetMap extract of the force area, as analysts download them for a "
        "county or region (.osm.pbf or .osm). OpenStreetMap data is ODbL: the maps and "
        "exports drawn on it attribute it."),
    "store": (
        "Check the incident store: verify every committed part file (size, SHA-256, Parquet "
        "footer, columns, rows, every page), move a damaged one to _quarantine/ in the store "
        "and drop it from the manifest so the other months read as before, remove what "
        "interrupted writes left behind (staging folders, uncommitted parts), give a store "
        "written by an older version a manifest, and make the store owner-only. Exits 0 "
        "when the store is sound, 1 when damaged parts were set aside (ingest their months' "
        "files again to restore the rows), 2 when the check could not run."),
    "help": (
        "Explain the terms used by the commands and the dashboard."),
}

#: Worked examples for each command's epilog (commands as typed in the project folder).
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "hotspots": [
        ("Burglary hotspots in Rugby, January to March 2025",
         "hotspots kde --types Burglary --from 2025-01 --to 2025-03 --area Rugby"),
        ("The tasking pack for acquisitive crime in the last quarter",
         "hotspots report --group acquisitive --from 2025-10 --to 2025-12 --out out/pack"),
        ("What PAI, FDR and the other terms mean", "hotspots help terms"),
    ],
    "ingest": [
        ("A police.uk download", "hotspots ingest ~/Downloads/police-uk-2026-01.zip"),
        ("A force extract with exact dates",
         "hotspots ingest extract.csv --map category=Offence --map datetime=Committed "
         "--map easting=X --map northing=Y"),
        ("Check the accounting as JSON, no area check",
         "hotspots ingest data/crime/warwickshire --boundary none --json"),
    ],
    "forces": [
        ("Which forces and months the store holds", "hotspots forces"),
        ("The registry as JSON (neighbours, districts, regions)", "hotspots forces --json"),
    ],
    "kde": [
        ("Acquisitive crime, whole force, last quarter (auto bandwidth)",
         "hotspots kde --group acquisitive --from 2025-10 --to 2025-12"),
        ("Burglary in Rugby with a fixed 750 m bandwidth, polygons and surface to files",
         "hotspots kde --types Burglary --from 2025-01 --to 2025-03 --area Rugby "
         "--bandwidth 750 --out out/rugby.geojson --surface out/rugby.tif"),
        ("The multi-scale KDE (mean of four bandwidths)",
         "hotspots kde --group acquisitive --from 2025-10 --to 2025-12 "
         "--bandwidth 300,500,750,1000 --json"),
    ],
    "gistar": [
        ("Hot spots of acquisitive crime in 2025",
         "hotspots gistar --group acquisitive --from 2025-01 --to 2025-12"),
        ("On LSOAs with 999 permutations",
         "hotspots gistar --group acquisitive --from 2025-01 --to 2025-12 --units lsoa "
         "--permutations 999 --json"),
    ],
    "emerging": [
        ("Emerging hot spots over two years",
         "hotspots emerging --group acquisitive --from 2024-01 --to 2025-12"),
        ("Vehicle crime in Nuneaton and Bedworth on 500 m cells",
         'hotspots emerging --types "Vehicle crime" --from 2025-01 --to 2025-12 '
         '--area "Nuneaton and Bedworth" --cell 500'),
    ],
    "clusters": [
        ("DBSCAN clusters of vehicle crime",
         'hotspots clusters --types "Vehicle crime" --from 2025-07 --to 2025-12'),
        ("HDBSCAN, at least 15 incidents per cluster, hulls to a file",
         'hotspots clusters --types "Vehicle crime" --from 2025-07 --to 2025-12 '
         "--method hdbscan --min-cluster-size 15 --out out/clusters.geojson"),
    ],
    "nearrepeat": [
        ("Near repeats of burglary in 2025",
         "hotspots nearrepeat --types Burglary --from 2025-01 --to 2025-12"),
    ],
    "disrupt": [
        ("Five sites within 10 minutes' drive of acquisitive crime",
         "hotspots disrupt --group acquisitive --from 2025-10 --to 2025-12 --k 5 --minutes 10"),
        ("Three more sites beside the ANPR cameras already in place",
         "hotspots disrupt --group acquisitive --from 2025-10 --to 2025-12 --k 3 "
         "--existing anpr.csv --json"),
    ],
    "corridors": [
        ("Junctions and corridor bands for the last quarter",
         "hotspots corridors --group acquisitive --from 2025-10 --to 2025-12"),
        ("Rugby only, with a 1 km junction radius",
         "hotspots corridors --group acquisitive --from 2025-10 --to 2025-12 --area Rugby "
         "--radius 1000"),
    ],
    "evaluate": [
        ("Back-test every method for burglary on all months held",
         "hotspots evaluate --types Burglary"),
        ("Acquisitive crime, test months in the second half of 2025, 10% of the area",
         "hotspots evaluate --group acquisitive --from 2025-07 --to 2025-12 --coverage 0.10"),
    ],
    "report": [
        ("The Rugby tasking pack for acquisitive crime",
         "hotspots report --group acquisitive --from 2025-10 --to 2025-12 --area Rugby "
         "--out out/rugby"),
        ("The same with the Gi* map and no disruption sites",
         "hotspots report --group acquisitive --from 2025-10 --to 2025-12 --method gistar "
         "--sites 0 --out out/gistar"),
    ],
    "review": [
        ("Did the July-September tasking of Rugby's top five areas work?",
         "hotspots review --group acquisitive --from 2025-10 --to 2025-12 --area Rugby"),
        ("Your own tasked areas, a 300 m buffer, as JSON",
         "hotspots review --group acquisitive --from 2025-10 --to 2025-12 --targets tasked.geojson "
         "--buffer 300 --json"),
    ],
    "basemap": [
        ("Streets for another force from its county extract",
         "hotspots basemap build gloucestershire-latest.osm.pbf"),
        ("Into another folder, listing the files as JSON",
         "hotspots basemap build extract.osm.pbf --out streets --json"),
    ],
    "store": [
        ("Check the default store", "hotspots store check"),
        ("Check another store, the report as JSON",
         "hotspots store check --store ~/force-store --json"),
    ],
    "help": [("The glossary", "hotspots help terms")],
}

#: Terms used by the commands, the dashboard and the pack, in plain words.
GLOSSARY: dict[str, str] = {
    "PAI": "Predictive Accuracy Index (Chainey et al. 2008): the share of the next period's "
           "incidents inside the hotspots divided by the share of the area they cover. 1 is "
           "no better than chance; with 5% of the area the most it can be is 20.",
    "Hit rate": "The share of the next period's incidents that fell inside the hotspots.",
    "PEI": "Predictive Efficiency Index (Hunt 2016): the hit rate achieved over the best hit "
           "rate any areas of the same size could have achieved; 100% is perfect.",
    "RRI": "Recapture Rate Index: how much of the density ranking holds from one period to "
           "the next (1: the same places stay as dense).",
    "KDE": "Kernel density estimation: each incident spreads a smooth bump (the kernel) over "
           "its surroundings; adding the bumps gives incidents per km2 on a grid.",
    "KDE bandwidth": "The radius of each incident's bump, in metres: small bandwidths give "
                     "tight, spiky hotspots, large ones broad areas. 'auto' picks the one "
                     "whose maps best predicted the next month on earlier months.",
    "Gi*": "The Getis-Ord Gi* statistic: a z-score comparing the incidents in a cell's "
           "neighbourhood with the area's average; large positive values are hot spots.",
    "FDR": "False discovery rate (Benjamini-Hochberg): when hundreds of cells are tested at "
           "once, some would look significant by chance; FDR keeps the expected share of "
           "false hot spots among those flagged below the level (e.g. 5%).",
    "Emerging hot spot": "A cell's hot-spot pattern over time (new, consecutive, "
                         "intensifying, persistent, diminishing, ...), from Gi* per month and "
                         "the Mann-Kendall trend test.",
    "DBSCAN / HDBSCAN": "Clustering of points by density: DBSCAN with a fixed radius in "
                        "metres, HDBSCAN without one.",
    "Knox test": "Near-repeat test: counts pairs of incidents close in space and time and "
                 "compares them with what shuffling the times would give.",
    "MCLP": "Maximal Covering Location Problem: choose k sites so that the most demand "
            "(harm-weighted incidents) lies within reach of at least one site.",
    "LSCP": "Location Set Covering Problem: the fewest sites that reach all the demand.",
    "SRN": "Strategic Road Network: England's motorways and major trunk A roads, run by "
           "National Highways.",
    "Location quotient": "A band's share of incidents over its share of the area: above 1, "
                         "crime is concentrated there.",
    "Harm weight": "Incidents weighted by the seriousness of their crime type (see "
                   "docs/methods.md), so that a burglary counts for more than a shoplifting.",
}


def glossary_text(width: int = 88) -> str:
    """The glossary as wrapped plain text, one term per paragraph."""
    out = []
    for term, text in GLOSSARY.items():
        out.append(textwrap.fill(f"{term}: {text}", width=width, subsequent_indent="    "))
    return "\n".join(out)


def epilog(command: str) -> str:
    """A command's examples as the help's closing block."""
    lines = ["examples:"]
    for what, cmd in EXAMPLES.get(command, []):
        lines.append(f"  # {what}")
        # Long commands continue on the next line as a shell would read them.
        parts = cmd.split(" --")
        line = "  " + parts[0]
        for part in parts[1:]:
            if len(line) + len(part) + 3 > 86:
                lines.append(line + " \\")
                line = "      --" + part
            else:
                line += " --" + part
        lines.append(line)
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks, wraps the description, and states each option's
    default unless its help already does (or it has none worth printing)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        # The description is one paragraph to wrap; the epilog (examples) keeps its lines.
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent)

    def _format_action(self, action: argparse.Action) -> str:
        # A help text computed when printed (e.g. the district list) becomes a string here.
        if action.help is not None and not isinstance(action.help, str):
            action = copy.copy(action)
            action.help = str(action.help)
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings or isinstance(default, list)):
            return text
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"
