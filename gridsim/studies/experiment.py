"""Experiment files: parse and validate one into an `Experiment` (its variants, resolved).

An experiment file (TOML) names a base scenario, the variants to compare (a full grid of
`[factors]` or explicit `[[variants]]`), the replications and days, and the metrics to keep
in the summary. `load_experiment` reads it in small steps (read, header, metrics, common
overrides, variant specs, resolved variants, factor columns, fingerprint), each raising a
one-line `ScenarioError` (file, key, value, what is allowed) before anything runs.

The rest of a batch lives beside this module: `studies.runs` (one run in a worker),
`studies.store` (the resumable results store), `studies.summary` (mean and paired CIs),
`studies.batch` (a whole batch); the executors in `studies.executors`.

Common random numbers: run (variant v, replication r) is `simulate(scenario_v, replication=r,
seed=root_seed)`, and `simulate` draws every stream from `SeedSequence(root_seed,
spawn_key=(r, k))` (k = stream number, see `gridsim.engine.model.STREAMS`), so replication r of every
variant sees the same calls, and the differences between variants are paired.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import hashlib
import itertools
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from gridsim.scenario import BUILTIN_NAME, Scenario, ScenarioError, builtin_path, load_scenario
from gridsim.scenario.load import _parse_override as parse_override
from gridsim.studies.columns import (DEFAULT_METRICS, DIVISION_BASES, DIVISION_SEP, METRIC_NAMES, metric_help,
                                     split_division_metric)

EXPERIMENT_KEYS = ("name", "description", "base", "replications", "days", "seed", "metrics", "set",
                   "factors", "variants")
VARIANT_KEYS = ("name", "description", "scenario", "set")
RESERVED_KEYS = ("run.seed", "run.days")        # set by the experiment's `seed` and `days`
MAX_RUNS = 10_000
"""More runs than this need an explicit limit (`max_runs`, `gridsim batch --max-runs`): a typo such
as `replications = 100000000` is refused at once instead of planning for minutes."""
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.,=+-]*$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.,=+-]")


# --------------------------------------------------------------------------- the spec

@dataclass
class Variant:
    """One scenario of the experiment: its name, resolved scenario and factor values."""

    name: str
    scenario: Scenario
    overrides: dict[str, Any] = field(default_factory=dict)   # dotted key -> value, as written
    factors: dict[str, Any] = field(default_factory=dict)     # factor key -> resolved value
    scenario_ref: str | None = None                            # `scenario = "..."` of the variant


@dataclass
class Experiment:
    """A parsed, validated experiment file."""

    name: str
    path: str
    text: str
    description: str
    base_ref: str
    base: Scenario
    variants: list[Variant]
    replications: int
    days: int
    seed: int
    metrics: list[str]              # concrete metric names kept in the summary
    factor_keys: list[str]          # dotted keys with one runs.parquet column each
    fingerprint: str
    cli_overrides: dict[str, Any] = field(default_factory=dict)   # --set KEY=VALUE, applied to every variant

    @property
    def baseline(self) -> Variant:
        return self.variants[0]

    @property
    def n_runs(self) -> int:
        return len(self.variants) * self.replications

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


def default_out_dir(exp: Experiment) -> Path:
    """Where a batch keeps its store unless told otherwise: results/<experiment name>/."""
    return Path("results") / exp.name


# --------------------------------------------------------------------------- checks

def _err(path: str, key: str, problem: str, allowed: str = "", value: Any = None, has_value: bool = False
         ) -> ScenarioError:
    return ScenarioError(path, key, problem, allowed, value, has_value)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables to dotted keys: `staff.fulltime_workers = 1` and `"staff.fulltime_workers" = 1`
    mean the same."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check_int(path: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(path, key, "wrong type", f"an integer >= {minimum}", value, True)
    if value < minimum:
        raise _err(path, key, "out of range", f"an integer >= {minimum}", value, True)
    return value


def _check_str(path: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err(path, key, "wrong type", "a non-empty string", value, True)
    return value


def _check_table(path: str, key: str, value: Any) -> dict[str, Any]:
    """A table of overrides or factors, flattened to dotted keys."""
    if not isinstance(value, dict):
        raise _err(path, key, "should be a table", "a table of dotted scenario keys = values", value, True)
    return _flatten(value)


def _check_name(path: str, key: str, name: Any) -> str:
    _check_str(path, key, name)
    if not _SAFE_NAME.match(name) or ".." in name or len(name) > 120:
        raise _err(path, key, "not usable as a directory name", "letters, digits and _ . , = + - "
                   "(starting with a letter or digit, at most 120 characters)", name, True)
    return name


def _check_keys(path: str, table: dict, allowed: tuple[str, ...], where: str = "") -> None:
    for key, value in table.items():
        if key not in allowed:
            raise _unknown(path, f"{where}{key}", allowed, value)


def _unknown(path: str, key: str, allowed: Iterable[str], value: Any) -> ScenarioError:
    allowed = list(allowed)
    close = difflib.get_close_matches(key.split(".")[-1], allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return _err(path, key, f"unknown key{hint}", ", ".join(allowed), value, True)


def _check_reserved(path: str, where: str, overrides: dict) -> None:
    for key in overrides:
        if key in RESERVED_KEYS:
            own = key.split(".")[1]
            raise _err(path, f"{where}.{key}", f"{key} is set by the experiment's `{own}`",
                       f"`{own} = ...` at the top of the experiment file", overrides[key], True)


def _resolve_ref(ref: Any, exp_dir: Path, path: str, key: str) -> Scenario:
    """A scenario named in an experiment file: a path relative to the file, or a built-in name."""
    _check_str(path, key, ref)
    candidates = [exp_dir / ref]
    if not ref.endswith(".toml"):
        candidates.append(exp_dir / f"{ref}.toml")
    for cand in candidates:
        if cand.is_file():
            return load_scenario(os.path.normpath(cand))
    if not ref.endswith(".toml") and "/" not in ref and builtin_path(ref).exists():
        return load_scenario(ref)
    if Path(ref).is_absolute() and Path(ref).is_file():
        return load_scenario(ref)
    raise _err(path, key, "no such scenario", f"a .toml path relative to {path}, or a built-in name "
               f"('{BUILTIN_NAME}')", ref, True)


# --------------------------------------------------------------------------- parsing steps

@dataclass
class _File:
    """The experiment file being parsed: its label for messages, directory, text and TOML table."""

    label: str
    path: Path
    text: str
    raw: dict[str, Any]

    @property
    def dir(self) -> Path:
        return self.path.parent


@dataclass
class _Spec:
    """A variant before it is resolved: overrides to apply to a starting scenario."""

    name: str
    overrides: dict[str, Any]
    ref: str | None
    start: Scenario


def _read(path: str | Path) -> _File:
    """Read and parse the TOML; unknown top-level keys fail here."""
    label, p = str(path), Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _err(label, "", "file not found", "a path to an experiment .toml file "
                   "(e.g. experiments/staffing_sweep.toml)") from None
    except OSError as exc:
        raise _err(label, "", f"cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise _err(label, "", "not UTF-8 text", "a TOML experiment file saved as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(label, "", f"not valid TOML ({exc})") from None
    _check_keys(label, raw, EXPERIMENT_KEYS)
    return _File(label, p, text, raw)


def _parse_metrics(f: _File, divisions: list[str]) -> list[str]:
    """`metrics`: names and glob patterns, to concrete metric names in first-seen order;
    `<stage>.<field>@<division>` names and patterns refer to the variants' division tables."""
    metrics_raw = f.raw.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics_raw, list) or not metrics_raw or not all(isinstance(m, str) for m in metrics_raw):
        raise _err(f.label, "metrics", "wrong type", "a non-empty list of metric names such as "
                   "'on_scene.share', 'util.police', or patterns like '*.share'", metrics_raw, True)
    metrics: list[str] = []
    for m in metrics_raw:
        names = _division_names(f.label, m, metrics_raw, divisions) if DIVISION_SEP in m else METRIC_NAMES
        metrics += [h for h in _metric_matches(f.label, m, metrics_raw, names) if h not in metrics]
    return metrics


