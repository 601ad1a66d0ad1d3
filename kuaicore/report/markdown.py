"""The pipe tables of a markdown file (e.g. BENCHMARKS.md), each with the heading it sits under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kuaicore.errors import DataError


@dataclass(frozen=True)
class MarkdownTable:
    """A pipe table: the nearest heading above it, its header cells and its body rows."""

    title: str
    header: list[str]
    rows: list[list[str]]


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    parts, cur, i = [], "", 0
    while i < len(body):  # split on unescaped pipes
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur, i = cur + "|", i + 2
            continue
        if body[i] == "|":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += body[i]
        i += 1
    parts.append(cur.strip())
    return parts


def _is_separator(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(c and set(c) <= set("-: ") and "-" in c for c in cells)


def parse_markdown_tables(text: str) -> list[MarkdownTable]:
    """Every ``| a | b |`` table (header line, ``|---|`` line, rows) in ``text``, in order."""
    lines = text.splitlines()
    tables: list[MarkdownTable] = []
    title, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("#"):
            title = line.strip().lstrip("#").strip()
        if "|" in line and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                cells = _cells(lines[i])
                rows.append((cells + [""] * len(header))[: max(len(header), len(cells))])
                i += 1
            tables.append(MarkdownTable(title, header, rows))
            continue
        i += 1
    return tables


def read_markdown_tables(path: Path) -> list[MarkdownTable]:
    """The tables of a markdown file; DataError naming the file when it cannot be read."""
    try:
        return parse_markdown_tables(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: unreadable ({err})") from err
