"""The problem profile's words: change beyond chance, counts for small numbers, the four Ps."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from scipy.stats import binomtest

from hotspots.errors import ParameterError
from hotspots.pack_profile import (
    FOUR_PS,
    ProfileDetails,
    apply_recommendations,
    change_test,
    change_words,
    draft_recommendations,
)


def test_change_beyond_chance_is_the_exact_binomial_test_of_equal_rates():
    assert change_test(30, 10) == (pytest.approx(binomtest(30, 40, 0.5).pvalue),
                                   "rise beyond chance")
    assert change_test(6, 1)[1] == "within chance"  # "+500%" on tiny counts is noise
    assert change_test(5, 25)[1] == "fall beyond chance"
    assert change_test(0, 0) == (1.0, "within chance")


def test_small_earlier_counts_are_shown_as_counts_not_percentages():
    assert change_words(6, 1) == "6 from 1 (+5)"
    assert change_words(120, 100) == "120 from 100 (+20, +20%)"
    assert change_words(5, None) == ""


def _table() -> pd.DataFrame:
    return pd.DataFrame({"rank": [1, 2], "name": ["Rugby town centre: Regent Street",
                                                  "Brownsover: Leicester Road"],
                         "incidents": [40, 20], "previous": [20, 21], "area_km2": [0.5, 0.4],
                         "change_test": ["rise beyond chance", "within chance"]})


def test_recommendations_are_drafted_under_the_four_ps_and_the_analyst_can_replace_them():
    drafts = draft_recommendations(table=_table(), crimes="acquisitive crime", area="Rugby",
                                   sites=["M6 J1"], review_date="3 January 2027")
    assert list(drafts) == list(FOUR_PS) and all(drafts.values())
    assert any("Rugby town centre" in r for r in drafts["Pursue"])
    assert any("M6 J1" in r for r in drafts["Pursue"])
    edited = apply_recommendations(drafts, {"pursue": "Op Nightjar: plain-clothes patrol\n\n"
                                                      "- ANPR at M6 J1",
                                            "Protect": ""})
    assert edited["Pursue"] == ["Op Nightjar: plain-clothes patrol", "ANPR at M6 J1"]
    assert edited["Protect"] == []
    assert edited["Prevent"] == drafts["Prevent"]
    assert drafts["Pursue"][0] != edited["Pursue"][0]  # the drafts are not changed
    with pytest.raises(ParameterError, match="Pursue, Prevent, Protect, Prepare"):
        apply_recommendations(drafts, {"Punish": "no"})


def test_profile_details_default_a_review_date_four_weeks_on_and_refuse_one_before():
    d = ProfileDetails.build(author="  DC  Smith ", issued=date(2026, 1, 5))
    assert d.author == "DC Smith" and d.review == date(2026, 2, 2)
    assert ("Owner", "not stated") in d.rows()
    with pytest.raises(ParameterError, match="before the issue date"):
        ProfileDetails.build(issued=date(2026, 1, 5), review="2025-12-31")
