"""Render report.html in a real browser (headless Chromium) and check that every embedded image decoded
(non-zero natural size) and that the tables are there.

The report itself carries no script: a test-only wrapper page loads it in an iframe, inspects it on load and
writes the findings as JSON into its own DOM, which Chromium prints with --dump-dom. Skipped, with the reason,
when no Chromium binary is found (set KUAICORE_CHROMIUM to point at one).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import BENCH_MD, SECTIONS, make_art_with_runs

from kuaicore.report import write_report

pytestmark = pytest.mark.browser

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

WRAPPER = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="result">pending</pre>
<iframe id="report" src="report.html" width="1280" height="900"></iframe>
<script>
document.getElementById('report').addEventListener('load', function () {
  var out = document.getElementById('result');
  try {
    var doc = this.contentDocument;
    var images = Array.from(doc.images);
    out.textContent = JSON.stringify({
      images: images.map(function (i) { return [i.complete, i.naturalWidth, i.naturalHeight]; }),
      tables: Array.from(doc.querySelectorAll('table')).map(function (t) { return [t.id, t.rows.length]; }),
      headings: Array.from(doc.querySelectorAll('h2')).map(function (h) { return h.textContent; })
    });
  } catch (err) { out.textContent = 'error: ' + err; }
});
</script></body></html>
"""


def find_chromium() -> str | None:
    """A Chromium/Chrome binary: $KUAICORE_CHROMIUM, else the first known name on PATH."""
    env = os.environ.get("KUAICORE_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def render_in_chromium(binary: str, page: Path, profile: Path) -> dict:
    """Load ``page`` headless and return the JSON the wrapper wrote into its <pre id="result">."""
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--allow-file-access-from-files",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert proc.returncode == 0 and found, f"chromium failed (rc {proc.returncode}): {proc.stderr[-2000:]}"
    text = html.unescape(found.group(1))
    assert not text.startswith(("pending", "error")), f"the wrapper could not inspect the report: {text}"
    return json.loads(text)


def test_report_renders_in_headless_chromium(tiny_art, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            f"no Chromium binary found (tried $KUAICORE_CHROMIUM and {', '.join(CANDIDATES)} on"
            " PATH); install one, e.g. `apt-get install -y chromium`, to run the browser check"
        )
    art = make_art_with_runs(tiny_art, tmp_path / "art")
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "BENCHMARKS.md").write_text(BENCH_MD)
    write_report(art, site / "report.html", tmp_path / "BENCHMARKS.md")
    (site / "wrapper.html").write_text(WRAPPER)

    seen = render_in_chromium(binary, site / "wrapper.html", tmp_path / "profile")

    assert seen["headings"] == list(SECTIONS)
    assert len(seen["images"]) == 7
    for complete, width, height in seen["images"]:
        assert complete and width > 0 and height > 0, seen["images"]
    tables = dict(seen["tables"])
    for table_id in (
        "summary-facts",
        "summary-splits",
        "summary-sources",
        "training-last",
        "comparison",
        "benchmark-0",
        "benchmark-1",
    ):
        assert tables.get(table_id, 0) >= 2, (table_id, tables)  # a header row and at least one body row
    assert tables["comparison"] == 1 + 5  # header + two runs + random, popularity, oracle