def _division_names(label: str, m: str, metrics_raw: list, divisions: list[str]) -> list[str]:
    """The per-division metric names a `<stage>.<field>@<division>` entry may match."""
    base, division = split_division_metric(m)
    if not any(c in division for c in "*?[") and division not in divisions:
        close = difflib.get_close_matches(division, divisions, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise _err(label, "metrics", f"'{m}': no division '{division}' in the division table{hint}",
                   "one of " + ", ".join(divisions), metrics_raw, True)
    return [f"{b}{DIVISION_SEP}{d}" for d in divisions for b in DIVISION_BASES]


def _metric_matches(label: str, m: str, metrics_raw: list, names: Iterable[str] = METRIC_NAMES) -> list[str]:
    names = list(names)
    if any(c in m for c in "*?["):
        hits = [n for n in names if fnmatch.fnmatchcase(n, m)]
        if not hits:
            raise _err(label, "metrics", f"pattern '{m}' matches no metric", metric_help(), metrics_raw, True)
        return _division_order(hits)
    if m in names:
        return [m]
    close = difflib.get_close_matches(m, names, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise _err(label, "metrics", f"unknown metric '{m}'{hint}", metric_help(), metrics_raw, True)


def _division_order(hits: list[str]) -> list[str]:
    """Pattern hits with per-division metrics grouped by metric, divisions in table order."""
    if not any(DIVISION_SEP in h for h in hits):
        return hits
    bases = list(dict.fromkeys(h.partition(DIVISION_SEP)[0] for h in hits))
    return [h for b in bases for h in hits if h.partition(DIVISION_SEP)[0] == b]


def _factor_specs(f: _File, base: Scenario) -> tuple[list[_Spec], list[str]]:
    """`[factors]`: the full grid of factor values, one unnamed spec per combination."""
    factors = _check_table(f.label, "factors", f.raw["factors"])
    if not factors:
        raise _err(f.label, "factors", "empty table", "dotted scenario keys = lists of values, "
                   "e.g. \"staff.fulltime_workers\" = [4658, 9316]")
    _check_reserved(f.label, "factors", factors)
    for key, values in factors.items():
        if not isinstance(values, list) or not values:
            raise _err(f.label, f"factors.{key}", "wrong type", "a non-empty list of values to try", values, True)
        if any(a == b for a, b in itertools.combinations(values, 2)):
            raise _err(f.label, f"factors.{key}", "repeated value", "distinct values", values, True)
    keys = list(factors)
    specs = [_Spec("", dict(zip(keys, combo)), None, base) for combo in itertools.product(*factors.values())]
    return specs, keys


def _variant_specs(f: _File, base: Scenario, common: dict, set_origin: str) -> list[_Spec]:
    """`[[variants]]`: named variants, each with overrides and optionally its own scenario."""
    variants_raw = f.raw["variants"]
    if not isinstance(variants_raw, list) or not variants_raw or not all(isinstance(v, dict) for v in variants_raw):
        raise _err(f.label, "variants", "wrong type", "one or more [[variants]] tables, each with a name "
                   "and a [variants.set] table of overrides or a scenario", None)
    specs: list[_Spec] = []
    for i, v in enumerate(variants_raw):
        specs.append(_variant_spec(f, v, f"variants[{i}]", {s.name for s in specs}, base, common, set_origin))
    return specs


def _variant_spec(f: _File, v: dict, where: str, taken: set[str], base: Scenario, common: dict,
                  set_origin: str) -> _Spec:
    _check_keys(f.label, v, VARIANT_KEYS, f"{where}.")
    if "name" not in v:
        raise _err(f.label, f"{where}.name", "missing key", "a name for the variant (used in results)")
    name = _check_name(f.label, f"{where}.name", v["name"])
    if name in taken:
        raise _err(f.label, f"{where}.name", "duplicate variant name", "unique names", name, True)
    overrides = _check_table(f.label, f"{where}.set", v.get("set", {}))
    _check_reserved(f.label, f"{where}.set", overrides)
    if "scenario" not in v:
        return _Spec(name, overrides, None, base)
    start = _resolve_ref(v["scenario"], f.dir, f.label, f"{where}.scenario")
    if common:
        start = start.copy_with(common, origin=set_origin, folder=f.dir)
    return _Spec(name, overrides, v["scenario"], start)


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, tuple)):
        return "+".join(_format_value(x) for x in v) or "none"
    return str(v)


