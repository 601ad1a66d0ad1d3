"""matplotlib figures of the report, each returned as PNG bytes (Agg canvas, no pyplot global state).

Every figure has a title, axis labels with units and a legend where there is more than one series. Inputs are
plain arrays and result dicts; nothing here reads files.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib import colors, ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kuaicore.report.eda import THRESHOLDS, WR_MAX, EdaStats, weighted_quantiles

REF_STYLE = {"random": "#7f7f7f", "popularity": "#ff7f0e", "most-viewed": "#8c564b", "oracle": "#2ca02c"}
MODEL_COLOR = "#1f77b4"
RUN_COLORS = ("#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e")
CURVE_KEYS = ("loss", "valid_loss", "valid_ndcg", "recall")
METRIC_PANELS = ("ndcg", "recall", "precision", "hit_rate")
DPI = 100
HEAT_MERGE = 4  # watch-ratio histogram bins merged per heat-map cell


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _plain_log_ticks(axis: Any) -> None:
    """Log-axis tick labels as plain numbers (1, 10, 100, and minor ticks when the range is short)."""
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))


def _log_hist(ax: Any, counts: np.ndarray, color: str, what: str) -> None:
    positive = counts[counts > 0]
    if positive.size == 0:
        ax.text(0.5, 0.5, "no training rows", ha="center", va="center", transform=ax.transAxes)
        return
    edges = np.unique(np.round(np.geomspace(1, positive.max() + 1, 40)))
    edges = edges if edges.size > 1 else np.array([1.0, 2.0])
    hist, _ = np.histogram(positive, bins=edges)
    ax.stairs(
        hist, edges, fill=True, color=color, alpha=0.75, label=f"{what} ({positive.size:,} with >= 1 row)"
    )
    ax.axvline(
        float(np.median(positive)),
        color="black",
        linestyle="--",
        label=f"median = {np.median(positive):,.0f} rows",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        _plain_log_ticks(axis)
    zero = int((counts == 0).sum())
    if zero:
        ax.plot([], [], " ", label=f"{zero:,} {what} with no training row (not shown)")
    ax.legend(loc="best", fontsize="small")


def interactions_per_entity(user_counts: np.ndarray, item_counts: np.ndarray) -> bytes:
    """Histograms (log-log) of training rows per user and per video."""
    fig = _figure(11, 4)
    left, right = fig.subplots(1, 2)
    _log_hist(left, user_counts, "#1f77b4", "users")
    left.set(
        title="Training interactions per user",
        xlabel="interactions per user (rows, log scale)",
        ylabel="number of users (log scale)",
    )
    _log_hist(right, item_counts, "#ff7f0e", "videos")
    right.set(
        title="Training interactions per video",
        xlabel="interactions per video (rows, log scale)",
        ylabel="number of videos (log scale)",
    )
    return _png(fig)


def watch_ratio_distribution(eda: EdaStats) -> bytes:
    """Histogram of training watch ratios with the 0.8 / 1 / 2 thresholds and the share of rows above each."""
    fig = _figure(10, 4.2)
    ax = fig.subplots()
    ax.stairs(eda.wr_hist, eda.wr_edges, fill=True, color="#1f77b4", alpha=0.7, label="training rows")
    for t, style in zip(THRESHOLDS, (":", "-.", "--"), strict=True):
        share = eda.wr_at_least[t] / max(eda.rows, 1)
        ax.axvline(
            t,
            color="#d62728",
            linestyle=style,
            label=f"watch ratio = {t:g} ({share:.1%} of rows at or above)",
        )
    ax.set_yscale("log")
    over = eda.wr_overflow / max(eda.rows, 1)
    ax.set(
        title=f"Watch-ratio distribution ({eda.rows:,} training rows; {over:.2%} above {WR_MAX:g} not shown)",
        xlabel="watch ratio (play duration / video duration, unitless)",
        ylabel="rows per bin (log scale)",
        xlim=(0, WR_MAX),
    )
    ax.legend(loc="upper right", fontsize="small")
    return _png(fig)


def watch_ratio_vs_duration(eda: EdaStats) -> bytes:
    """Per duration bin: the watch-ratio distribution (colour = share of the bin's rows), median and IQR."""
    assert eda.duration_edges is not None and eda.wr_by_duration is not None
    fig = _figure(10, 4.6)
    ax = fig.subplots()
    joint = eda.wr_by_duration.astype(np.float64)
    per_bin = joint.sum(axis=1, keepdims=True)
    coarse = joint[:, :-1].reshape(joint.shape[0], -1, HEAT_MERGE).sum(axis=2)  # 0.2-wide watch-ratio cells
    share = np.divide(coarse, per_bin, out=np.zeros_like(coarse), where=per_bin > 0)
    mesh = ax.pcolormesh(
        eda.duration_edges,
        eda.wr_edges[::HEAT_MERGE],
        share.T,
        cmap="viridis",
        norm=colors.PowerNorm(0.5, vmin=0.0),
        shading="flat",
    )
    fig.colorbar(mesh, ax=ax, label="share of the duration bin's rows (sqrt scale)")
    edges = np.append(eda.wr_edges, WR_MAX + (eda.wr_edges[1] - eda.wr_edges[0]))
    q = weighted_quantiles(edges, joint, (0.25, 0.5, 0.75))
    mid = np.sqrt(eda.duration_edges[:-1] * eda.duration_edges[1:])
    has = per_bin[:, 0] > 0
    ax.plot(mid[has], q[has, 1], color="white", marker="o", markersize=3, label="median watch ratio")
    ax.plot(mid[has], q[has, 0], color="white", linestyle=":", label="25th / 75th percentile")
    ax.plot(mid[has], q[has, 2], color="white", linestyle=":")
    for t in THRESHOLDS:
        ax.axhline(t, color="#d62728", linewidth=0.8, linestyle="--")
    ax.plot([], [], color="#d62728", linestyle="--", label="thresholds 0.8 / 1 / 2")
    ax.set_xscale("log")
    ax.set(
        title="Watch ratio vs video duration (training rows)",
        xlabel="video duration (seconds, log scale)",
        ylabel="watch ratio (unitless)",
        ylim=(0, WR_MAX),
    )
    ax.legend(loc="upper right", fontsize="small", facecolor="#444444", labelcolor="white")
    return _png(fig)


def tag_popularity(names: list[str], views: np.ndarray) -> bytes:
    """Horizontal bars: training views of the videos carrying each tag, most viewed first."""
    order = np.argsort(-views, kind="stable")
    fig = _figure(10, max(3.0, 0.22 * len(names) + 1.2))
    ax = fig.subplots()
    ax.barh(
        np.arange(len(names)), views[order], color="#1f77b4", label="training rows of videos with the tag"
    )
    ax.set_yticks(np.arange(len(names)), [names[i] for i in order], fontsize="small")
    ax.invert_yaxis()
    ax.set(
        title="Per-tag popularity (a video with several tags counts for each)",
        xlabel="training views (rows)",
        ylabel="tag",
    )
    ax.legend(loc="lower right", fontsize="small")
    return _png(fig)


def training_curves(runs: list[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """Training loss, validation loss, the validation score that picks the epoch (the evaluation protocol on
    valid.parquet: ndcg@10) and full-catalogue recall per epoch; one line per run."""
    panels = [
        ("loss", "Training loss", "mean training loss (loss units)"),
        ("valid_loss", "Validation loss", "validation loss (loss units)"),
        ("valid_ndcg", "Validation ndcg@10 (picks the epoch)", "ndcg@10 of held-out rows"),
        ("recall", "Validation recall@K", "recall@K (fraction of held-out positives)"),
    ]
    fig = _figure(17, 4)
    axes = fig.subplots(1, 4)
    for ax, (key, title, ylabel) in zip(axes, panels, strict=True):
        for i, (name, log) in enumerate(runs):
            pts = [
                (e.get("epoch", j + 1), e[key])
                for j, e in enumerate(log)
                if isinstance(e.get(key), int | float) and np.isfinite(e[key])
            ]
            if pts:
                x, y = zip(*pts, strict=True)
                ax.plot(x, y, marker="o", color=RUN_COLORS[i % len(RUN_COLORS)], label=name)
        ax.set(title=title, xlabel="epoch", ylabel=ylabel)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, f"no '{key}' in the logs", ha="center", va="center", transform=ax.transAxes)
    return _png(fig)


def _series(row: dict[str, Any], metric: str, ks: list[int]) -> tuple[np.ndarray, ...]:
    vals = [row["metrics"].get(f"{metric}@{k}") or {} for k in ks]
    get = lambda key: np.array([v.get(key) if v.get(key) is not None else np.nan for v in vals], float)  # noqa: E731
    return get("mean"), get("lo"), get("hi")


def metrics_at_k(result: dict[str, Any], model: str) -> bytes:
    """Metric@K curves of one model (line + 95% CI) beside the random/popularity/oracle bands."""
    ks = sorted(int(k) for k in result.get("ks", []))
    rows = {r["name"]: r for r in result["rows"]}
    present = [m for m in METRIC_PANELS if any(f"{m}@{k}" in rows[model]["metrics"] for k in ks)]
    present = present or [METRIC_PANELS[0]]
    fig = _figure(3.4 * len(present) + 1, 4)
    axes = np.atleast_1d(fig.subplots(1, len(present)))
    for ax, metric in zip(axes, present, strict=True):
        for ref, color in REF_STYLE.items():
            if ref in rows and ref != model:
                mean, lo, hi = _series(rows[ref], metric, ks)
                ax.fill_between(ks, lo, hi, color=color, alpha=0.2, linewidth=0)
                ax.plot(ks, mean, color=color, linestyle="--", label=f"{ref} (95% CI band)")
        mean, lo, hi = _series(rows[model], metric, ks)
        ax.fill_between(ks, lo, hi, color=MODEL_COLOR, alpha=0.25, linewidth=0)
        ax.plot(ks, mean, color=MODEL_COLOR, marker="o", linewidth=2, label=f"{model} (mean, 95% CI)")
        ax.set(title=f"{metric}@K", xlabel="K (list length, videos)", ylabel=f"{metric}@K (mean over users)")
        if len(ks) > 1:
            ax.set_xticks(ks)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small")
    fig.suptitle(f"Metrics@K of {model} ({result.get('protocol', '?')} protocol, shaded: bootstrap 95% CI)")
    return _png(fig)
