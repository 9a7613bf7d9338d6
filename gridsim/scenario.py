"""Scenario files: load TOML, resolve `extends`, apply `--set` overrides, validate.

The built-in baseline (`gridsim/data/suzhou_2018.toml`) is the schema: every key a scenario
may set exists there, with its type. Values are checked against range rules below before
anything runs, and every failure is a `ScenarioError` naming the file, the key, the value
and what is allowed, so the CLI can print one line and exit with status 2.
"""

from __future__ import annotations

import copy
import csv
import difflib
import functools
import io
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import tomli_w

BUILTIN_NAME = "suzhou_2018"
SOURCES = ("110", "12345", "grid")
PRIORITIES = ("urgent", "routine")
GRID_ROLES = ("fulltime", "leader", "parttime")
ROLES = ("police",) + GRID_ROLES
FAMILIES = ("exponential", "lognormal", "gamma", "fixed")
# Tables whose children are user-named (a new category may be added with all fields).
OPEN_TABLES = ("categories", "service")
DIVISION_COLUMNS = ("name", "area_km2", "land_area_km2", "towns", "streets", "population_2020",
                    "ref_lat", "ref_lon")


class ScenarioError(Exception):
    """A bad scenario input: the file, the key, the value and what is allowed."""

    def __init__(self, file: str, key: str, problem: str, allowed: str = "", value: Any = None,
                 has_value: bool = False):
        self.file, self.key, self.problem, self.allowed = file, key, problem, allowed
        self.value, self.has_value = value, has_value
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else f"{self.file}"
        val = f" = {_show(self.value)}" if self.has_value else ""
        allowed = f"; allowed: {self.allowed}" if self.allowed else ""
        return f"{where}{val}: {self.problem}{allowed}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{table}"
    return str(value).replace("True", "true").replace("False", "false")


@dataclass
class Division:
    """One county-level division row of the division table."""

    name: str
    area_km2: float
    land_area_km2: float
    towns: int
    streets: int
    population_2020: float
    ref_lat: float
    ref_lon: float
    population_estimated: bool = False


@dataclass
class Scenario:
    """A resolved, validated scenario: plain nested dict plus where it came from."""

    data: dict
    path: str                       # the file the user named (or "<builtin>/suzhou_2018.toml")
    divisions: list[Division] = field(default_factory=list)
    origin: dict = field(default_factory=dict)   # dotted key -> file or "--set" that set it

    @property
    def name(self) -> str:
        return str(self.data.get("name", Path(self.path).stem))

    def __getitem__(self, section: str) -> Any:
        return self.data[section]

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def categories(self, source: str | None = None) -> dict[str, dict]:
        cats = self.data["categories"]
        return {k: v for k, v in cats.items() if source is None or v["source"] == source}

    def to_toml(self) -> str:
        """The resolved scenario as TOML (no `extends`): reruns give the same result."""
        out = copy.deepcopy(self.data)
        out.pop("extends", None)
        return tomli_w.dumps(out)

    def copy_with(self, overrides: dict[str, Any], origin: str = "--set") -> "Scenario":
        """A new validated scenario with dotted-key overrides applied."""
        data = copy.deepcopy(self.data)
        orig = dict(self.origin)
        for key, value in overrides.items():
            _set_dotted(data, key, value, origin, orig)
        return _finish(data, self.path, orig, self._base_dir())

    def _base_dir(self) -> Path | None:
        p = Path(self.path)
        return p.parent if p.exists() else None


# ----------------------------------------------------------------------------- loading

def builtin_path(name: str = BUILTIN_NAME) -> Path:
    return Path(str(resources.files("gridsim") / "data" / f"{name}.toml"))


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    """The built-in baseline, parsed once: it defines every key and its type (read-only)."""
    return _read_toml(builtin_path(), "<builtin>")


