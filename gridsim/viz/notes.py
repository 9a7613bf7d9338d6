"""The comments of scenario files: what each key means and where its value comes from.

Scenario TOML files document every key with a comment (`source: ...` / `assumption: ...`),
inline after the key or as a block above it. Figures use a key's note as an axis label and
the report lists every note beside its value; both read them here.
"""

from __future__ import annotations

import functools
from pathlib import Path


def _comment_split(line: str) -> tuple[str, str]:
    """(code, comment) of a TOML line: the first '#' outside a string starts the comment."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i].rstrip(), line[i + 1:].strip()
        i += 1
    return line.rstrip(), ""


def _key_path(text: str) -> str:
    parts = []
    for p in text.split("."):
        p = p.strip()
        if len(p) >= 2 and p[0] == p[-1] and p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return ".".join(parts)


@functools.lru_cache(maxsize=32)
def parse_notes(text: str) -> tuple[dict[str, str], dict[str, str], str, frozenset]:
    """(inline comment per dotted key or section, block comment above a key or section, file header,
    the section headers present)."""
    inline: dict[str, str] = {}
    block: dict[str, str] = {}
    header = ""
    pending: list[str] = []
    section = ""
    seen_code = False
    depth = 0
    headers = set()
    for raw in text.splitlines():
        line = raw.strip()
        if depth > 0:                   # continuation of a multi-line array
            code, _ = _comment_split(line)
            depth += code.count("[") - code.count("]")
            continue
        if not line:
            if pending and not seen_code and not header:
                header = " ".join(pending)
            pending = []
            continue
        if line.startswith("#"):
            pending.append(line.lstrip("#").strip())
            continue
        code, comment = _comment_split(line)
        seen_code = True
        if code.startswith("["):
            section = _key_path(code.strip("[] "))
            headers.add(section)
            key = section
        elif "=" in code:
            k, _, v = code.partition("=")
            key = f"{section}.{_key_path(k)}" if section else _key_path(k)
            depth = max(0, v.count("[") - v.count("]"))
        else:
            pending = []
            continue
        if comment:
            inline[key] = comment
        if pending:
            block[key] = " ".join(pending)
        pending = []
    return inline, block, header, frozenset(headers)


def read_text(path: str | Path | None) -> str:
    """A file's text, or "" when it cannot be read (notes are a help, never a failure)."""
    if path is None:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def scenario_notes(path: str | Path) -> dict[str, str]:
    """Inline comments of a scenario file by dotted key (and by section for section headers)."""
    return dict(parse_notes(read_text(path))[0])


def scenario_block_notes(path: str | Path) -> dict[str, str]:
    """Comment blocks above keys or sections, by dotted key / section."""
    return dict(parse_notes(read_text(path))[1])
