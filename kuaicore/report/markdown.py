"""The pipe tables and fenced code blocks of a markdown file (e.g. BENCHMARKS.md), each with the heading it
sits under, in document order. Benchmarks print aligned text tables, which BENCHMARKS.md keeps in code
fences."""

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


@dataclass(frozen=True)
class MarkdownCode:
    """A fenced code block (``` ... ```): the nearest heading above it and its text."""

    title: str
    text: str


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


def parse_markdown(text: str) -> list[MarkdownTable | MarkdownCode]:
    """Every pipe table (header line, ``|---|`` line, rows) and fenced code block in ``text``, in order."""
    lines = text.splitlines()
    blocks: list[MarkdownTable | MarkdownCode] = []
    title, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            fence = line.lstrip()[:3]
            closing = (j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith(fence))
            end = next(closing, len(lines))
            blocks.append(MarkdownCode(title, "\n".join(lines[i + 1 : end])))
            i = end + 1
            continue
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
            blocks.append(MarkdownTable(title, header, rows))
            continue
        i += 1
    return blocks


def parse_markdown_tables(text: str) -> list[MarkdownTable]:
    """The pipe tables of ``text`` (not those inside code fences), in order."""
    return [b for b in parse_markdown(text) if isinstance(b, MarkdownTable)]


def read_markdown(path: Path) -> list[MarkdownTable | MarkdownCode]:
    """The tables and code blocks of a markdown file; DataError naming the file when it cannot be read."""
    try:
        return parse_markdown(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: unreadable ({err})") from err
