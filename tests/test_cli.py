"""The hotspots command's JSON contracts and error handling, on the shipped data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio

from hotspots.cli import main


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_kde_json_reports_parameters_and_writes_geojson_and_geotiff(store, tmp_path, capsys):
    out, tif = tmp_path / "h.geojson", tmp_path / "s.tif"
    d = run_json(capsys, "kde", "--store", str(store), "--group", "acquisitive", "--from",
                 "2025-01", "--to", "2025-03", "--out", str(out), "--surface", str(tif),
                 "--json")
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
     "no mapped incidents"),
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
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
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
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
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
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
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
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
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
