"""The twin's watch-ratio statistics in seconds, from the generator's own arrays (no CSV, no DuckDB).

    python benchmarks/diag_twin_watch_ratios.py                    # world mixed, seed 0, 4 chunks of users
    python benchmarks/diag_twin_watch_ratios.py --world content --seed 2 --chunks 8

Runs the first ``--chunks`` chunks of `big_chunks` (256 users each at full size: ~1.8M rows for 4) and the
first chunk of `small_chunks` at full size, then prints the watch-ratio and play-duration rows of
bench_fidelity (same definitions, same tolerances) and the share of rows with watch_ratio >= 2 in every
length decile of big_matrix's rows. A quick loop for tuning the observation model of
:mod:`kuaicore.data.synth.truth` (BENCHMARKS.md "Third calibration: the length deciles"); the verdicts of
record come from bench_fidelity over the written files.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from kuaicore.config import WORLDS
from kuaicore.data.synth import interactions, truth
from kuaicore.data.synth.fidelity import TOLERANCE
from kuaicore.data.synth.scales import resolve_sizes

# (name, real value, tolerance kind): the rows of kuaicore.data.synth.fidelity that this reproduces
REAL = (
    ("watch_ratio mean", 0.9445, "mean"),
    ("watch_ratio p25", 0.315, "quantile"),
    ("watch_ratio p50", 0.723, "quantile"),
    ("watch_ratio p75", 1.178, "quantile"),
    ("watch_ratio p99", 4.79, "tail"),
    ("share watch_ratio >= 0.8", 0.4535, "share"),
    ("share watch_ratio >= 1", 0.3382, "share"),
    ("share watch_ratio >= 2", 0.075, "share"),
    ("share watch_ratio < 0.1", 0.089, "share"),
    ("share watch_ratio > 5", 0.0092, "tail"),
    ("play_duration median (ms)", 7277, "quantile"),
    ("play_duration mean (ms)", 9027, "mean"),
    ("small: watch_ratio mean", 0.907, "mean"),
    ("small: watch_ratio p50", 0.769, "quantile"),
    ("small: watch_ratio p99", 3.585, "tail"),
    ("small: share >= 0.8", 0.474, "share"),
    ("small: share >= 1", 0.324, "share"),
    ("small (<= 5): p25", 0.466, "quantile"),
    ("small (<= 5): p75", 1.114, "quantile"),
    ("length-bucket label: positives in big before 08-30", 0.200, "share"),
    ("length-bucket label: positives in big after 08-30", 0.211, "share"),
    ("length-bucket label: positives in small", 0.157, "share"),
    ("length-bucket label in small: lowest bucket rate", 0.157, "tail"),
    ("length-bucket label in small: highest bucket rate", 0.157, "tail"),
    ("watch_ratio >= 2 in the shortest length decile", 0.62, "tail"),
    ("watch_ratio >= 2 in the longest length decile", 0.005, "tail"),
)


def length_deciles(duration: np.ndarray) -> np.ndarray:
    """ntile(10) over the rows ordered by video length (0..9), as bench_fidelity's SQL."""
    order = np.argsort(duration, kind="stable")
    dec = np.empty(len(duration), dtype=np.int64)
    dec[order] = np.arange(len(duration)) * 10 // len(duration)
    return dec


def statistics(big: dict[str, np.ndarray], small: dict[str, np.ndarray]) -> tuple[dict[str, float], list]:
    """The REAL rows' values over the given big and small rows, and the >= 2 share per length decile."""
    r, d, play = big["play_duration"] / big["video_duration"], big["video_duration"], big["play_duration"]
    rs, ds = small["play_duration"] / small["video_duration"], small["video_duration"]
    before = big["date"] < 20200830
    edges = np.quantile(d[before], np.arange(1, 10) / 10)
    bucket, bucket_s = np.searchsorted(edges, d), np.searchsorted(edges, ds)
    cut = np.array([np.quantile(r[before & (bucket == j)], 0.8) for j in range(10)])
    pos, pos_s = r > cut[bucket], rs > cut[bucket_s]
    rates = [pos_s[bucket_s == j].mean() for j in range(10)]
    dec = length_deciles(d)
    deciles = [float((r[dec == j] >= 2).mean()) for j in range(10)]
    low = rs[rs <= 5]
    values = [
        r.mean(), *np.quantile(r, [0.25, 0.5, 0.75, 0.99]), (r >= 0.8).mean(), (r >= 1).mean(),
        (r >= 2).mean(), (r < 0.1).mean(), (r > 5).mean(), np.median(play), play.mean(),
        rs.mean(), np.median(rs), np.quantile(rs, 0.99), (rs >= 0.8).mean(), (rs >= 1).mean(),
        *np.quantile(low, [0.25, 0.75]), pos[before].mean(), pos[~before].mean(), pos_s.mean(),
        min(rates), max(rates), deciles[0], deciles[9],
    ]  # fmt: skip
    return {name: float(v) for (name, _, _), v in zip(REAL, values, strict=True)}, deciles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", choices=WORLDS, default=WORLDS[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunks", type=int, default=4, help="chunks of big_matrix users to generate")
    args = ap.parse_args()
    sizes = resolve_sizes("full")
    world = truth.make_world(sizes.n_users, sizes.n_items, args.seed, args.world)
    plan = interactions.make_plan(world, sizes, args.seed)
    chunks = list(itertools.islice(interactions.big_chunks(world, sizes, plan, args.seed), args.chunks))
    big = {c: np.concatenate([x[c] for x in chunks]) for c in chunks[0]}
    small = next(interactions.small_chunks(world, sizes, plan, args.seed))
    values, deciles = statistics(big, small)
    n_ok = 0
    n_big, n_small = len(big["user_id"]), len(small["user_id"])
    print(f"world {args.world}, seed {args.seed}: {n_big:,} big rows, {n_small:,} small")
    for name, real, kind in REAL:
        gap = (values[name] - real) / real
        ok = abs(gap) <= TOLERANCE[kind]
        n_ok += ok
        verdict = "ok" if ok else "MISS"
        print(f"{name:<52} real {real:>9.4g}  twin {values[name]:>9.4g}  {gap:+7.1%}  {verdict}")
    print("watch_ratio >= 2 per length decile:", " ".join(f"{x:.4f}" for x in deciles))
    print(f"{n_ok} of {len(REAL)} within tolerance")


if __name__ == "__main__":
    main()