def _grid_names(keys: list[str], combos: list[tuple]) -> list[str]:
    """Readable variant names for factor combinations: `fulltime_workers=4658,police_units=900`."""
    short = [k.split(".")[-1] for k in keys]
    labels = [s if short.count(s) == 1 else k for s, k in zip(short, keys)]
    return [_UNSAFE_CHARS.sub("_", ",".join(f"{lab}={_format_value(v)}" for lab, v in zip(labels, combo)))
            for combo in combos]


def _name_grid(label: str, specs: list[_Spec], factor_keys: list[str]) -> None:
    """Name the factor-grid variants after their values; two that format alike are an error."""
    names = _grid_names(factor_keys, [tuple(s.overrides.values()) for s in specs])
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _err(label, "factors", f"two variants would share the name '{dup}'", "factor values that "
                   "differ after formatting")
    for spec, name in zip(specs, names):
        spec.name = name


def _resolve(f: _File, exp_name: str, specs: list[_Spec], from_grid: bool, days: int, seed: int,
             cli: dict[str, Any]) -> list[Variant]:
    """Each spec's scenario: start + its overrides + the command line's --set, then the
    experiment's days, seed and name."""
    run_set = {"run.days": days, "run.seed": seed}
    variants = []
    for s in specs:
        origin = f"{f.label} [factors]" if from_grid else f"{f.label} [[variants]] '{s.name}'"
        scen = s.start.copy_with(s.overrides, origin=origin, folder=f.dir) if s.overrides else s.start
        scen = scen.copy_with(cli, origin="--set", folder=Path.cwd()) if cli else scen
        scen = scen.copy_with({**run_set, "name": f"{exp_name}.{s.name}"}, origin=f"{f.label} days/seed",
                              folder=f.dir)
        variants.append(Variant(name=s.name, scenario=scen, overrides=s.overrides, scenario_ref=s.ref))
    return variants


