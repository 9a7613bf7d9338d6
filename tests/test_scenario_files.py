"""Files a scenario reads: where relative references resolve, what the fingerprint covers,
and files that are not text (issue 14, items 1 and 8)."""

import shutil

import pytest

from gridsim.scenario import ScenarioError, load_scenario
from gridsim.scenario.schema import builtin_path

from conftest import ROOT

BUILTIN_TABLE = ROOT / "gridsim/data/divisions_suzhou.csv"


def _decoy_table(folder, renamed="Gusu_X"):
    """A copy of the built-in division table with its first division renamed."""
    text = BUILTIN_TABLE.read_text(encoding="utf-8").replace("\nGusu,", f"\n{renamed},", 1)
    assert renamed in text
    (folder / "divisions_suzhou.csv").write_text(text, encoding="utf-8")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working folder holding decoys: a parent.toml and a divisions_suzhou.csv."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "parent.toml").write_text("extends = 'suzhou_2018'\n[staff]\npolice_units = 800\n")
    _decoy_table(cwd)
    monkeypatch.chdir(cwd)
    return cwd


def test_extends_resolves_beside_the_referring_file_not_the_working_folder(tmp_path, elsewhere):
    home = tmp_path / "home"
    home.mkdir()
    (home / "parent.toml").write_text("extends = 'suzhou_2018'\n[staff]\npolice_units = 900\n")
    (home / "child.toml").write_text("extends = 'parent.toml'\n")
    s = load_scenario(home / "child.toml")
    assert s.staff.police_units == 900
    assert s.origin["staff.police_units"] == str(home / "parent.toml")


def test_extends_of_a_missing_file_does_not_fall_back_to_the_working_folder(tmp_path, elsewhere):
    home = tmp_path / "home"
    home.mkdir()
    (home / "child.toml").write_text("extends = 'parent.toml'\n")
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario(home / "child.toml")


def test_builtin_division_table_is_not_replaced_by_one_in_the_working_folder(elsewhere):
    names = [d.name for d in load_scenario().divisions]
    assert "Gusu" in names and "Gusu_X" not in names
    assert load_scenario().data_files[0].path == str(BUILTIN_TABLE.resolve())


def test_division_table_resolves_beside_the_file_that_names_it(tmp_path, elsewhere):
    home = tmp_path / "home"
    home.mkdir()
    _decoy_table(home, renamed="Gusu_Home")
    (home / "mine.toml").write_text("extends = 'suzhou_2018'\n[city]\ndivisions_file = 'divisions_suzhou.csv'\n")
    sub = home / "sub"
    sub.mkdir()
    (sub / "child.toml").write_text("extends = '../mine.toml'\n")   # inherits the key from mine.toml
    for ref in (home / "mine.toml", sub / "child.toml"):
        names = [d.name for d in load_scenario(ref).divisions]
        assert "Gusu_Home" in names, ref


def test_top_level_path_and_set_values_are_relative_to_the_working_folder(elsewhere):
    assert load_scenario("parent.toml").staff.police_units == 800
    s = load_scenario(None, ["city.divisions_file=divisions_suzhou.csv"])
    assert "Gusu_X" in [d.name for d in s.divisions]           # --set is what the user typed here


def test_copy_with_resolves_file_overrides_against_the_given_folder(tmp_path, elsewhere):
    home = tmp_path / "home"
    home.mkdir()
    _decoy_table(home, renamed="Gusu_Home")
    base = load_scenario()
    moved = base.copy_with({"city.divisions_file": "divisions_suzhou.csv"}, origin="exp.toml [set]", folder=home)
    assert "Gusu_Home" in [d.name for d in moved.divisions]


def test_fingerprint_covers_the_division_table_bytes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(BUILTIN_TABLE, home / "divisions_suzhou.csv")
    (home / "s.toml").write_text("extends = 'suzhou_2018'\n[city]\ndivisions_file = 'divisions_suzhou.csv'\n")
    first = load_scenario(home / "s.toml")
    assert first.fingerprint() == load_scenario(home / "s.toml").fingerprint()       # stable
    # same scenario text, same division names and counts: only Gusu's reference point moves
    lines = BUILTIN_TABLE.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(ln for ln in lines if not ln.startswith("#")).rstrip("\n").split(",")
    i = next(i for i, ln in enumerate(lines) if ln.startswith("Gusu,"))
    cells = lines[i].rstrip("\n").split(",")
    cells[header.index("ref_lon")] = str(float(cells[header.index("ref_lon")]) + 0.01)
    lines[i] = ",".join(cells) + "\n"
    (home / "divisions_suzhou.csv").write_text("".join(lines), encoding="utf-8")
    second = load_scenario(home / "s.toml")
    assert second.data == first.data
    assert second.fingerprint() != first.fingerprint()


def test_fingerprint_follows_the_resolved_values():
    base = load_scenario()
    assert base.copy_with({"staff.police_units": 900}).fingerprint() != base.fingerprint()
    assert base.copy_with({"staff.police_units": 1040}).fingerprint() == base.fingerprint()


NOT_TEXT = [b"\xff\xfe\x00\x00binary\x00\x01", "name = 'café'\n".encode("latin-1"), bytes(range(256))]


@pytest.mark.parametrize("content", NOT_TEXT, ids=["utf32ish", "latin1", "all-bytes"])
def test_scenario_file_that_is_not_utf8_text_is_one_clear_error(tmp_path, content):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert str(info.value).startswith(f"{bad}: not a UTF-8 text file (byte 0x")


@pytest.mark.parametrize("content", NOT_TEXT + [b"name,area_km2\x00\n\x00\x00,1\n"],
                         ids=["utf32ish", "latin1", "all-bytes", "nul-bytes"])
def test_division_file_that_is_not_a_text_table_is_one_clear_error(tmp_path, content):
    (tmp_path / "d.csv").write_bytes(content)
    (tmp_path / "s.toml").write_text("extends = 'suzhou_2018'\n[city]\ndivisions_file = 'd.csv'\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.toml")
    assert str(info.value).startswith(str(tmp_path / "d.csv") + ": ")


def test_a_folder_named_as_division_table_is_not_found(tmp_path):
    (tmp_path / "d.csv").mkdir()
    (tmp_path / "s.toml").write_text("extends = 'suzhou_2018'\n[city]\ndivisions_file = 'd.csv'\n")
    with pytest.raises(ScenarioError, match="division table not found"):
        load_scenario(tmp_path / "s.toml")


def test_builtin_path_is_the_packaged_file():
    assert builtin_path() == ROOT / "gridsim/data/suzhou_2018.toml"
