"""The hotspots command's JSON contracts and error handling, on the shipped data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio
from support import audit_to

from hotspots.cli import main


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_kde_json_reports_parameters_and_writes_geojson_and_geotiff(store, tmp_path, capsys):
    out, tif = tmp_path / "h.geojson", tmp_path / "s.tif"
    d = run_json(capsys, "kde", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-01", "--to", "2025-03", "--bandwidth", "500", "--out", str(out),
                 "--surface", str(tif), "--json")
    for key in ("incidents", "cell", "bandwidth", "bandwidth_rule", "kernel", "hotspots",
                "share_in_hotspots", "seconds"):
        assert key in d
    assert d["cell"] == 100 and d["bandwidth"] == 500 and d["bandwidth_rule"] == "fixed"
    assert d["kernel"] == "quartic" and d["incidents"] > 1000
    assert 0 < d["share_in_hotspots"] < 1
    polys = gpd.read_file(out)
    assert len(polys) == d["hotspots"] and polys.crs.to_epsg() == 4326
    assert polys["incidents"].sum() == pytest.approx(d["share_in_hotspots"] * d["incidents"],
                                                     abs=1)
    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == 27700 and src.res == (100.0, 100.0)


def test_kde_bandwidth_rule_name_is_reported_with_its_value(store, capsys):
    d = run_json(capsys, "kde", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-01", "--to", "2025-06", "--area", "Warwick", "--bandwidth", "arcgis",
                 "--json")
    assert d["bandwidth_rule"] == "arcgis" and d["bandwidth"] > 0 and d["area"] == "Warwick"


def test_kde_comma_separated_bandwidths_give_the_multiscale_kde(store, capsys):
    d = run_json(capsys, "kde", "--store", str(store), "--types", "Vehicle crime", "--from",
                 "2025-10", "--to", "2025-12", "--area", "Rugby", "--bandwidth",
                 "1000,300,500,750", "--json")
    assert d["bandwidths"] == [300, 500, 750, 1000] and d["bandwidth"] == 637.5
    assert d["bandwidth_rule"] == "multi-scale"


def test_corridors_json_lists_junctions_by_incidents_and_bands_that_add_up(store, capsys):
    d = run_json(capsys, "corridors", "--store", str(store), "--group", "acquisitive",
                 "--from", "2025-04", "--to", "2025-06", "--json")
    junctions = d["junctions"]
    assert junctions and {"name", "lon", "lat", "incidents", "by_group"} <= set(junctions[0])
    counts = [j["incidents"] for j in junctions]
    assert counts == sorted(counts, reverse=True)
    assert any(j["name"].startswith("M6 J") for j in junctions)
    bands = d["bands"]
    assert [b["band"] for b in bands][0] == "0–500 m" and len(bands) == 5
    assert {"band", "incidents", "share", "density_km2", "lq"} <= set(bands[0])
    assert sum(b["share"] for b in bands) == pytest.approx(1.0)
    # Bands count the mapped incidents inside the force area, each once.
    assert sum(b["incidents"] for b in bands) <= d["incidents"] - d["incidents_without_location"]


def test_corridors_neighbours_flag_adds_other_forces(store, capsys):
    d = run_json(capsys, "corridors", "--store", str(store), "--types", "Vehicle crime",
                 "--from", "2025-01", "--to", "2025-03", "--neighbours", "--json")
    assert len(d["forces"]) > 1 and "warwickshire" in d["forces"]


@pytest.mark.parametrize("argv, fragment", [
    (["kde", "--group", "acquisitive", "--from", "2025-05", "--to", "2025-01"], "after --to"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--top", "2"],
     "between 0 and 1"),
    (["kde", "--from", "2025-01", "--to", "2025-02"], "--group"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--area",
      "Narnia"], "Narnia"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--cell", "0"],
     "greater than zero"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--bandwidth",
      "300,wide"], "separated by commas"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--bandwidth",
      "300,300"], "at least two different bandwidths"),
    (["corridors", "--group", "acquisitive", "--from", "2024-06", "--to", "2024-07"],
     "no mapped acquisitive crime incidents"),
    (["evaluate", "--group", "acquisitive", "--coverage", "5"], "for 5% write 0.05"),
    (["kde", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--bandwidth",
      "5km"], "give auto, metres (e.g. 500), a rule (arcgis, scott, silverman) or metres "
              "separated by commas"),
    (["corridors", "--group", "acquisitive", "--from", "2025-01", "--to", "2025-02", "--area",
      "Rugby", "--neighbours"], "cannot be combined with --area"),
])
def test_bad_arguments_give_one_line_and_exit_2(store, capsys, argv, fragment):
    assert main([argv[0], "--store", str(store), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err and "Traceback" not in err


def test_missing_store_is_one_line_error(tmp_path, capsys):
    assert main(["kde", "--store", str(tmp_path / "nothing"), "--group", "soc", "--from",
                 "2025-01", "--to", "2025-02"]) == 2
    err = capsys.readouterr().err.strip()
    assert "hotspots ingest" in err and "\n" not in err


def test_gistar_json_names_the_correction_and_counts_hot_cells(store, tmp_path, capsys):
    out = tmp_path / "gi.geojson"
    d = run_json(capsys, "gistar", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-01", "--to", "2025-12", "--out", str(out), "--json", "--areas", "0")
    assert d["params"]["correction"] == "fdr_bh" and d["hot"] > 0
    written = gpd.read_file(out)
    assert len(written) == d["hot"] + d["cold"]
    # The ranked hot spot areas hold exactly the hot cells' incidents.
    areas = d["areas"]
    assert [a["rank"] for a in areas] == list(range(1, len(areas) + 1))
    assert sum(a["incidents"] for a in areas) == int(written.loc[written["bin"] > 0,
                                                                 "count"].sum())
    assert {a["confidence"] for a in areas} <= {90, 95, 99}
    assert "Benjamini-Hochberg" in d["areas_method"]


def test_gistar_on_lsoas_uses_the_shipped_polygons(store, shipped_settings, capsys):
    d = run_json(capsys, "gistar", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-01", "--to", "2025-12", "--units", "lsoa", "--json")
    shipped = gpd.read_parquet(Path(shipped_settings.data_dir) / "boundaries" / "lsoa2011.parquet")
    assert d["units"] == "lsoa" and d["params"]["n_features"] == len(shipped) > 0


def test_emerging_reports_patterns_and_the_month_gap(store, tmp_path, capsys):
    out = tmp_path / "emerging.geojson"
    d = run_json(capsys, "emerging", "--store", str(store), "--group", "acquisitive", "--from",
                 "2024-01", "--to", "2025-12", "--out", str(out), "--json", "--areas", "0")
    written = gpd.read_file(out)
    assert len(written) == sum(v for k, v in d["patterns"].items() if k != "no pattern detected")
    assert d["params"]["period"] == "month"
    assert "2024-05" in str(d["params"]["gaps"])
    assert sum(d["patterns"].values()) > 0
    hot_patterns = {k for k in d["patterns"] if k.endswith("hot spot")}
    assert {a["pattern"] for a in d["areas"]} == hot_patterns
    assert sum(a["incidents"] for a in d["areas"]) == int(
        written.loc[written["pattern"].isin(hot_patterns), "count"].sum())


def test_disrupt_json_ranks_named_sites_with_cumulative_coverage(store, capsys):
    d = run_json(capsys, "disrupt", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--k", "3", "--json")
    assert d["method"] in ("mclp", "greedy") and d["gap"] >= 0
    sites = d["sites"]
    assert [s["rank"] for s in sites] == [1, 2, 3]
    for key in ("name", "lon", "lat", "covered", "covered_share", "cumulative_share"):
        assert key in sites[0]
    assert isinstance(sites[0]["hotspots"], list) and sites[0]["rationale"]
    cumulative = [s["cumulative_share"] for s in sites]
    assert cumulative == sorted(cumulative) and 0 < cumulative[-1] <= 1


@pytest.mark.parametrize("extra, fragment", [
    (["--k", "500"], "candidate"),
    (["--radius", "0"], "radius"),
    (["--radius", "5000", "--minutes", "10"], "not both"),
])
def test_disrupt_bad_inputs_are_one_line(store, capsys, extra, fragment):
    argv = ["disrupt", "--store", str(store), "--group", "acquisitive", "--from", "2025-10",
            "--to", "2025-12", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err


def test_report_writes_every_named_file_and_lists_them(store, tmp_path, capsys, monkeypatch):
    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    out = tmp_path / "pack"
    d = run_json(capsys, "report", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--area", "Rugby", "--out", str(out),
                 "--marking", "OFFICIAL", "--json")
    names = {f["name"] for f in d["files"]}
    assert {"map.png", "pack.pdf", "hotspots.geojson", "hotspots.gpkg", "sites.csv"} <= names
    for f in d["files"]:
        assert Path(f["path"]).stat().st_size == f["bytes"] > 0
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["filters"]


def test_report_method_flag_builds_that_methods_pack(store, tmp_path, capsys, monkeypatch):
    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    d = run_json(capsys, "report", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--area", "Rugby", "--out",
                 str(tmp_path / "pack"), "--method", "clusters", "--cluster-method", "hdbscan",
                 "--sites", "0", "--json", "--areas", "0")
    p = d["parameters"]
    assert p["map_method"] == "Clusters" and p["areas_method"]["model"]["method"] == "hdbscan"
    assert p["accuracy"]["method"] == "HDBSCAN cluster hulls"
    assert d["sites_csv"].startswith("hotspot table")
    geo = json.loads((tmp_path / "pack" / "hotspots.geojson").read_text())
    assert len(geo["features"]) == p["hotspots"] > 0
    assert "crime_mix" in geo["features"][0]["properties"]
    rec = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert rec["filters"]["method"] == "clusters" and rec["filters"]["sites"] == 0


def test_report_default_lists_the_named_patrol_areas_it_back_tests(store, tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    d = run_json(capsys, "report", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--area", "Rugby", "--out",
                 str(tmp_path / "pack"), "--method", "gistar", "--sites", "0", "--json",
                 "--areas", "3")
    assert [a["rank"] for a in d["areas"]] == [1, 2, 3]
    assert "up to 3 patrol areas" in d["parameters"]["accuracy"]["method"]
    geo = json.loads((tmp_path / "pack" / "hotspots.geojson").read_text())
    names = [f["properties"]["name"] for f in geo["features"]]
    assert names == [a["name"] for a in d["areas"]]


def test_report_and_kde_default_to_or_accept_the_dashboards_auto(store, shipped_settings,
                                                                 tmp_path, capsys, monkeypatch):
    from hotspots.methods import auto_choice
    from hotspots.models.evaluate import evaluate_store

    # The dashboard's auto for a map ending in Dec 2025: the back-test's pick from the folds
    # up to then, computed here from the library's own back-test.
    choice = auto_choice(evaluate_store(store, types=["Burglary"], settings=shipped_settings),
                         "2025-12")
    assert choice.folds and choice.label.startswith("KDE ")  # learnt, not the fallback
    multi = isinstance(choice.bandwidth, tuple)
    drawn = list(choice.bandwidth) if multi else float(choice.bandwidth)
    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    k = run_json(capsys, "kde", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-10", "--to", "2025-12", "--bandwidth", "auto", "--json")
    assert k["bandwidth_rule"] == "auto" and k["auto"]["label"] == choice.label
    assert k["auto"]["bandwidth"] == drawn and k["auto"]["folds"] == list(choice.folds)
    assert (k["bandwidths"] if multi else k["bandwidth"]) == drawn
    r = run_json(capsys, "report", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-10", "--to", "2025-12", "--out", str(tmp_path / "pack"), "--sites", "0",
                 "--json")
    p = r["parameters"]
    assert p["auto"]["label"] == choice.label
    assert p["surface"]["bandwidths_m" if multi else "bandwidth_m"] == drawn
    assert p["accuracy"]["method"] == choice.label


@pytest.mark.parametrize("extra, fragment", [
    (["--method", "voronoi"], "invalid choice: 'voronoi'"),
    (["--sites", "-1"], "sites must be a whole number >= 0"),
    (["--bandwidth", "auto,500"], "give metres separated by commas"),
])
def test_report_bad_flags_are_one_line(store, tmp_path, capsys, monkeypatch, extra, fragment):
    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    argv = ["report", "--store", str(store), "--group", "acquisitive", "--from", "2025-10",
            "--to", "2025-12", "--out", str(tmp_path / "pack"), *extra]
    code = None
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and not (tmp_path / "pack").exists()


def test_evaluate_json_means_over_test_months_and_names_the_auto_choice(store, capsys):
    d = run_json(capsys, "evaluate", "--store", str(store), "--types", "Burglary", "--json")
    results = d["results"]
    assert results and all(r["coverage"] == 0.05 for r in results)
    for key in ("method", "params", "coverage", "hit_rate", "pai", "pei", "periods"):
        assert key in results[0]
    periods = results[0]["periods"]
    assert periods and all(len(p) == 7 for p in periods)
    # The shipped data has no 2024-05..2024-12: no test month falls in (or next to) the gap.
    assert not any("2024-05" <= p <= "2025-03" for p in periods)
    assert d["default"]["method"] and d["default"]["params"]
    kde = [r for r in results if r["method"] == "kde"]
    assert kde and all(0 <= r["hit_rate"] <= 1 for r in kde)


def test_evaluate_text_says_when_a_method_flags_less_than_the_area_asked(store, capsys):
    assert main(["evaluate", "--store", str(store), "--types", "Burglary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    counts = next(line for line in lines if line.strip().startswith("last month's counts"))
    # Last month's cells cover far less than 5 %: its raw PAI is for that smaller area.
    assert re.search(r"flags \d+\.\d% of the area; PAI at 5%: \d+\.\d\)$", counts), counts
    assert lines[-1].startswith("default (auto): KDE ") and "highest mean PAI" in lines[-1]


def test_clusters_json_lists_clusters_largest_first_with_hulls(store, tmp_path, capsys):
    out = tmp_path / "clusters.geojson"
    d = run_json(capsys, "clusters", "--store", str(store), "--types", "Vehicle crime",
                 "--from", "2025-07", "--to", "2025-12", "--out", str(out), "--json")
    counts = [c["incidents"] for c in d["clusters"]]
    assert counts and counts == sorted(counts, reverse=True)
    assert len(gpd.read_file(out)) == len(counts)


def test_nearrepeat_json_reports_month_bands_for_police_uk(store, capsys):
    d = run_json(capsys, "nearrepeat", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-01", "--to", "2025-12", "--area", "Rugby", "--permutations", "99",
                 "--json")
    assert "month" in json.dumps(d["params"]).lower()


def test_default_store_is_built_from_shipped_data_on_first_use(tmp_path, monkeypatch, capsys):
    store = tmp_path / "fresh" / "store"
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store))
    assert main(["kde", "--group", "soc", "--from", "2025-10", "--to", "2025-12"]) == 0
    assert "built the incident store" in capsys.readouterr().err
    assert any(store.rglob("*.parquet"))
    # A store named explicitly is never created behind the user's back.
    other = tmp_path / "elsewhere"
    assert main(["kde", "--store", str(other), "--group", "soc", "--from", "2025-10",
                 "--to", "2025-12"]) == 2
    assert not other.exists()


@pytest.mark.parametrize("argv, prefix", [
    ([], "hotspots: error: "),
    (["kde", "--from", "2025-13"], "hotspots kde: error: "),
    (["report", "--method", "heatmap"], "hotspots report: error: "),
])
def test_usage_errors_name_the_program_once_in_one_line(argv, prefix, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("hotspots") == 1 + ("hotspots" in " ".join(argv))
    assert err.strip().count("\n") == 0


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hotspots {version('hotspots')}"


def test_kde_report_and_dashboard_draw_the_same_map_by_default(store, shipped_settings,
                                                               tmp_path, capsys, monkeypatch):
    from hotspots import defaults
    from hotspots.query import available_months
    from hotspots.store import store_fingerprint
    from hotspots.ui.compute import Params, run_analysis
    from hotspots.ui.methods import resolve_bandwidth

    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    sel = ["--store", str(store), "--types", "Burglary", "--from", "2025-10", "--to", "2025-12",
           "--area", "Rugby"]
    k = run_json(capsys, "kde", *sel, "--json")  # no --bandwidth, --top or --cell
    r = run_json(capsys, "report", *sel, "--out", str(tmp_path / "pack"), "--sites", "0",
                 "--json")["parameters"]
    settings = shipped_settings.with_(store_dir=store)
    params = resolve_bandwidth(settings, "k", store_fingerprint(store),
                               Params(area="Rugby", start="2025-10", end="2025-12", groups=(),
                                      types=("Burglary",), bandwidth=defaults.BANDWIDTH,
                                      top=defaults.TOP))
    dash = run_analysis(params, settings, available_months(settings=settings))
    drawn = k["bandwidths"] if "bandwidths" in k else k["bandwidth"]
    surface = r["surface"]
    assert k["bandwidth_rule"] == "auto" and k["params"]["bandwidth"] == defaults.BANDWIDTH
    assert surface.get("bandwidths_m", surface.get("bandwidth_m")) == drawn
    assert (list(dash.bandwidth) if isinstance(dash.bandwidth, tuple) else dash.bandwidth) \
        == drawn
    assert k["hotspots"] == r["hotspots"] == len(dash.areas) > 0
    assert k["cell"] == dash.cell == defaults.CELL_M and k["top"] == defaults.TOP


@pytest.mark.parametrize("argv", [
    ["kde", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["gistar", "--group", "acquisitive", "--from", "2024-06", "--to", "2024-08"],
    ["emerging", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["clusters", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["nearrepeat", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["corridors", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["disrupt", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
    ["evaluate", "--group", "acquisitive", "--from", "2030-01", "--to", "2030-02"],
])
def test_no_data_answer_names_the_months_the_store_holds(store, shipped_settings, capsys, argv):
    from hotspots.query import available_months
    from hotspots.wording import held_months_label

    assert main([argv[0], "--store", str(store), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    held = available_months(store, settings=shipped_settings)
    assert "\n" not in err and f"the store holds {held_months_label(held)}" in err
    if "2024-01" in held and "2025-01" in held and "2024-06" not in held:
        assert "are missing" in err


def test_crime_types_and_groups_match_in_any_case(store, capsys):
    a = run_json(capsys, "kde", "--store", str(store), "--types", "burglary,VEHICLE CRIME",
                 "--from", "2025-10", "--to", "2025-12", "--bandwidth", "500", "--json")
    b = run_json(capsys, "kde", "--store", str(store), "--types", "Burglary,Vehicle crime",
                 "--from", "2025-10", "--to", "2025-12", "--bandwidth", "500", "--json")
    c = run_json(capsys, "kde", "--store", str(store), "--group", "Acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--bandwidth", "500", "--area", "rugby", "--json")
    assert a["incidents"] == b["incidents"] > 0 and a["hotspots"] == b["hotspots"]
    assert c["area"] == "Rugby" and c["incidents"] > 0


def test_corridors_area_keeps_to_the_district(store, capsys):
    whole = run_json(capsys, "corridors", "--store", str(store), "--group", "acquisitive",
                     "--from", "2025-10", "--to", "2025-12", "--json")
    rugby = run_json(capsys, "corridors", "--store", str(store), "--group", "acquisitive",
                     "--from", "2025-10", "--to", "2025-12", "--area", "Rugby", "--json")
    assert rugby["area"] == "Rugby" and 0 < rugby["incidents"] < whole["incidents"]
    assert sum(b["incidents"] for b in rugby["bands"]) <= rugby["incidents"]


def test_evaluate_from_to_keeps_the_back_test_inside_the_window(store, capsys):
    d = run_json(capsys, "evaluate", "--store", str(store), "--types", "Burglary", "--from",
                 "2025-06", "--to", "2025-12", "--json")
    tests = {p for r in d["results"] for p in r["periods"]}
    assert tests and all("2025-09" <= m <= "2025-12" for m in tests)
    assert d["params"]["from"] == "2025-06" and d["params"]["to"] == "2025-12"


COMMANDS = ("ingest", "forces", "kde", "gistar", "emerging", "clusters", "nearrepeat",
            "disrupt", "corridors", "evaluate", "report", "store", "basemap", "help")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_help_has_a_description_examples_and_every_option_explained(
        command, capsys):
    from hotspots import cli_help
    from hotspots.cli import build_parser

    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert " ".join(cli_help.DESCRIPTIONS[command].split()) in flat
    assert "examples:" in out and out.count("  hotspots ") >= 1
    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices.items()
               if a[0] == command)[1]
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"


def test_help_states_defaults_and_units_and_lists_the_districts(capsys):
    from hotspots import defaults

    assert main(["kde", "--help"]) == 0
    flat = " ".join(capsys.readouterr().out.split())
    assert f"(default: {defaults.BANDWIDTH})" in flat and "(default: 100)" in flat
    assert "metres" in flat and "Rugby" in flat and "Nuneaton and Bedworth" in flat
    assert "auto" in flat and "300,500,750,1000" in flat


def test_help_terms_explains_the_glossary(capsys):
    assert main(["help", "terms"]) == 0
    out = capsys.readouterr().out
    for term in ("PAI", "Hit rate", "PEI", "Gi*", "FDR", "MCLP", "LSCP", "KDE bandwidth"):
        assert f"{term}:" in out


def test_cli_outputs_are_audited_with_size_and_digest_and_carry_the_marking(
        store, shipped_settings, tmp_path, capsys, monkeypatch):
    import hashlib

    from hotspots.audit import read_exports

    log = audit_to(monkeypatch, tmp_path / "logs" / "audit.jsonl")
    sel = ["--store", str(store), "--group", "acquisitive", "--from", "2025-10", "--to",
           "2025-12", "--area", "Rugby", "--json"]
    out, tif = tmp_path / "o" / "kde.geojson", tmp_path / "o" / "kde.tif"
    run_json(capsys, "kde", *sel, "--bandwidth", "500", "--out", str(out), "--surface", str(tif))
    run_json(capsys, "gistar", *sel, "--out", str(tmp_path / "o" / "gi.geojson"))
    run_json(capsys, "emerging", *sel, "--out", str(tmp_path / "o" / "em.geojson"))
    run_json(capsys, "clusters", *sel, "--out", str(tmp_path / "o" / "cl.geojson"))
    lines = [json.loads(raw) for raw in log.read_text().splitlines()]
    assert [r["what"] for r in lines] == ["kde", "gistar", "emerging", "clusters"]
    assert lines == read_exports(log, settings=shipped_settings)
    kde = lines[0]
    assert kde["user_kind"] == "os account" and kde["filters"]["area"] == "Rugby"
    for f in kde["files"]:
        data = Path(f["path"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads(out.read_text())["marking"] == "OFFICIAL-SENSITIVE"
    with rasterio.open(tif) as src:
        assert src.tags()["marking"] == "OFFICIAL-SENSITIVE"
    assert not list((tmp_path / "o").glob(".*partial"))


def test_cli_releases_nothing_when_the_audit_log_cannot_be_written(store, tmp_path, capsys,
                                                                   monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    audit_to(monkeypatch, blocker / "audit.jsonl")
    out = tmp_path / "o"
    sel = ["--store", str(store), "--group", "acquisitive", "--from", "2025-10", "--to",
           "2025-12", "--area", "Rugby"]
    assert main(["kde", *sel, "--bandwidth", "500", "--out", str(out / "k.geojson"),
                 "--surface", str(out / "k.tif")]) == 2
    assert main(["report", *sel, "--out", str(out / "pack"), "--sites", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("cannot write the export audit log") == 2 and "Traceback" not in err
    left = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert left == []


def test_a_100000_site_candidate_file_is_refused_at_once_with_one_line(store, tmp_path, capsys):
    rows = "".join(f"site {i},{-1.7 + (i % 500) / 1000:.4f},{52.1 + (i // 500) / 400:.4f}\n"
                   for i in range(100_000))
    f = tmp_path / "sites.csv"
    f.write_text("name,lon,lat\n" + rows)
    assert f.stat().st_size < 5_000_000  # under the dashboard's upload cap, as in the probe
    assert main(["disrupt", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--candidates", str(f), "--time-limit",
                 "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert "100,000 sites; at most 2,000 can be considered" in err and "\n" not in err


def test_review_json_gives_each_tasked_area_its_counts_and_wdq(store, capsys):
    d = run_json(capsys, "review", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-10", "--to", "2025-12", "--area", "Rugby", "--top-areas", "3", "--json")
    assert d["before"] == ["2025-07", "2025-09"] and d["after"] == ["2025-10", "2025-12"]
    rows = d["areas"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 0]
    together = rows[-1]
    assert together["r_before"] == sum(r["r_before"] for r in rows[:-1])
    for r in rows:
        assert {"r_before", "r_after", "d_before", "d_after", "c_before", "c_after", "wdq",
                "reading"} <= set(r)
    assert "Bowers & Johnson (2003)" in d["method"]
