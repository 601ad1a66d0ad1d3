"""Gather what the report shows from an ART: the manifest summary, each run's training log and metrics, the
comparison result (``ART/compare.json`` when `kuaicore compare` wrote one, else every run's ``metrics.json``
merged) and, optionally, the tables of a benchmarks markdown file. Reads files only; no plotting."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuaicore.art import layout
from kuaicore.art import read_manifest as art_manifest
from kuaicore.errors import ArtifactError, UsageError
from kuaicore.report.eda import EdaStats, compute_eda, label_balance
from kuaicore.report.markdown import MarkdownCode, MarkdownTable, read_markdown
from kuaicore.runs import list_runs

REFERENCES = ("random", "popularity", "most-viewed", "oracle")


@dataclass(frozen=True)
class RunInfo:
    """One run folder: its training log (one dict per epoch) and its evaluation result, when present."""

    name: str
    log: list[dict[str, Any]]
    metrics: dict[str, Any] | None


@dataclass(frozen=True)
class ReportData:
    """Everything the report renders."""

    art: Path
    manifest: dict[str, Any]
    splits: dict[str, tuple[int, int]]  # split -> (rows, positive rows)
    eda: EdaStats
    runs: list[RunInfo]
    comparison: dict[str, Any] | None  # a result dict: {"ks": [...], "rows": [...], ...}
    comparison_source: str
    benchmarks: list[MarkdownTable | MarkdownCode]
    benchmarks_path: Path | None


def read_json(path: Path) -> Any:
    """A JSON file, or ArtifactError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(f"{path}: unreadable JSON ({err})") from err


def read_manifest(art: Path) -> dict[str, Any]:
    """``ART/manifest.json`` with the keys the report uses (kuaicore.art.read_manifest)."""
    return art_manifest(art, required=("n_users", "n_items", "row_counts"))


def read_train_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a ``train_log.jsonl`` (empty if absent); ArtifactError naming the line if malformed."""
    if not path.is_file():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as err:
            raise ArtifactError(f"{path}: line {i}: not JSON ({err})") from err
        if not isinstance(entry, dict):
            raise ArtifactError(f"{path}: line {i}: expected a JSON object")
        out.append(entry)
    return out


def _check_result(path: Path, result: Any) -> dict[str, Any]:
    rows = result.get("rows") if isinstance(result, dict) else None
    ok = isinstance(rows, list) and all(isinstance(r, dict) and "name" in r and "metrics" in r for r in rows)
    if not ok:
        raise ArtifactError(f"{path}: expected an evaluation result with rows of {{name, metrics}}")
    return result


def read_runs(art: Path) -> list[RunInfo]:
    """Every complete run in ``ART/runs/``, sorted by name."""
    out = []
    for name in list_runs(art):
        folder = art / "runs" / name
        metrics_path = folder / "metrics.json"
        metrics = _check_result(metrics_path, read_json(metrics_path)) if metrics_path.is_file() else None
        out.append(RunInfo(name, read_train_log(folder / "train_log.jsonl"), metrics))
    return out


def merge_results(runs: list[RunInfo]) -> dict[str, Any] | None:
    """One result dict from every run's metrics.json: each run's model rows, then the reference rows once
    (from the first run that has them). Cut-offs are those every result shares."""
    results = [r.metrics for r in runs if r.metrics is not None]
    if not results:
        return None
    ks = [k for k in results[0].get("ks", []) if all(k in res.get("ks", []) for res in results)]
    rows, refs = [], {}
    for res in results:
        for row in res["rows"]:
            if row["name"] in REFERENCES:
                refs.setdefault(row["name"], row)
            else:
                rows.append(row)
    merged = {key: results[0].get(key) for key in ("protocol", "label", "threshold", "users_evaluated")}
    merged.update(ks=ks, rows=rows + [refs[n] for n in REFERENCES if n in refs])
    return merged


def gather(art: Path, benchmarks: Path | None = None) -> ReportData:
    """Read everything the report needs from ``art`` (and the optional benchmarks markdown file)."""
    art = Path(art)
    manifest = read_manifest(art)
    if benchmarks is not None and not Path(benchmarks).is_file():
        raise UsageError(f"--benchmarks {benchmarks}: no such file")
    splits = {}
    for split in layout.SPLITS:
        path = layout.split_path(art, split)
        if not path.is_file():
            raise ArtifactError(f"{path}: missing; rebuild the ART with `kuaicore build-features`")
        try:
            splits[split] = label_balance(path)
        except (OSError, ValueError, KeyError) as err:
            raise ArtifactError(f"{path}: unreadable ({err})") from err
    runs = read_runs(art)
    compare_path = art / layout.COMPARE
    if compare_path.is_file():
        comparison, source = _check_result(compare_path, read_json(compare_path)), "compare.json"
    else:
        comparison, source = merge_results(runs), "runs/*/metrics.json"
    return ReportData(
        art=art,
        manifest=manifest,
        splits=splits,
        eda=compute_eda(art, manifest),
        runs=runs,
        comparison=comparison,
        comparison_source=source,
        benchmarks=read_markdown(Path(benchmarks)) if benchmarks is not None else [],
        benchmarks_path=Path(benchmarks) if benchmarks is not None else None,
    )
