"""Turn per-user metric arrays into the rows of an evaluation table.

Means over evaluated users, bootstrap 95% CIs (seeded, the same resampled users for every metric of a row),
lift over ``random`` and fraction of ``oracle``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kuaicore.kernels.bootstrap import bootstrap_ci
from kuaicore.kernels.metrics import ranking_metrics

DEFINITIONS = {
    "precision@K": "|L∩R| / K",
    "recall@K": "|L∩R| / |R|",
    "hit_rate@K": "[|L∩R| > 0]",
    "mrr@K": "1 / rank of the first hit in L (0 if none)",
    "map@K": "(1 / min(|R|, K)) * sum_i rel_i * precision@i",
    "ndcg@K": "DCG/IDCG, DCG = sum_i rel_i / log2(i + 1), IDCG from min(|R|, K) hits",
    "ndcg_graded@K": "DCG/IDCG with gain min(watch_ratio, cap) of L_i; IDCG from the user's best ordering",
    "seed_overlap@K": "|L ∩ the user's K most-watched small-matrix videos| / K (the seeds' protocol)",
    "coverage@K": "share of the catalog recommended to at least one evaluated user",
    "mean_popularity@K": "mean training views of the recommended videos",
    "users": "each metric is the mean over evaluated users; users without a relevant video are skipped",
    "ci": "percentile bootstrap 95% interval over users",
}


def per_user_metrics(ranked, ks, rel, gain_csr) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-user metrics {name: [n, len(ks)]} and |R| per user, from the kernels."""
    out = ranking_metrics(ranked, ks, rel[0], rel[1], *gain_csr)
    n_rel = out.pop("n_relevant")
    return out, n_rel


def summarize(
    name: str, metrics: dict[str, np.ndarray], keep: np.ndarray, ks: list[int], n_boot: int, seed: int
) -> dict[str, Any]:
    """One table row: ``{metric@K: {"mean", "lo", "hi"}}`` over the users in ``keep``."""
    names = sorted(metrics)
    stacked = np.concatenate([metrics[m][keep] for m in names], axis=1)  # [n_kept, n_metrics * n_ks]
    means = stacked.mean(axis=0) if stacked.shape[0] else np.full(stacked.shape[1], np.nan)
    if stacked.shape[0] and n_boot > 0:
        lo, hi = bootstrap_ci(stacked, n_boot=n_boot, seed=seed)
    else:
        lo = hi = np.full(stacked.shape[1], np.nan)
    values: dict[str, dict[str, float]] = {}
    col = 0
    for m in names:
        for k in ks:
            values[f"{m}@{k}"] = {"mean": float(means[col]), "lo": float(lo[col]), "hi": float(hi[col])}
            col += 1
    return {"name": name, "metrics": values}


def add_relative(rows: list[dict[str, Any]]) -> None:
    """Add ``lift`` (model / random) and ``fraction_of_oracle`` (model / oracle) to each row, per metric."""
    by_name = {r["name"]: r for r in rows}
    for row in rows:
        for ref, key in (("random", "lift"), ("oracle", "fraction_of_oracle")):
            base = by_name.get(ref)
            if base is None:
                continue
            row[key] = {
                m: (v["mean"] / base["metrics"][m]["mean"]) if base["metrics"][m]["mean"] > 0 else None
                for m, v in row["metrics"].items()
            }


def format_table(result: dict[str, Any], k: int, headline: str) -> str:
    """An aligned text table at cut-off ``k``: one line per row, mean and CI of the headline metric."""
    cols = ["ndcg", "ndcg_graded", "precision", "recall", "map", "mrr", "hit_rate", "seed_overlap"]
    present = [c for c in cols if f"{c}@{k}" in result["rows"][0]["metrics"]]
    head = [
        "model",
        f"{headline}@{k} [95% CI]",
        *(f"{c}@{k}" for c in present if c != headline),
        "lift",
        "of oracle",
    ]
    lines = []
    for row in result["rows"]:
        m = row["metrics"]
        h = m[f"{headline}@{k}"]
        cells = [row["name"], f"{h['mean']:.4f} [{h['lo']:.4f}, {h['hi']:.4f}]"]
        cells += [f"{m[f'{c}@{k}']['mean']:.4f}" for c in present if c != headline]
        lift = row.get("lift", {}).get(f"{headline}@{k}")
        frac = row.get("fraction_of_oracle", {}).get(f"{headline}@{k}")
        cells += [f"{lift:.2f}x" if lift is not None else "-", f"{frac:.1%}" if frac is not None else "-"]
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*cells) for cells in lines]
    return "\n".join(out)
