"""Loading a scenario: read TOML, resolve `extends`, apply `--set` overrides, validate, type.

A scenario file either `extends` another (a path relative to it, or a built-in name) and
sets only what it changes, or is standalone and must then set every key of the schema.
`origin` remembers which file (or "--set") set each key, so every error names it, and
`folders` which folder that file's relative references (`extends`, `city.divisions_file`)
resolve against: the file's own folder, never the current directory (only what the user
types, the scenario path and `--set` values, is relative to the current directory).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from gridsim.scenario.divisions import DataFile, Division, load_divisions
from gridsim.scenario.exits import Exit, load_exits
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.layout import Layout, load_layout
from gridsim.scenario.schema import (BUILTIN_NAME, builtin_path, read_toml, schema,
                                     template_for, type_name, unknown_key)
from gridsim.scenario.types import Category, Sections, section_values
from gridsim.scenario.validate import check_consistency, check_ranges, check_schema


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario(Sections):
    """A resolved, validated scenario: its typed tables plus where it came from.

    `data` is the same scenario as a plain nested dict, for serialisation only (`to_toml`,
    summaries); code reads the typed attributes (`spec.staff.police_units`).
    """

    data: dict
    path: str                            # the file the user named (or "<builtin>/suzhou_2018.toml")
    divisions: tuple[Division, ...]
    origin: dict                         # dotted key -> file or "--set" that set it
    folders: dict                        # origin label -> folder its relative references resolve against
    data_files: tuple[DataFile, ...]     # every data file read (the division table), with its sha256
    exits: tuple[Exit, ...] = ()         # city exit checkpoints (patrol.exits_file), if any
    layout: Layout | None = None         # explicit grids and police posts (city.grids_file), if any

    def get(self, dotted: str) -> Any:
        """A raw value by dotted key ("staff.police_units"), as written in TOML."""
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def categories_of(self, source: str | None = None) -> dict[str, Category]:
        """The categories of one source ("110", "12345", "grid"), or all, in file order."""
        return {k: v for k, v in self.categories.items() if source is None or v.source == source}

    def to_toml(self) -> str:
        """The resolved scenario as TOML (no `extends`): reruns give the same result."""
        out = copy.deepcopy(self.data)
        out.pop("extends", None)
        return tomli_w.dumps(out)

    def copy_with(self, overrides: dict[str, Any], origin: str = "--set",
                  folder: str | Path | None = None) -> "Scenario":
        """A new validated scenario with dotted-key overrides applied.

        Relative file names among the overrides resolve against `folder`: give the folder
        of the file they come from (an experiment file's). Without it: the folder of
        `origin` when that is a file, else the current directory (as for `--set`).
        """
        data = copy.deepcopy(self.data)
        orig = dict(self.origin)
        folders = dict(self.folders)
        if folder is not None:
            folders[origin] = str(Path(folder).resolve())
        elif origin not in folders:
            folders[origin] = str((Path(origin).parent if Path(origin).is_file() else Path.cwd()).resolve())
        for key, value in overrides.items():
            _set_dotted(data, key, value, origin, orig)
        return _finish(data, self.path, orig, folders)

    def fingerprint(self) -> str:
        """sha256 of everything a run of this scenario depends on: the resolved scenario and the
        bytes of every data file it read (a different division table gives a different print)."""
        h = hashlib.sha256(self.to_toml().encode("utf-8"))
        for f in sorted(self.data_files, key=lambda f: f.key):
            h.update(f"\n{f.key} sha256 {f.sha256}".encode("utf-8"))
        return h.hexdigest()


def _locate(ref: str, folder: Path) -> Path:
    """A scenario reference: a path relative to `folder` (".toml" may be left off), else a
    built-in name. An absolute path is itself. A path that exists nowhere is returned as is,
    for the caller's message."""
    p = Path(ref)
    if p.is_absolute():
        return p
    cand = folder / (ref if ref.endswith(".toml") else f"{ref}.toml")
    if cand.is_file() or (folder / p).is_file():
        return cand if cand.is_file() else folder / p
    if len(p.parts) == 1 and builtin_path(p.stem).is_file():
        return builtin_path(p.stem)
    return folder / p


def load_scenario(ref: str | Path | None = None, overrides: list[str] | dict | None = None) -> Scenario:
    """Load a scenario by path or built-in name, resolve `extends`, apply overrides, validate.

    `ref` is relative to the current directory (or a built-in name); references inside the
    files are relative to the file that makes them. `overrides` is a list of
    "section.key=value" strings (values typed like TOML; bare words are strings) or a dict
    of dotted key -> value; file names among them are relative to the current directory.
    """
    cwd = Path.cwd()
    path = builtin_path() if ref is None else _locate(str(ref), cwd)
    label = str(ref) if ref is not None else f"<builtin>/{BUILTIN_NAME}.toml"
    origin: dict[str, str] = {}
    folders: dict[str, str] = {"--set": str(cwd.resolve())}
    data = _resolve_chain(path, label, origin, folders, seen=())
    if isinstance(overrides, dict):
        pairs = list(overrides.items())
    else:
        pairs = [_parse_override(s) for s in (overrides or [])]
    for key, value in pairs:
        _set_dotted(data, key, value, "--set", origin)
    return _finish(data, label, origin, folders)


def _resolve_chain(path: Path, label: str, origin: dict, folders: dict, seen: tuple) -> dict:
    if str(path.resolve()) in seen:
        raise ScenarioError(label, "extends", "circular extends chain",
                            "a chain ending at the built-in suzhou_2018", " -> ".join(seen), True)
    raw = read_toml(path, label)
    folders[label] = str(path.resolve().parent)
    seen = seen + (str(path.resolve()),)
    parent_ref = raw.get("extends")
    schema_path = builtin_path()
    if parent_ref is None:
        if path.resolve() != schema_path.resolve():
            # A standalone file must still match the schema: check its keys against the built-in.
            _check_keys(raw, schema(), label, "")
        _record_origin(raw, label, origin, "")
        return raw
    if not isinstance(parent_ref, str):
        raise ScenarioError(label, "extends", "must be a string", "a scenario name or path",
                            parent_ref, True)
    parent_path = _locate(parent_ref, path.parent)
    if not parent_path.exists():
        raise ScenarioError(label, "extends", "no such scenario",
                            f"a .toml path, a file beside {label}, or a built-in name ('{BUILTIN_NAME}')",
                            parent_ref, True)
    base = _resolve_chain(parent_path, str(parent_path), origin, folders, seen)
    _check_keys(raw, base, label, "")
    _record_origin(raw, label, origin, "")
    merged = _merge(base, raw)
    merged["extends"] = parent_ref
    return merged


def _record_origin(raw: dict, label: str, origin: dict, prefix: str) -> None:
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _record_origin(v, label, origin, key + ".")
        else:
            origin[key] = label


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _check_keys(raw: dict, tree: dict, label: str, prefix: str) -> None:
    for k, v in raw.items():
        dotted = f"{prefix}{k}"
        if dotted == "extends":
            continue
        tmpl = template_for(tree, dotted.split("."))
        if tmpl is None:
            unknown_key(label, dotted, tree, v)
        if isinstance(v, dict):
            if not isinstance(tmpl, dict):
                raise ScenarioError(label, dotted, "is a table but should be a single value",
                                    type_name(tmpl), v, True)
            _check_keys(v, tree, label, dotted + ".")


def _parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ScenarioError("--set", text, "expected KEY=VALUE", "e.g. --set staff.police_units=900")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ScenarioError("--set", text, "empty key", "e.g. --set staff.police_units=900")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw          # a bare word is a string: --set travel.mode=zero
    return key, value


def _set_dotted(data: dict, key: str, value: Any, label: str, origin: dict) -> None:
    tree = schema()
    parts = key.split(".")
    tmpl = template_for(tree, parts)
    if tmpl is None:
        unknown_key(label, key, tree, value)
    node = data
    for part in parts[:-1]:
        if part not in node:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ScenarioError(label, key, "cannot set inside a value", "", value, True)
    if isinstance(tmpl, dict) and not isinstance(value, dict):
        raise ScenarioError(label, key, "is a table; set one of its keys", ", ".join(tmpl), value, True)
    node[parts[-1]] = value
    origin[key] = label


def _finish(data: dict, label: str, origin: dict, folders: dict) -> Scenario:
    """Validate a resolved dict and build the typed scenario from it."""
    check_schema(data, schema(), origin, label)
    check_ranges(data, origin)
    div_label = origin.get("city.divisions_file", label)
    divisions, table = load_divisions(data["city"]["divisions_file"], Path(folders[div_label]), div_label)
    files = [table]
    exits: tuple[Exit, ...] = ()
    if data["patrol"]["exits_file"]:
        ex_label = origin.get("patrol.exits_file", label)
        exits, ex_table = load_exits(data["patrol"]["exits_file"], Path(folders[ex_label]), ex_label)
        files.append(ex_table)
    sections = section_values(data)
    typed = Sections(**sections)
    check_consistency(typed, data, origin, divisions)
    layout, layout_files = load_layout(typed, divisions, origin, folders, label)   # explicit grids / posts
    return Scenario(**sections, data=data, path=label, divisions=divisions, origin=origin,
                    folders=folders, data_files=(*files, *layout_files), exits=exits, layout=layout)
