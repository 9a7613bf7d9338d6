"""The one way results reach the disk: atomic writes, and one JSON codec for summaries.

Atomic: data goes to a uniquely named temporary file beside the target (same directory, so
the rename cannot cross file systems), is flushed and fsync'ed, then renamed over the target.
A reader therefore sees the old file or the new one, never half of either, and a crash
leaves at most a hidden `.<name>.<pid>.<random>.tmp` file that `remove_stale_temporaries`
clears.

JSON: summaries hold floats that may be NaN (no value) or +-inf (a censored percentile). JSON
has neither, so NaN is written as null and +-inf as the strings "inf" / "-inf";
`decode_number` turns them back. Every reader and writer of summaries uses this codec.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

TMP_SUFFIX = ".tmp"


def _temporary_beside(path: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=path.parent)
    return fd, Path(name)


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to `path` atomically and durably."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Atomic write for libraries that want a file name (pandas/pyarrow, matplotlib):
    `writer(tmp_path)` writes the temporary file, which is then fsync'ed and renamed."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_parquet(df, path: str | Path) -> Path:
    """A DataFrame to Parquet (zstd), atomically."""
    return atomic_write_with(path, lambda tmp: df.to_parquet(tmp, index=False, compression="zstd"))


def remove_stale_temporaries(directory: str | Path) -> int:
    """Delete temporary files a killed writer left in `directory`; returns how many."""
    n = 0
    for p in Path(directory).glob(f".*{TMP_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


# --- the JSON codec -----------------------------------------------------------------------

def to_jsonable(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN to None, +-inf to "inf" / "-inf"."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return obj


def dumps(obj: Any, indent: int | None = 1) -> str:
    """Encode with the codec's NaN / inf convention (never emits bare NaN or Infinity)."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def loads(text: str) -> Any:
    return json.loads(text)


def decode_number(v: Any) -> float:
    """A summary value as a float: None -> NaN, "inf" / "-inf" -> +-inf, numbers as they are."""
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)
    return float(v)


def write_json(path: str | Path, obj: Any, indent: int | None = 1) -> Path:
    """Encode with the codec and write atomically."""
    return atomic_write(path, dumps(obj, indent=indent))


def read_json(path: str | Path) -> Any:
    return loads(Path(path).read_text(encoding="utf-8"))
