"""Formula-safe CSV: spreadsheet formula injection neutralised."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from hotspots.safe_csv import safe_csv, write_csv

CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# CSV injection
# --------------------------------------------------------------------------------------------


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1",
                                  "\x00x", "\x1bx", "\n=1+1", "\x7fx", "＝1+1", " =1+1",
                                  "-3.2+cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")"])
def test_text_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(cell):
    rows = read_back(safe_csv(pd.DataFrame({"note": [cell]})))
    assert rows[1] == ["'" + cell]


@pytest.mark.parametrize("cell", ["plain", "On or near High Street", "a=b", "3-2", "", "'quoted"])
def test_harmless_text_is_left_as_it_is(cell):
    rows = read_back(safe_csv(pd.DataFrame({"note": [cell]})))
    assert rows[1] == [cell]


def test_numbers_stay_numbers_even_when_negative():
    frame = pd.DataFrame({"change": [-3.2, 5.0, float("nan")], "n": [-7, 0, 12],
                          "as_text": ["-3.2", "+4", "-1e3"],
                          "mixed": [-2, "-2+1", None]}, dtype=object)
    frame["change"] = frame["change"].astype(float)
    frame["n"] = frame["n"].astype(int)
    rows = read_back(safe_csv(frame))
    assert rows[1] == ["-3.2", "-7", "-3.2", "-2"]
    assert rows[2] == ["5.0", "0", "+4", "'-2+1"]
    assert rows[3] == ["", "12", "-1e3", ""]
    back = pd.read_csv(io.StringIO(safe_csv(frame)))
    assert back["change"].iloc[0] == -3.2 and back["n"].iloc[0] == -7


def test_embedded_newlines_and_quotes_survive_quoted():
    text = safe_csv(pd.DataFrame({"a": ['line one\nline two, "quoted"'], "b": [1]}))
    assert read_back(text)[1] == ['line one\nline two, "quoted"', "1"]
    assert text.endswith("\r\n")


def test_headers_lists_and_dicts_are_neutralised_too():
    frame = pd.DataFrame({"=cmd": [1], "mix": [{"-x": 1}], "lst": [["=a"]]})
    rows = read_back(safe_csv(frame))
    assert rows[0][0] == "'=cmd"
    assert json.loads(rows[1][1]) == {"-x": 1}  # JSON text starts with "{": nothing to run
    assert rows[1][2] == '["=a"]'


def test_safe_csv_does_not_modify_the_frame_and_write_csv_adds_a_bom(tmp_path):
    frame = pd.DataFrame({"a": ["=1"], "b": ["km²"]})
    before = frame.copy()
    path = write_csv(frame, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(frame, before)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "km²".encode() in raw



@pytest.mark.parametrize("prefix", ["\u00a0", "\u3000", "\ufeff", "\u200b", "\u2028", "\u0085",
                                    " \u00a0 "])
def test_formulas_behind_unicode_spaces_and_format_characters_are_neutralised(prefix):
    text = safe_csv(pd.DataFrame({"a": [prefix + "=HYPERLINK(\"http://x\")"]}))
    cell = list(csv.reader(io.StringIO(text)))[1][0]
    assert cell.startswith("'") and cell[1:] == prefix + "=HYPERLINK(\"http://x\")"


def test_the_marking_is_the_first_row_and_the_table_still_parses(tmp_path):
    frame = pd.DataFrame({"rank": [1, 2], "name": ["A", "B"]})
    path = write_csv(frame, tmp_path / "t.csv", marking="OFFICIAL-SENSITIVE  \n handle")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "# OFFICIAL-SENSITIVE handle"
    back = pd.read_csv(path, encoding="utf-8-sig", skiprows=1)
    assert back.equals(frame)
    assert safe_csv(frame).splitlines()[0] == "rank,name"  # no marking asked, none written
