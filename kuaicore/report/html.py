"""Assemble the self-contained report page: inline CSS, PNGs embedded as base64 data URIs, HTML tables.

The page loads nothing from elsewhere (no scripts, fonts or links), so it opens offline; every value is
escaped. Pure string building: figures arrive as PNG bytes, tables as lists of cells.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from typing import Any

from kuaicore import __version__
from kuaicore.report.markdown import MarkdownCode, MarkdownTable

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: .3em 0; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
.note { color: #666; font-style: italic; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; font-size: .8em; }
nav a { margin-right: 1em; }
"""

HEADLINE = ("recall", "precision", "hit_rate", "mrr")  # comparison-table metrics at the smallest K
SECTIONS = (
    ("summary", "Dataset summary"),
    ("eda", "Exploratory data analysis"),
    ("training", "Training curves"),
    ("metrics", "Metrics@K"),
    ("comparison", "Model comparison"),
    ("benchmarks", "Benchmarks"),
)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure(png: bytes, alt: str, caption: str) -> str:
    """An <img> with the PNG inline as a data URI, plus its caption."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]], caption: str = "", css_id: str = "") -> str:
    """An HTML table with an optional caption and id."""
    ident = f' id="{esc(css_id)}"' if css_id else ""
    parts = [f"<table{ident}>"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


_NUMBER = re.compile(r"^[-+]?[\d,.]+(e[-+]?\d+)?(x|%)?( \[.*\])?$|^-$")


def _cell(value: Any) -> str:
    """A <td>; numbers (and '-') right-aligned, text left-aligned."""
    text = str(value)
    cls = ' class="num"' if _NUMBER.match(text) else ""
    return f"<td{cls}>{esc(text)}</td>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def fmt(x: Any, digits: int = 4) -> str:
    """A number for a table cell ('-' for missing)."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return "-" if x != x else f"{x:.{digits}f}"
    return str(x)


def comparison_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table: headline metrics at the smallest K, ndcg at every K,
    lift, fraction of oracle, coverage, and training time / peak memory when `compare` recorded them."""
    ks = sorted(int(k) for k in result.get("ks", []))
    k0 = ks[0] if ks else None
    rows = result["rows"]
    extra = [key for key in ("train_seconds", "peak_rss_mb") if any(key in r for r in rows)]
    header = ["model"]
    if k0 is not None:
        header += [
            f"ndcg@{k0} [95% CI]",
            *(f"ndcg@{k}" for k in ks[1:]),
            *(f"{m}@{k0}" for m in HEADLINE),
            f"lift (ndcg@{k0})",
            f"of oracle (ndcg@{k0})",
            f"coverage@{k0}",
        ]
    header += [{"train_seconds": "train s", "peak_rss_mb": "peak RSS MB"}[key] for key in extra]
    body = []
    for row in rows:
        m = row.get("metrics", {})
        cells = [str(row["name"])]
        if k0 is not None:
            h = m.get(f"ndcg@{k0}") or {}
            ci = f" [{fmt(h.get('lo'))}, {fmt(h.get('hi'))}]" if h.get("lo") is not None else ""
            cells.append(fmt(h.get("mean")) + ci)
            cells += [fmt((m.get(f"ndcg@{k}") or {}).get("mean")) for k in ks[1:]]
            cells += [fmt((m.get(f"{x}@{k0}") or {}).get("mean")) for x in HEADLINE]
            lift = (row.get("lift") or {}).get(f"ndcg@{k0}")
            frac = (row.get("fraction_of_oracle") or {}).get(f"ndcg@{k0}")
            cells += [
                f"{lift:.2f}x" if lift is not None else "-",
                f"{frac:.1%}" if frac is not None else "-",
                fmt((row.get("catalog") or {}).get(f"coverage@{k0}"), 3),
            ]
        cells += [fmt(row.get(key), 1) for key in extra]
        body.append(cells)
    return header, body


def benchmark_blocks(blocks: list[MarkdownTable | MarkdownCode]) -> str:
    """Markdown tables as HTML tables (ids benchmark-0, -1, ...) and code blocks as <pre>, under headings."""
    parts, title, n = [], None, 0
    for block in blocks:
        if block.title != title:
            title = block.title
            parts.append(f"<h3>{esc(title)}</h3>" if title else "")
        if isinstance(block, MarkdownTable):
            parts.append(table(block.header, block.rows, css_id=f"benchmark-{n}"))
            n += 1
        else:
            parts.append(f'<pre class="benchmark-output">{esc(block.text)}</pre>')
    return "".join(parts)


def page(title: str, subtitle: str, sections: dict[str, str]) -> str:
    """The whole document: a heading, a table of contents and one <section> per entry of SECTIONS."""
    nav = "".join(f'<a href="#{key}">{esc(name)}</a>' for key, name in SECTIONS)
    body = "".join(
        f'<section id="{key}"><h2>{esc(name)}</h2>{sections.get(key, "")}</section>' for key, name in SECTIONS
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p>{esc(subtitle)}</p><nav>{nav}</nav>{body}"
        f'<footer><p class="note">Generated by kuaicore {esc(__version__)}.</p></footer>'
        "</body></html>\n"
    )
