"""The one way results reach the disk: atomic writes, and one JSON codec for summaries.

Atomic: data goes to a uniquely named temporary file beside the target (same directory, so
the rename cannot cross file systems), is flushed and fsync'ed, then renamed over the target.
A reader therefore sees the old file or the new one, never half of either, and a crash
leaves at most a hidden `.<name>.<pid>.<random>.tmp` file that `remove_stale_temporaries`
clears.

Folders: a run folder is replaced as a whole (`staged_folder`): its new contents are written
into a uniquely named hidden sibling (`.<name>.<random>.partial`) and swapped in at the end
(one atomic exchange on Linux), so a reader, or a kill at any moment, sees the complete old
folder or the complete new one, never files of two runs. `folder_lock` (a hidden
`.<name>.lock` file beside the folder, flock'ed) keeps two writers out of one folder; the
next writer removes the siblings a killed one left.

JSON: summaries hold floats that may be NaN (no value) or +-inf (a censored percentile). JSON
has neither, so NaN is written as null and +-inf as the strings "inf" / "-inf";
`decode_number` turns them back. Every reader and writer of summaries uses this codec.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

TMP_SUFFIX = ".tmp"


PARTIAL_SUFFIX = ".partial"
PREVIOUS_SUFFIX = ".previous"
LOCK_SUFFIX = ".lock"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _temporary_beside(path: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)      # mkstemp's 0600 would make results unreadable to others
    return fd, Path(name)


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to `path` atomically and durably."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(payload))


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


# --- whole folders ------------------------------------------------------------------------

class FolderLocked(RuntimeError):
    """Another process is writing the folder right now."""


_held_locks: dict[Path, int] = {}


def lock_path(folder: str | Path) -> Path:
    """The hidden lock file beside `folder` (not inside it: the folder itself gets swapped)."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}{LOCK_SUFFIX}"


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold the exclusive write lock of `folder` (re-entrant within a process), or raise
    FolderLocked at once. The lock dies with its process, so a killed writer never blocks."""
    key = Path(os.path.abspath(folder))
    if key in _held_locks:
        _held_locks[key] += 1
        try:
            yield
        finally:
            _held_locks[key] -= 1
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path(key), "a")
    try:
        import fcntl
    except ImportError:          # not POSIX: no lock
        fcntl = None
    if fcntl is not None:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise FolderLocked(f"another gridsim process is writing {folder} right now") from None
    _held_locks[key] = 1
    try:
        yield
    finally:
        del _held_locks[key]
        fh.close()


def _siblings(folder: Path, suffix: str) -> list[Path]:
    """The hidden siblings `.<name>.<8 random chars><suffix>` (exactly: never another folder's)."""
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.[a-z0-9_]{{8}}{re.escape(suffix)}")
    if not folder.parent.is_dir():
        return []
    return [p for p in folder.parent.iterdir()
            if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]


def remove_stale_folders(folder: str | Path) -> int:
    """Clear what killed writers of `folder` left beside it (call while holding its lock): staging
    folders are deleted; a previous folder is put back if the swap was cut short, else deleted."""
    folder = Path(folder)
    n = 0
    for p in _siblings(folder, PARTIAL_SUFFIX):
        shutil.rmtree(p, ignore_errors=True)
        n += 1
    for p in _siblings(folder, PREVIOUS_SUFFIX):
        if not folder.exists():
            os.rename(p, folder)
        else:
            shutil.rmtree(p, ignore_errors=True)
        n += 1
    return n


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _swap_in(staging: Path, folder: Path) -> None:
    """Put the complete `staging` folder in place of `folder`; the old contents go."""
    _fsync_dir(staging)                  # its entries are on disk before it becomes the folder
    if not folder.exists():
        os.rename(staging, folder)
    elif _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)          # now holds the old folder
    else:    # two renames; a kill between them is undone by remove_stale_folders
        previous = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=PREVIOUS_SUFFIX, dir=folder.parent))
        os.rmdir(previous)
        os.rename(folder, previous)
        os.rename(staging, folder)
        shutil.rmtree(previous, ignore_errors=True)
    _fsync_dir(folder.parent)


@contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """Write a folder's new contents as a whole: yields an empty hidden sibling to write into,
    then swaps it in place of `folder` when the block ends without an exception (else it is
    removed and `folder` stays as it was). Holds the folder's lock throughout."""
    folder = Path(folder)
    with folder_lock(folder):
        remove_stale_folders(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=PARTIAL_SUFFIX, dir=folder.parent))
        try:
            os.chmod(staging, 0o777 & ~_UMASK)
            yield staging
            _swap_in(staging, folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


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