def _leaf_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two scenario data trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            out += _leaf_diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


def _explicit_factor_keys(base: Scenario, variants: list[Variant]) -> list[str]:
    """Explicit variants: a column for every key a variant sets or its own scenario changes."""
    keys: list[str] = []
    for v in variants:
        for k in list(v.overrides) + (_leaf_diff(base.data, v.scenario.data) if v.scenario_ref else []):
            if k not in keys and k not in ("name", "description", "extends") and k not in RESERVED_KEYS:
                keys.append(k)
    return keys


def _get(scenario: Scenario, key: str) -> Any:
    try:
        return copy.deepcopy(scenario.get(key))
    except (KeyError, TypeError):
        return None


def _fingerprint(text: str, base: Scenario, variants: list[Variant]) -> str:
    """Hash of the file and every resolved scenario, data files included (`Scenario.fingerprint`
    covers the bytes of the division table it read): a store made from anything else is refused."""
    h = hashlib.sha256()
    h.update(text.encode("utf-8"))
    for part in [base.fingerprint()] + [f"{v.name}\n{v.scenario.fingerprint()}" for v in variants]:
        h.update(b"\0" + part.encode("utf-8"))
    return h.hexdigest()


# --------------------------------------------------------------------------- loading

def _cli_overrides(label: str, texts: list[str] | None) -> dict[str, Any]:
    """--set KEY=VALUE of `gridsim batch`: typed like the scenario's --set; not run.days/run.seed."""
    out = dict(parse_override(t) for t in (texts or []))
    for key, value in out.items():
        if key in RESERVED_KEYS:
            flag = "--days N" if key == "run.days" else f"`seed = ...` in {label}"
            raise _err("--set", key, f"{key} of a batch is the experiment's", flag, value, True)
    return out


def _check_cli_keys(label: str, cli: dict[str, Any], factor_keys: list[str], specs: list[_Spec]) -> None:
    """A --set key the experiment varies would make its variants alike under different names."""
    for key, value in cli.items():
        if key in factor_keys or any(key in s.overrides for s in specs):
            raise _err("--set", key, f"the experiment varies this key ({label})",
                       "keys the experiment does not vary; to change its values edit the experiment file",
                       value, True)


