"""--csv / --xlsx: the tables a command prints, as files holding the same numbers; the
`export_tables` helper other commands call."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from conftest import SCENARIOS
from gridsim.cli.common import export_tables
from gridsim.cli.main import main

MMC = (SCENARIOS / "validation_mmc.toml").as_posix()
RUN_TABLES = ["volumes", "stages", "by source", "by division", "by category", "by hour", "utilisation"]


def test_run_tables_hold_the_printed_numbers(tmp_path, capsys):
    csv, xlsx = tmp_path / "t.csv", tmp_path / "t.xlsx"
    # 12 days: the close limit (5 working days) of orders called after the 24 h work-order warm-up
    # falls inside the run, so two work-order stages are judged (verification is off in M/M/c)
    assert main(["run", MMC, "--days", "12", "--quiet", "--out", str(tmp_path / "r"),
                 "--csv", str(csv), "--xlsx", str(xlsx)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {csv}" in out and f"wrote {xlsx}" in out
    tables = pd.read_csv(csv)
    assert list(dict.fromkeys(tables["table"])) == RUN_TABLES
    assert openpyxl.load_workbook(xlsx).sheetnames == RUN_TABLES
    stages = pd.read_excel(xlsx, sheet_name="stages")
    lines = {ln.strip().split("  ")[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    judged = 0
    for r in stages.to_dict(orient="records"):
        line = lines[r["stage"]]
        assert f"{r['n']:,}" in line
        if r["verdict"] == "too few to judge":      # M/M/c has no 110 incidents: nothing to judge on respond
            assert "too few to judge" in line and "%" not in line.split("too few")[0]
            continue
        judged += 1
        assert f"{r['met %']:5.1f}%" in line and f"[{r['ci low %']:5.1f}%,{r['ci high %']:5.1f}%]" in line
        assert r["verdict"] in line and f"need {r['required %']:g}%" in line
    assert judged >= 2
    util = tables[tables["table"] == "utilisation"]
    fulltime = util[util["role"] == "fulltime"].iloc[0]
    assert re.search(rf"fulltime\s+{int(fulltime['responders']):,}\s+{fulltime['on-duty h']:,.0f}\s+"
                     rf"{fulltime['busy h']:,.0f}\s+{fulltime['busy share %']:.1f}%", out)


def test_city_table_exported(tmp_path, capsys):
    csv, xlsx = tmp_path / "c.csv", tmp_path / "c.xlsx"
    assert main(["city", MMC, "--csv", str(csv), "--xlsx", str(xlsx)]) == 0
    out = capsys.readouterr().out
    df = pd.read_csv(csv)
    assert "table" not in df.columns and list(df["division"]) == ["Validation", "Total"]
    pd.testing.assert_frame_equal(pd.read_excel(xlsx, sheet_name="divisions"), df, check_dtype=False)
    for r in df.to_dict(orient="records"):
        assert re.search(rf"^{r['division']}\s.*\s{r['grids']:,}\s.*\s{r['area_km2']:,.1f}$", out, re.M)


def test_export_helper_takes_frames_or_rows(tmp_path):
    frame = pd.DataFrame({"variant": ["a", "b"], "share": [0.5, 0.75]})
    rows = ([["x", 1], ["y", 2]], ["name", "count"])
    written = export_tables([("a table: with/odd*chars", frame), ("counts", rows)],
                            csv=str(tmp_path / "t.csv"), xlsx=str(tmp_path / "t.xlsx"))
    assert [p.name for p in written] == ["t.csv", "t.xlsx"]
    csv = pd.read_csv(tmp_path / "t.csv")
    assert list(csv.columns) == ["table", "variant", "share", "name", "count"]
    assert csv["share"].dropna().tolist() == [0.5, 0.75] and csv["count"].dropna().tolist() == [1, 2]
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert book.sheetnames == ["a table_ with_odd_chars", "counts"]
    assert pd.read_excel(tmp_path / "t.xlsx", sheet_name="counts").equals(pd.DataFrame(rows[0], columns=rows[1]))


@pytest.mark.parametrize("flag,path,needle", [("--csv", "tables.txt", "must end in .csv"),
                                              ("--xlsx", "nowhere/t.xlsx", "no folder")])
def test_bad_export_paths_are_refused_before_the_run(tmp_path, monkeypatch, capsys, flag, path, needle):
    monkeypatch.chdir(tmp_path)
    assert main(["run", MMC, "--days", "2", "--quiet", "--out", "r", flag, path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not (tmp_path / "r").exists()
