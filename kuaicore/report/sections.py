"""The report's sections as HTML fragments, built from a :class:`ReportData` (figures from plots, tables from
html)."""

from __future__ import annotations

from typing import Any

from kuaicore.report import html, plots
from kuaicore.report.data import REFERENCES, ReportData


def summary(data: ReportData) -> str:
    """Dataset summary from the manifest: rows, users, videos, duplicates, label rule and balance, sources."""
    m, rc = data.manifest, data.manifest.get("row_counts", {})
    facts = [
        ("users (dense indices)", html.fmt(int(m["n_users"]))),
        ("videos (dense indices)", html.fmt(int(m["n_items"]))),
        ("big_matrix rows read", html.fmt(rc.get("big_rows_in"))),
        ("duplicate rows dropped", html.fmt(rc.get("big_duplicates_dropped"))),
        ("big_matrix rows missing time", html.fmt(rc.get("big_rows_missing_time"))),
        ("big_matrix rows dropped (pair in small_matrix)", html.fmt(rc.get("big_rows_dropped_eval_pairs"))),
        ("small_matrix rows read", html.fmt(rc.get("small_rows_in"))),
        ("label rule", _label_rule(m)),
        ("target", html.fmt(m.get("target"))),
        ("validation split", html.fmt((m.get("split") or {}).get("rule"))),
    ]
    out = [html.table(["quantity", "value"], facts, caption="Artifact", css_id="summary-facts")]
    split_rows = []
    for split, (rows, pos) in data.splits.items():
        capped = rc.get(f"{split}_rows_capped")
        split_rows.append(
            [split, html.fmt(rows), html.fmt(pos), f"{pos / rows:.2%}" if rows else "-", html.fmt(capped)]
        )
    out.append(
        html.table(
            ["split", "rows", "label = 1", "positive share", "rows capped"],
            split_rows,
            caption="Rows and label balance per split",
            css_id="summary-splits",
        )
    )
    sources = [
        [name, html.fmt(s.get("bytes")), s.get("path", "")]
        for name, s in sorted((m.get("sources") or {}).items())
        if isinstance(s, dict)
    ]
    missing = m.get("optional_files_missing") or []
    if sources:
        out.append(
            html.table(["source file", "bytes", "path"], sources, caption="Sources", css_id="summary-sources")
        )
    if missing:
        out.append(html.note(f"optional files absent: {', '.join(missing)}"))
    versions = m.get("versions") or {}
    if versions:
        out.append(html.note("built with " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))))
    return "".join(out)


def _label_rule(manifest: dict[str, Any]) -> str:
    rule = manifest.get("label_rule")
    if isinstance(rule, dict):
        chosen = rule.get("label", "wr")
        text = rule.get(chosen)
        return f"{chosen}: {text.get('rule') if isinstance(text, dict) else text}"
    return html.fmt(rule)


def eda(data: ReportData) -> str:
    """The EDA figures: counts per user/video, watch-ratio distribution, watch ratio vs duration, tags."""
    e = data.eda
    parts = [
        html.figure(
            plots.interactions_per_entity(e.user_counts, e.item_counts),
            "interactions per user and video",
            "Training rows per user and per video (log-log histograms).",
        ),
        html.figure(
            plots.watch_ratio_distribution(e),
            "watch ratio distribution",
            "Watch ratio of training rows with the 0.8, 1 and 2 thresholds (2 is the 'like' rule).",
        ),
    ]
    if e.duration_edges is not None:
        parts.append(
            html.figure(
                plots.watch_ratio_vs_duration(e),
                "watch ratio vs duration",
                "Watch ratio by video duration: colour is the share of each duration bin's rows.",
            )
        )
    else:
        parts.append(html.note("no video durations in this ART: watch ratio vs duration not shown"))
    if e.tag_names:
        parts.append(
            html.figure(
                plots.tag_popularity(e.tag_names, e.tag_views),
                "per-tag popularity",
                "Training views per tag (item_features.npy tag columns).",
            )
        )
    else:
        parts.append(html.note("no tag columns in item_features.npy: per-tag popularity not shown"))
    return "".join(parts)


def training(data: ReportData) -> str:
    """Training curves (one figure, a line per run that logs losses) and the last epoch of each run."""
    logged = [(r.name, r.log) for r in data.runs if r.log]
    if not logged:
        return html.note("no run with a train_log.jsonl in ART/runs/")
    curves = [(n, log) for n, log in logged if any(k in e for e in log for k in plots.CURVE_KEYS)]
    rows = []
    for name, log in logged:
        last = log[-1]
        keys = ("epoch", "step", "loss", "valid_loss", "valid_ndcg", "recall")
        cells = [html.fmt(last.get(key)) for key in keys]
        seconds = sum(float(e.get("seconds") or 0.0) for e in log)
        rows.append([name, *cells, html.fmt(last.get("samples_per_s"), 0), html.fmt(seconds, 1)])
    parts = []
    if curves:
        parts.append(
            html.figure(
                plots.training_curves(curves),
                "training curves",
                "Training loss, validation loss, validation ndcg@10 (the evaluation"
                " protocol on valid.parquet, which picks the epoch) and validation recall"
                " per epoch, one line per run.",
            )
        )
    others = [n for n, _ in logged if n not in dict(curves)]
    if others:
        parts.append(html.note(f"no loss curves logged (one-pass or closed-form fits): {', '.join(others)}"))
    parts.append(
        html.table(
            [
                "run",
                "epoch",
                "step",
                "loss",
                "valid loss",
                "valid ndcg@10",
                "valid recall",
                "samples/s",
                "train s (sum over epochs)",
            ],
            rows,
            caption="Last logged epoch per run",
            css_id="training-last",
        )
    )
    return "".join(parts)


def metrics(data: ReportData) -> str:
    """One metrics@K figure per model row of the comparison (references drawn as bands)."""
    result = data.comparison
    if result is None:
        return html.note("no evaluation yet: run `kuaicore evaluate ART` (or `kuaicore compare ART`)")
    models = [r["name"] for r in result["rows"] if r["name"] not in REFERENCES]
    if not models:
        return html.note("the evaluation holds reference rows only")
    return "".join(
        html.figure(
            plots.metrics_at_k(result, name),
            f"metrics at K of {name}",
            f"{name}: mean metric@K with its bootstrap 95% CI; random, popularity and oracle as bands.",
        )
        for name in models
    )


def comparison(data: ReportData) -> str:
    """The comparison table (compare.json, else every run's metrics.json)."""
    result = data.comparison
    if result is None:
        return html.note("no evaluation yet: nothing to compare")
    header, rows = html.comparison_rows(result)
    info = (
        f"from {data.comparison_source}; protocol {result.get('protocol', '?')}, label "
        f"{result.get('label', '?')}, threshold {result.get('threshold', '?')}"
    )
    return html.table(header, rows, caption="Models and references", css_id="comparison") + html.note(info)


def benchmarks(data: ReportData) -> str:
    if data.benchmarks_path is None:
        return html.note("no benchmarks file given (use --benchmarks BENCHMARKS.md)")
    if not data.benchmarks:
        return html.note(f"{data.benchmarks_path}: no markdown tables or code blocks found")
    return html.note(f"from {data.benchmarks_path}") + html.benchmark_blocks(data.benchmarks)


def render(data: ReportData) -> str:
    """The whole report page."""
    sections = {
        "summary": summary(data),
        "eda": eda(data),
        "training": training(data),
        "metrics": metrics(data),
        "comparison": comparison(data),
        "benchmarks": benchmarks(data),
    }
    return html.page("kuaicore report", f"ART: {data.art}", sections)