def _check_size(label: str, n_variants: int, replications: int, max_runs: int | None) -> None:
    """Refuse an experiment larger than max_runs before planning any of it."""
    runs = n_variants * replications
    if max_runs is not None and runs > max_runs:
        raise _err(label, "replications", f"{n_variants:,} variant(s) x {replications:,} replication(s) = "
                   f"{runs:,} runs, more than the limit of {max_runs:,}",
                   "fewer replications or variants, or --max-runs N to allow more", replications, True)


def _n_variants(f: _File) -> int:
    """How many variants the file asks for, counted before any is built (a factor grid multiplies)."""
    if "factors" in f.raw and isinstance(f.raw["factors"], dict):
        return math.prod(len(v) if isinstance(v, list) else 1 for v in _flatten(f.raw["factors"]).values())
    if "variants" in f.raw and isinstance(f.raw["variants"], list):
        return len(f.raw["variants"])
    return 1


def load_experiment(path: str | Path, overrides: list[str] | None = None, days: int | None = None,
                    replications: int | None = None, max_runs: int | None = MAX_RUNS) -> Experiment:
    """Read and validate an experiment file; every variant's scenario is resolved and validated.

    `overrides` ("KEY=VALUE", like --set), `days` and `replications` are the command line's and
    win over the file: the overrides apply to every variant (and so enter its fingerprint);
    more replications extend a store, since replication r is the same run whatever their number.
    An experiment of more than `max_runs` runs is refused before anything is planned.
    Raises ScenarioError (file, key, value, what is allowed) on any bad input, before anything runs.
    """
    f = _read(path)
    raw, label = f.raw, f.label
    cli = _cli_overrides(label, overrides)
    name = _check_name(label, "name", raw.get("name", f.path.stem))
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _err(label, "description", "wrong type", "a string", description, True)
    base_ref = raw.get("base", BUILTIN_NAME)
    base = _resolve_ref(base_ref, f.dir, label, "base")
    if "replications" not in raw and replications is None:
        raise _err(label, "replications", "missing key", "an integer >= 1 (runs per variant, paired by seed)")
    replications = _check_int(label, "replications", raw.get("replications"), 1) if replications is None \
        else _check_int("--replications", "", replications, 1)
    days = _check_int(label, "days", raw.get("days", base.run.days), 1) if days is None \
        else _check_int("--days", "", days, 1)
    seed = _check_int(label, "seed", raw.get("seed", base.run.seed), 0)
    _check_size(label, _n_variants(f), replications, max_runs)

    common = _check_table(label, "set", raw.get("set", {}))
    _check_reserved(label, "set", common)
    set_origin = f"{label} [set]"
    # the experiment's days and seed go in with [set], so [set] is judged against the run it is for
    # (a surge on day 2 of a 2-day experiment is valid even when the base scenario runs one day)
    common = {"run.days": days, "run.seed": seed, **common}
    base = base.copy_with(common, origin=set_origin, folder=f.dir)

    if "factors" in raw and "variants" in raw:
        raise _err(label, "factors", "an experiment has either [factors] (a full grid) or [[variants]] "
                   "(named variants), not both", "one of the two")
    factor_keys: list[str] = []
    if "factors" in raw:
        specs, factor_keys = _factor_specs(f, base)
        _name_grid(label, specs, factor_keys)
    elif "variants" in raw:
        specs = _variant_specs(f, base, common, set_origin)
    else:
        specs = [_Spec("base", {}, None, base)]
    _check_cli_keys(label, cli, factor_keys, specs)
    variants = _resolve(f, name, specs, "factors" in raw, days, seed, cli)
    base = base.copy_with(cli, origin="--set", folder=Path.cwd()) if cli else base
    if "factors" not in raw:
        factor_keys = _explicit_factor_keys(base, variants)
    for v in variants:
        v.factors = {k: _get(v.scenario, k) for k in factor_keys}
    divisions = list(dict.fromkeys(d.name for v in variants for d in v.scenario.divisions))
    metrics = _parse_metrics(f, divisions)
    return Experiment(name=name, path=label, text=f.text, description=description, base_ref=str(base_ref),
                      base=base, variants=variants, replications=replications, days=days, seed=seed,
                      metrics=metrics, factor_keys=factor_keys, fingerprint=_fingerprint(f.text, base, variants),
                      cli_overrides=cli)