def _read_toml(path: Path, label: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(label, "", "file not found",
                            "a path to a .toml scenario or a built-in name like 'suzhou_2018'") from None
    except OSError as exc:
        raise ScenarioError(label, "", f"cannot read file ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, "", f"not valid TOML ({exc})") from None


def _locate(ref: str, base_dir: Path | None) -> Path:
    """A scenario reference: a path, a name beside the referring file, or a built-in name."""
    p = Path(ref)
    if p.suffix == ".toml" and (p.exists() or base_dir is None):
        return p
    if base_dir is not None:
        cand = base_dir / (ref if ref.endswith(".toml") else f"{ref}.toml")
        if cand.exists():
            return cand
    if p.exists():
        return p
    bp = builtin_path(p.stem)
    return bp if bp.exists() else p


def load_scenario(ref: str | Path | None = None, overrides: list[str] | dict | None = None) -> Scenario:
    """Load a scenario by path or built-in name, resolve `extends`, apply overrides, validate.

    `overrides` is a list of "section.key=value" strings (values typed like TOML; bare words
    are strings) or a dict of dotted key -> value.
    """
    path = builtin_path() if ref is None else _locate(str(ref), Path.cwd())
    label = str(ref) if ref is not None else f"<builtin>/{BUILTIN_NAME}.toml"
    origin: dict[str, str] = {}
    data = _resolve_chain(path, label, origin, seen=())
    if isinstance(overrides, dict):
        pairs = list(overrides.items())
    else:
        pairs = [_parse_override(s) for s in (overrides or [])]
    for key, value in pairs:
        _set_dotted(data, key, value, "--set", origin)
    return _finish(data, label, origin, path.parent)


def _resolve_chain(path: Path, label: str, origin: dict, seen: tuple) -> dict:
    if str(path.resolve()) in seen:
        raise ScenarioError(label, "extends", "circular extends chain",
                            "a chain ending at the built-in suzhou_2018", " -> ".join(seen), True)
    raw = _read_toml(path, label)
    seen = seen + (str(path.resolve()),)
    parent_ref = raw.get("extends")
    schema_path = builtin_path()
    if parent_ref is None:
        if path.resolve() != schema_path.resolve():
            # A standalone file must still match the schema: check its keys against the built-in.
            _check_keys(raw, _schema(), label, "")
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
    base = _resolve_chain(parent_path, str(parent_path), origin, seen)
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


def _template_for(schema: dict, path: list[str]) -> Any:
    """The schema node for a key path; open tables accept any child shaped like their first."""
    node: Any = schema
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


def _check_keys(raw: dict, schema: dict, label: str, prefix: str) -> None:
    for k, v in raw.items():
        dotted = f"{prefix}{k}"
        if dotted == "extends":
            continue
        tmpl = _template_for(schema, dotted.split("."))
        if tmpl is None:
            _unknown_key(label, dotted, schema, v)
        if isinstance(v, dict):
            if not isinstance(tmpl, dict):
                raise ScenarioError(label, dotted, "is a table but should be a single value",
                                    _type_name(tmpl), v, True)
            _check_keys(v, schema, label, dotted + ".")


def _all_keys(schema: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in schema.items():
        keys.append(prefix + k)
        if isinstance(v, dict):
            keys.extend(_all_keys(v, prefix + k + "."))
    return keys


def _unknown_key(label: str, dotted: str, schema: dict, value: Any) -> None:
    parts = dotted.split(".")
    parent = ".".join(parts[:-1])
    siblings = _template_for(schema, parts[:-1]) if parent else schema
    options = sorted(siblings.keys()) if isinstance(siblings, dict) else []
    close = difflib.get_close_matches(parts[-1], options, n=1, cutoff=0.6)
    if not close:
        close_full = difflib.get_close_matches(dotted, _all_keys(schema), n=1, cutoff=0.75)
        hint = f" (did you mean '{close_full[0]}'?)" if close_full else ""
    else:
        hint = f" (did you mean '{'.'.join(parts[:-1] + close)}'?)"
    where = f"[{parent}]" if parent else "the top level"
    listing = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    raise ScenarioError(label, dotted, f"unknown key{hint}", f"keys of {where}: {listing}",
                        value, True)


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
    schema = _schema()
    parts = key.split(".")
    tmpl = _template_for(schema, parts)
    if tmpl is None:
        _unknown_key(label, key, schema, value)
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


# ----------------------------------------------------------------------------- validation

def _type_name(tmpl: Any) -> str:
    if isinstance(tmpl, bool):
        return "true or false"
    if isinstance(tmpl, int):
        return "an integer"
    if isinstance(tmpl, float):
        return "a number"
    if isinstance(tmpl, str):
        return "a string"
    if isinstance(tmpl, list):
        inner = _type_name(tmpl[0]) if tmpl else "values"
        return f"a list of {inner.removeprefix('a ').removeprefix('an ')}s"
    if isinstance(tmpl, dict):
        return "a table"
    return type(tmpl).__name__


def _coerce(value: Any, tmpl: Any, label: str, key: str) -> Any:
    """Check the value has the template's type; ints are accepted where numbers are."""
    bad = ScenarioError(label, key, "wrong type", _type_name(tmpl), value, True)
    if isinstance(tmpl, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(tmpl, int):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise bad
        return value
    if isinstance(tmpl, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(float(value)):
            raise ScenarioError(label, key, "must be finite", "a finite number", value, True)
        return float(value)
    if isinstance(tmpl, str):
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(tmpl, list):
        if not isinstance(value, list):
            raise bad
        if tmpl:
            return [_coerce(v, tmpl[0], label, key) for v in value]
        return value
    return value


def _typecheck(data: dict, schema: dict, origin: dict, prefix: str = "") -> None:
    for k, v in list(data.items()):
        dotted = f"{prefix}{k}"
        if dotted == "extends":
            continue
        tmpl = _template_for(schema, dotted.split("."))
        label = origin.get(dotted, "<scenario>")
        if tmpl is None:
            _unknown_key(label, dotted, schema, v)
        if isinstance(tmpl, dict):
            if not isinstance(v, dict):
                raise ScenarioError(label, dotted, "should be a table", "a table of "
                                    + ", ".join(tmpl), v, True)
            # every field of an open-table child must be present
            missing = [f for f in tmpl if f not in v]
            if missing:
                present = [origin[f"{dotted}.{f}"] for f in v if f"{dotted}.{f}" in origin]
                raise ScenarioError(present[0] if present else label, dotted,
                                    f"missing key '{missing[0]}'", "all of " + ", ".join(tmpl))
            _typecheck(v, schema, origin, dotted + ".")
        else:
            data[k] = _coerce(v, tmpl, label, dotted)


Rule = Callable[[Any], bool]


def _range_rules() -> list[tuple[str, Rule, str]]:
    """(key pattern, predicate, allowed) for single values; '*' matches one open-table child."""
    nonneg = (lambda v: v >= 0, ">= 0")
    pos = (lambda v: v > 0, "> 0")
    prob = (lambda v: 0.0 <= v <= 1.0, "a probability between 0 and 1")
    counts = (lambda v: all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v),
              "a list of non-negative integers, one per unit")
    hours = (lambda v: len(v) == 2 and 0 <= v[0] <= v[1] <= 24, "[start, end] with 0 <= start <= end <= 24")
    rules = [
        ("run.days", *pos), ("run.warmup_hours", *nonneg), ("run.seed", *nonneg),
        ("run.start_weekday", lambda v: 0 <= v <= 6, "0 (Monday) to 6 (Sunday)"),
        ("city.subcenters", lambda v: v >= 1, ">= 1"), ("city.workstations", lambda v: v >= 1, ">= 1"),
        ("city.grids", lambda v: v >= 1, ">= 1"),
        ("city.subcenters_built", *nonneg), ("city.workstations_built", *nonneg),
        ("city.workstations_started", *nonneg), ("city.population_total", *pos),
        ("city.persons_per_household", *pos), ("city.grid_population_sigma", *nonneg),
        ("city.density_decay_fraction", *pos), ("city.urban_density_min_per_km2", *nonneg),
        ("city.checkpoints_per_division", lambda v: v >= 1, ">= 1"),
        ("staff.grid_leaders", *nonneg), ("staff.fulltime_workers", *nonneg),
        ("staff.parttime_workers", *nonneg), ("staff.police_units", *nonneg),
        ("staff.police_units_min_per_subcenter", *nonneg),
        ("targets.*", *pos), ("deadlines.*", *pos),
        ("travel.mode", lambda v: v in ("road", "zero"), "'road' or 'zero'"),
        ("travel.detour_factor", lambda v: v >= 1.0, ">= 1 (road distance is never shorter than straight)"),
        ("travel.speed_kmh.*", *pos),
        ("shifts.*.weekday_hours", *hours), ("shifts.*.weekend_hours", *hours),
        ("demand.police_per_day", *nonneg), ("demand.hotline_per_day", *nonneg),
        ("demand.hotline_first_contact_share", *prob),
        ("demand.patrol_reports_per_hour.*", *nonneg),
        ("demand.profile.*.hourly", lambda v: len(v) == 24 and min(v) >= 0 and sum(v) > 0,
         "24 non-negative weights (hours 0-23), not all zero"),
        ("demand.profile.*.daily", lambda v: len(v) == 7 and min(v) >= 0 and sum(v) > 0,
         "7 non-negative weights (Monday-Sunday), not all zero"),
        ("surge.multiplier", *nonneg), ("surge.start_hour", *nonneg), ("surge.duration_hours", *nonneg),
        ("surge.sources", lambda v: all(s in SOURCES for s in v), "a list drawn from " + ", ".join(SOURCES)),
        ("dispatch.grid_role_order", lambda v: len(v) > 0 and len(set(v)) == len(v) and all(r in GRID_ROLES for r in v),
         "distinct roles from " + ", ".join(GRID_ROLES)),
        ("dispatch.verify_role_order", lambda v: len(v) > 0 and len(set(v)) == len(v) and all(r in GRID_ROLES for r in v),
         "distinct roles from " + ", ".join(GRID_ROLES)),
        ("dispatch.borrow_radius_km", *nonneg),
        ("dispatch.police_neighbour_subcenters", *nonneg),
        ("dispatch.cordon_candidate_subcenters", lambda v: v >= 1, ">= 1"),
        ("dispatch.police_idle_policy", lambda v: v in ("stay", "return_to_post"), "'stay' or 'return_to_post'"),
        ("dispatch.event_spread", lambda v: v in ("grid", "centroid"), "'grid' or 'centroid'"),
        ("categories.*.source", lambda v: v in SOURCES, "one of " + ", ".join(f"'{s}'" for s in SOURCES)),
        ("categories.*.share", *prob),
        ("categories.*.priority", lambda v: v in PRIORITIES, "'urgent' or 'routine'"),
        ("categories.*.support_prob", *prob), ("categories.*.cordon_prob", *prob),
        ("categories.*.support_units", *nonneg), ("categories.*.cordon_points", *nonneg),
        ("categories.*.close_deadline_h", *pos), ("categories.*.urban_weight", *nonneg),
        ("allocation.per", lambda v: v in ("none", "division", "subcenter"), "'none', 'division' or 'subcenter'"),
        ("allocation.fulltime_workers", *counts), ("allocation.grid_leaders", *counts),
        ("allocation.parttime_workers", *counts), ("allocation.police_units", *counts),
    ]
    for table in ("lifecycle.*", "police.*", "service.*"):
        rules += [
            (f"{table}.family", lambda v: v in FAMILIES, "one of " + ", ".join(FAMILIES)),
            (f"{table}.mean_min", *nonneg), (f"{table}.cv", *pos),
        ]
    return rules


def _match(pattern: str, key: str) -> bool:
    p, k = pattern.split("."), key.split(".")
    return len(p) == len(k) and all(a == "*" or a == b for a, b in zip(p, k))


def _leaves(data: dict, prefix: str = ""):
    for k, v in data.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _check_ranges(data: dict, origin: dict) -> None:
    rules = _range_rules()
    for key, value in _leaves(data):
        for pattern, ok, allowed in rules:
            if _match(pattern, key) and not ok(value):
                raise ScenarioError(origin.get(key, "<scenario>"), key, "out of range", allowed, value, True)


def _check_consistency(data: dict, origin: dict, divisions: list[Division]) -> None:
    def err(key: str, problem: str, allowed: str) -> ScenarioError:
        return ScenarioError(origin.get(key, "<scenario>"), key, problem, allowed, Scenario(data, "").get(key), True)

    c, s = data["city"], data["staff"]
    if c["subcenters_built"] > c["subcenters"]:
        raise err("city.subcenters_built", "more built than planned", f"<= city.subcenters ({c['subcenters']})")
    if c["workstations_started"] > c["workstations"]:
        raise err("city.workstations_started", "more started than planned", f"<= city.workstations ({c['workstations']})")
    if c["workstations_built"] > c["workstations_started"]:
        raise err("city.workstations_built", "more built than started (built + under construction)",
                  f"<= city.workstations_started ({c['workstations_started']})")
    if c["workstations"] < c["subcenters"]:
        raise err("city.workstations", "fewer workstations than sub-centers (each sub-center needs one)",
                  f">= city.subcenters ({c['subcenters']})")
    if c["grids"] < c["workstations"]:
        raise err("city.grids", "fewer grids than workstations (each workstation needs one)",
                  f">= city.workstations ({c['workstations']})")
    if c["subcenters"] < len(divisions):
        raise err("city.subcenters", "fewer sub-centers than divisions (each division needs one)",
                  f">= {len(divisions)} (rows of {c['divisions_file']})")
    if s["police_units"] < s["police_units_min_per_subcenter"] * c["subcenters"]:
        raise err("staff.police_units", "fewer than the per-sub-center minimum allows",
                  f">= staff.police_units_min_per_subcenter x city.subcenters = "
                  f"{s['police_units_min_per_subcenter'] * c['subcenters']}")
    if data["run"]["warmup_hours"] >= 24 * data["run"]["days"]:
        raise err("run.warmup_hours", "warm-up covers the whole run", f"< run.days x 24 = {24 * data['run']['days']}")
    alloc = data["allocation"]
    units = {"division": len(divisions), "subcenter": c["subcenters"]}.get(alloc["per"])
    for role in ("fulltime_workers", "grid_leaders", "parttime_workers", "police_units"):
        values = alloc[role]
        key = f"allocation.{role}"
        if not values:
            continue
        if units is None:
            raise err(key, "a per-unit allocation needs allocation.per", "'division' or 'subcenter', or an empty list")
        if len(values) != units:
            raise err(key, f"has {len(values)} values for {units} {alloc['per']}s", f"exactly {units} values")
        if sum(values) != s[role]:
            raise err(key, f"sums to {sum(values)} but staff.{role} is {s[role]}", f"values summing to staff.{role}")
    cats, service = data["categories"], data["service"]
    for src in SOURCES:
        shares = [v["share"] for v in cats.values() if v["source"] == src]
        if not shares:
            raise ScenarioError(origin.get("categories", "<scenario>"), "categories",
                                f"no category has source '{src}'", "at least one category per source")
        total = math.fsum(shares)
        if abs(total - 1.0) > 1e-6:
            names = [k for k, v in cats.items() if v["source"] == src]
            # blame the share set last: a --set override, else the most derived file
            ranked = sorted(names, key=lambda n: _origin_rank(origin.get(f"categories.{n}.share", "")))
            name = ranked[-1]
            key = f"categories.{name}.share"
            raise ScenarioError(origin.get(key, "<scenario>"), key,
                                f"shares of source '{src}' categories ({', '.join(names)}) sum to {total:.6g}",
                                "shares that sum to 1 within 1e-6", cats[name]["share"], True)
    for name, cat in cats.items():
        if cat["source"] != "110":
            for key in ("support_prob", "cordon_prob"):
                if cat[key] != 0:
                    k = f"categories.{name}.{key}"
                    raise ScenarioError(origin.get(k, "<scenario>"), k, "regional support and cordons are police "
                                        "operations", "0 for categories whose source is not '110'", cat[key], True)
    for name in cats:
        if name not in service:
            raise ScenarioError(origin.get(f"categories.{name}.source", "<scenario>"), f"service.{name}",
                                f"category '{name}' has no service-time table",
                                f"a [service.{name}] table with family, mean_min, cv")
    for name in service:
        if name not in cats:
            raise ScenarioError(origin.get(f"service.{name}.family", "<scenario>"), f"service.{name}",
                                f"no category '{name}'", "service tables for the categories: " + ", ".join(cats))
    names = {d.name for d in divisions}
    for d in data["surge"]["divisions"]:
        if d not in names:
            close = difflib.get_close_matches(d, sorted(names), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(origin.get("surge.divisions", "<scenario>"), "surge.divisions",
                                f"unknown division '{d}'{hint}", ", ".join(sorted(names)), data["surge"]["divisions"], True)


def _origin_rank(label: str) -> int:
    if label == "--set":
        return 2
    return 0 if label.endswith(f"{BUILTIN_NAME}.toml") else 1


def _find_divisions_file(name: str, base_dir: Path | None) -> Path | None:
    candidates = [Path(name)]
    if base_dir is not None:
        candidates.append(base_dir / name)
    candidates.append(Path(str(resources.files("gridsim") / "data" / name)))
    for c in candidates:
        if c.exists():
            return c
    return None


def load_divisions(name: str, base_dir: Path | None, label: str) -> list[Division]:
    """Read the division table (CSV with '#' comment lines)."""
    path = _find_divisions_file(name, base_dir)
    key = "city.divisions_file"
    if path is None:
        raise ScenarioError(label, key, "division table not found",
                            "a CSV path, relative to the scenario file or a built-in table", name, True)
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [c for c in DIVISION_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ScenarioError(str(path), "", f"missing column '{missing[0]}'", "columns " + ", ".join(DIVISION_COLUMNS))
    out = []
    for i, row in enumerate(reader, start=2):
        try:
            d = Division(
                name=row["name"].strip(), area_km2=float(row["area_km2"]),
                land_area_km2=float(row["land_area_km2"]), towns=int(row["towns"]),
                streets=int(row["streets"]), population_2020=float(row["population_2020"]),
                ref_lat=float(row["ref_lat"]), ref_lon=float(row["ref_lon"]),
                population_estimated=row.get("population_estimated", "0").strip() == "1")
        except (ValueError, TypeError) as exc:
            raise ScenarioError(str(path), f"row {i}", f"bad value ({exc})",
                                "numbers in the numeric columns") from None
        if d.land_area_km2 <= 0 or d.population_2020 <= 0 or d.towns + d.streets <= 0:
            raise ScenarioError(str(path), f"row {i} ({d.name})", "area, population and towns + streets must be > 0")
        out.append(d)
    if not out:
        raise ScenarioError(str(path), "", "no divisions", "at least one data row")
    if len({d.name for d in out}) != len(out):
        raise ScenarioError(str(path), "name", "duplicate division names", "unique names")
    return out


def _finish(data: dict, label: str, origin: dict, base_dir: Path | None) -> Scenario:
    schema = _schema()
    for key in ("run", "city", "staff", "targets"):
        if key not in data:
            raise ScenarioError(label, key, "missing section", f"a [{key}] table (or extends = '{BUILTIN_NAME}')")
    _typecheck(data, schema, origin)
    missing = [k for k in _all_keys(schema) if _template_for(data, k.split(".")) is None
               and not any(k.startswith(t + ".") for t in OPEN_TABLES)]
    if missing:
        raise ScenarioError(label, missing[0], "missing key", f"set it (or extends = '{BUILTIN_NAME}')")
    _check_ranges(data, origin)
    div_label = origin.get("city.divisions_file", label)
    div_dir = Path(div_label).parent if Path(div_label).exists() else base_dir
    divisions = load_divisions(data["city"]["divisions_file"], div_dir, div_label)
    _check_consistency(data, origin, divisions)
    return Scenario(data=data, path=label, divisions=divisions, origin=origin)
