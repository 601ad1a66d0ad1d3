"""`kuaicore report`: one self-contained HTML page (embedded PNG plots, HTML tables) describing an ART.

``write_report(art, out)`` gathers data (report.data, streamed statistics in report.eda), draws figures
(report.plots, matplotlib Agg), assembles the page (report.sections, report.html) and writes it atomically.
matplotlib is imported only when a report is written.
"""

from __future__ import annotations

from pathlib import Path

from kuaicore.errors import UsageError


def write_report(art: Path, out: Path, benchmarks: Path | None = None) -> Path:
    """Write the report of ``art`` to ``out`` (via a temporary file and rename); returns ``out``."""
    from kuaicore.atomic import atomic_file
    from kuaicore.progress import log
    from kuaicore.report.data import gather
    from kuaicore.report.sections import render

    out = Path(out)
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder, expected a file name like report.html")
    log(f"report: reading {art}")
    data = gather(Path(art), benchmarks)
    log(f"report: {len(data.runs)} run(s), {data.eda.rows:,} training rows; drawing figures")
    page = render(data)
    with atomic_file(out) as tmp:  # the one atomic writer (kuaicore.atomic)
        tmp.write_text(page, encoding="utf-8")
    log(f"report: wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return out
