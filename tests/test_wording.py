"""hotspots.wording: periods, crime selections, numbers and statements of method."""

from __future__ import annotations

import pytest

from hotspots import wording
from hotspots.errors import ParameterError
from hotspots.months import month_range


def test_method_statement_states_method_and_parameters():
    text = wording.method_statement(kernel="quartic", bandwidth=500, bandwidth_rule="fixed",
                                    cell=100, top=0.05, start="2025-01", end="2025-03",
                                    crimes="acquisitive crime")
    assert text == ("Kernel density, quartic kernel, bandwidth 500 m (fixed), 100 m cells, "
                    "top 5% of area, Jan–Mar 2025, acquisitive crime; incidents per km²")
    rule = wording.method_statement(kernel="quartic", bandwidth=3241.6, bandwidth_rule="arcgis",
                                    cell=100, top=0.025, start="2024-03", end="2025-02",
                                    crimes="Burglary", missing=month_range("2024-05",
                                                                           "2024-12"))
    assert "bandwidth 3,242 m (ArcGIS Pro rule)" in rule
    assert "top 2.5% of area" in rule
    assert "Mar 2024–Feb 2025 (no data for May–Dec 2024)" in rule


@pytest.mark.parametrize("start, end, label", [
    ("2025-03", "2025-03", "Mar 2025"), ("2025-01", "2025-03", "Jan–Mar 2025"),
    ("2024-11", "2025-02", "Nov 2024–Feb 2025")])
def test_period_label(start, end, label):
    assert wording.period_label(start, end) == label


def test_crimes_label_and_missing_months():
    assert wording.crimes_label(["acquisitive"]) == "acquisitive crime"
    assert wording.crimes_label(["acquisitive", "soc"]) == "acquisitive and SOC-linked crime"
    assert wording.crimes_label(["acquisitive"], ["Burglary", "Robbery"]) == "Burglary and Robbery"
    assert wording.missing_months_label(["2024-05", "2024-06", "2025-07"]) == \
        "May–Jun 2024, Jul 2025"
    with pytest.raises(ParameterError):
        wording.period_label("2025-13", "2025-14")


def test_network_statement_states_method_and_parameters():
    text = wording.network_statement(bandwidth=1000, lixel=100, band=500, start="2025-10",
                                     end="2025-12", crimes="acquisitive crime")
    assert text == ("Network kernel density (Xie & Yan 2008 simple method), quartic, bandwidth "
                    "1,000 m along the network, 100 m lixels, incidents within 500 m of the SRN, "
                    "Oct–Dec 2025, acquisitive crime; incidents per km of road")
    gap = wording.network_statement(bandwidth=1500, lixel=100, band=500, start="2024-03",
                                    end="2025-02", crimes="Burglary",
                                    missing=month_range("2024-05", "2024-12"))
    assert "bandwidth 1,500 m along the network" in gap
    assert "Mar 2024–Feb 2025 (no data for May–Dec 2024), Burglary" in gap


def test_neighbourhood_cells_counts_the_band():
    assert wording.neighbourhood_cells(100, 150) == 8  # queen: the default 1.5 cells
    assert wording.neighbourhood_cells(100, 100) == 4  # rook
    assert wording.neighbourhood_cells(1100, 1650) == 8
    assert wording.neighbourhood_cells(100, 200) == 12
    assert wording.neighbourhood_cells(100, None) == 8
    with pytest.raises(ParameterError):
        wording.neighbourhood_cells(0, 150)
