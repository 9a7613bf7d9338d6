"""The schema: the built-in baseline names every key a scenario may set, with its type.

`gridsim/data/suzhou_2018.toml` is both the default scenario and the schema, so a key exists
exactly when the baseline sets it. `categories` and `service` are open tables: a scenario may
add a child (a new category) shaped like the baseline's first child.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from gridsim.scenario.errors import ScenarioError

BUILTIN_NAME = "suzhou_2018"
OPEN_TABLES = ("categories", "service", "departments")
"""Tables whose children are user-named (a new category or department may be added with all its fields)."""


def builtin_path(name: str = BUILTIN_NAME) -> Path:
    """The packaged scenario file of a built-in name."""
    return Path(str(resources.files("gridsim") / "data" / f"{name}.toml"))


def read_text(path: Path, label: str, what: str) -> str:
    """A UTF-8 text file; every failure (missing, unreadable, not text) is one ScenarioError.

    `what` names the expected content for the message ("a .toml scenario", "a CSV table").
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(label, "", "file not found",
                            "a path to a .toml scenario or a built-in name like 'suzhou_2018'") from None
    except OSError as exc:
        raise ScenarioError(label, "", f"cannot read file ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(label, "", f"not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                            f"{what} saved as UTF-8 text") from None


def read_toml(path: Path, label: str) -> dict:
    """A TOML file as a dict; every failure is a ScenarioError naming `label`."""
    text = read_text(path, label, "a .toml scenario")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, "", f"not valid TOML ({exc})") from None


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The built-in baseline, parsed once: it defines every key and its type (read-only)."""
    return read_toml(builtin_path(), "<builtin>")


def template_for(tree: dict, path: list[str]) -> Any:
    """The node of `tree` for a key path; open tables accept any child shaped like their first."""
    node: Any = tree
    for i, part in enumerate(path):
        if not isinstance(node, dict):
            return None
        if part in node:
            node = node[part]
        elif i > 0 and path[i - 1] in OPEN_TABLES and node:
            node = next(iter(node.values()))
        else:
            return None
    return node


def leaf_items(tree: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of a nested dict (a TOML document), in file order."""
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from leaf_items(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def all_keys(tree: dict, prefix: str = "") -> list[str]:
    """Every dotted key of a tree, tables included."""
    keys = []
    for k, v in tree.items():
        keys.append(prefix + k)
        if isinstance(v, dict):
            keys.extend(all_keys(v, prefix + k + "."))
    return keys


def type_name(tmpl: Any) -> str:
    """What a schema value's type is called in messages ('an integer', 'a list of numbers')."""
    if isinstance(tmpl, bool):
        return "true or false"
    if isinstance(tmpl, int):
        return "an integer"
    if isinstance(tmpl, float):
        return "a number"
    if isinstance(tmpl, str):
        return "a string"
    if isinstance(tmpl, list):
        inner = type_name(tmpl[0]) if tmpl else "values"
        return f"a list of {inner.removeprefix('a ').removeprefix('an ')}s"
    if isinstance(tmpl, dict):
        return "a table"
    return type(tmpl).__name__


def unknown_key(label: str, dotted: str, tree: dict, value: Any) -> None:
    """Raise the message for a key the schema lacks, with the closest match when there is one.

    The first part of the key the schema lacks is judged: under a single value it says that
    value is not a table; under a table it lists that table's keys.
    """
    parts = dotted.split(".")
    i = next(i for i in range(len(parts)) if template_for(tree, parts[:i + 1]) is None)
    parent = ".".join(parts[:i])
    here = template_for(tree, parts[:i]) if parent else tree
    if not isinstance(here, dict):
        raise ScenarioError(label, dotted, f"{parent} is a single value, not a table",
                            f"set {parent} itself ({type_name(here)})", value, True)
    options = sorted(here.keys())
    close = difflib.get_close_matches(parts[i], options, n=1, cutoff=0.6)
    if not close:
        close_full = difflib.get_close_matches(dotted, all_keys(tree), n=1, cutoff=0.75)
        hint = f" (did you mean '{close_full[0]}'?)" if close_full else ""
    else:
        hint = f" (did you mean '{'.'.join(parts[:i] + close + parts[i + 1:])}'?)"
    where = f"[{parent}]" if parent else "the top level"
    listing = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    raise ScenarioError(label, dotted, f"unknown key{hint}", f"keys of {where}: {listing}",
                        value, True)
