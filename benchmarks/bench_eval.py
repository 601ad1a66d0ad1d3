"""Benchmark the Numba top-K and metric kernels against NumPy and ranx, asserting equal values.

    python benchmarks/bench_eval.py                # full: 7,176 x 10,728 x 32; small matrix 1,411 x 3,327
    python benchmarks/bench_eval.py --scale small  # quick

Data are random (seeded) and generated here, so the benchmark depends on no other stage:
- top-K: all users x full catalog, top-100, via ``topk_scores`` vs NumPy ``U @ I.T`` + ``argpartition`` +
  sort of the kept 100 (the whole score matrix in memory, the obvious NumPy way);
- metrics: every small-matrix user ranks its own candidates (``rank_candidates``), then ``ranking_metrics``
  gives all 7 metrics at K = 10, 50, 100; the baseline is ranx building its Qrels and Run (from Python dicts
  made beforehand, not timed) from the same top-100 lists and evaluating the 15 metrics both compute
  (precision, recall, ndcg, mrr, hit_rate at each K); every per-user value is asserted equal.
Then the peer table (benchmarks/_peer_topk.py, needs ``pip install -e .[bench]``): ``topk_scores`` vs
`implicit`'s batch ``recommend`` on 64-d factors with each user's training items excluded (``seen`` a user,
12.5M pairs at full scale), at each ``--threads`` count, idle and with one core kept busy by another
process; ``--no-peers`` skips it.
"cold" rows run in a fresh child process with Numba's on-disk cache already warm (the parent has compiled):
they time ``import`` of the kernels plus the first call, i.e. what a CLI invocation pays. "warm" rows are the
best of three calls in this process. ranx is timed warm too (its own compile/cache load done on a tiny run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402

SCALES = {
    "full": {
        "n_users": 7176,
        "n_items": 10728,
        "dim": 32,
        "small_users": 1411,
        "small_items": 3327,
        "seen": 1746,
    },
    "small": {
        "n_users": 800,
        "n_items": 1500,
        "dim": 32,
        "small_users": 200,
        "small_items": 500,
        "seen": 250,
    },
}
K = 100
KS = (10, 50, 100)
CAP = 5.0
THRESHOLD = 2.0


def make_data(scale: str, seed: int) -> dict[str, np.ndarray]:
    """Embeddings for the whole catalog, and a small matrix: users x candidates with watch ratios that follow
    the embedding score (so metrics are not all near zero); ~0.4% of pairs unobserved, as in KuaiRec."""
    s = SCALES[scale]
    rng = np.random.default_rng(seed)
    user_emb = rng.standard_normal((s["n_users"], s["dim"]), dtype=np.float32) / np.float32(s["dim"] ** 0.25)
    item_emb = rng.standard_normal((s["n_items"], s["dim"]), dtype=np.float32) / np.float32(s["dim"] ** 0.25)
    users = np.sort(rng.choice(s["n_users"], s["small_users"], replace=False)).astype(np.int32)
    items = np.sort(rng.choice(s["n_items"], s["small_items"], replace=False)).astype(np.int32)
    observed = rng.random((users.size, items.size)) > 0.004
    score = user_emb[users] @ item_emb[items].T
    watch_ratio = np.exp(0.5 * score + rng.normal(-0.3, 0.7, size=score.shape))
    rows, cols = np.nonzero(observed)
    cand_indptr = np.concatenate([[0], np.cumsum(observed.sum(axis=1))]).astype(np.int64)
    cand_items = items[cols]
    gains = np.minimum(watch_ratio[rows, cols], CAP).astype(np.float32)
    relevant = watch_ratio[rows, cols] >= THRESHOLD
    rel_indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[relevant], minlength=users.size))])
    return {
        "user_emb": user_emb, "item_emb": item_emb, "users": users, "cand_indptr": cand_indptr,
        "cand_items": cand_items, "gains": gains, "rel_indptr": rel_indptr.astype(np.int64),
        "rel_items": cand_items[relevant],
    }  # fmt: skip


def run_topk(d: dict) -> tuple[np.ndarray, np.ndarray]:
    from kuaicore.kernels.topk import topk_scores

    return topk_scores(d["user_emb"], d["item_emb"], K)


def run_metrics(d: dict) -> dict[str, np.ndarray]:
    from kuaicore.kernels.metrics import ranking_metrics

    rel = (d["rel_indptr"], d["rel_items"])
    return ranking_metrics(d["ranked"], KS, *rel, d["cand_indptr"], d["cand_items"], d["gains"])


def run_rank(d: dict) -> np.ndarray:
    from kuaicore.kernels.topk import rank_candidates

    return rank_candidates(d["user_emb"], d["item_emb"], d["users"], d["cand_indptr"], d["cand_items"], K)[0]


def best_of(fn, repeat: int = 3):
    """(best wall seconds, last result) over ``repeat`` calls."""
    best, out = float("inf"), None
    for _ in range(repeat):
        with Timer() as t:
            out = fn()
        best = min(best, t.seconds)
    return best, out


def numpy_topk(d: dict) -> tuple[np.ndarray, np.ndarray]:
    """The obvious NumPy way: the full score matrix, argpartition, sort the kept K by (score desc, item)."""
    scores = d["user_emb"] @ d["item_emb"].T
    part = np.argpartition(-scores, K - 1, axis=1)[:, :K]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int32), np.take_along_axis(part_scores, order, 1)


def check_topk(d: dict, ours: tuple, ref: tuple) -> float:
    """Assert both lists are a correct top-K up to float rounding; return the share of identical slots."""
    items, scores = ours
    exact = np.einsum("ukd,ud->uk", d["item_emb"][items].astype(np.float64), d["user_emb"].astype(np.float64))
    assert np.allclose(scores, exact, atol=1e-4), "our scores are not the dot products of our items"
    assert np.allclose(scores, ref[1], atol=1e-4), "k-th best scores differ from NumPy's"
    assert np.all(np.diff(scores, axis=1) <= 0), "not sorted best first"
    return float((items == ref[0]).mean())


def ranx_metrics(d: dict, ours: dict) -> tuple[float, float]:
    """Time ranx (Qrels + Run + evaluate) on the same lists, assert equal values; (s, dict-building s)."""
    import warnings

    warnings.simplefilter("ignore")  # ranx's own Numba compile warnings
    import ranx

    with Timer() as t_dicts:
        ranked = d["ranked"]
        run = {
            f"u{u}": {f"d{i}": float(K - p) for p, i in enumerate(row) if i >= 0}
            for u, row in enumerate(ranked)
        }
        rel = np.split(d["rel_items"], d["rel_indptr"][1:-1])
        qrels = {f"u{u}": ({f"d{i}": 1 for i in r} or {"none": 0}) for u, r in enumerate(rel)}
    names = [f"{m}@{k}" for m in ("precision", "recall", "ndcg", "mrr", "hit_rate") for k in KS]
    tiny_q, tiny_r = {f"q{i}": {"a": 1} for i in range(10)}, {f"q{i}": {"a": 1.0} for i in range(10)}
    ranx.evaluate(ranx.Qrels.from_dict(tiny_q), ranx.Run.from_dict(tiny_r), names)  # load ranx's kernels

    def once():
        r = ranx.Run.from_dict(run)
        ranx.evaluate(ranx.Qrels.from_dict(qrels), r, names, return_mean=False)
        return r

    seconds, r = best_of(once)
    for name in names:
        metric, k = name.split("@")
        theirs = np.array([r.scores[name][f"u{u}"] for u in range(ranked.shape[0])])
        np.testing.assert_allclose(ours[metric][:, KS.index(int(k))], theirs, rtol=1e-12, atol=1e-12)
    return seconds, t_dicts.seconds


def cold_child(what: str, scale: str, seed: int) -> None:
    """In a fresh process: data first (untimed), then import + first call of the kernels (timed)."""
    d = make_data(scale, seed)
    start = time.perf_counter()
    if what == "topk":
        run_topk(d)
    else:
        d["ranked"] = run_rank(d)
        run_metrics(d)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(False)}))


def cold(what: str, scale: str, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--scale", scale, "--seed", str(seed), "--cold-child", what]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def peers(args: argparse.Namespace) -> None:
    """Print the table of ``topk_scores`` against implicit's ``recommend`` (idle and one core busy)."""
    from _peer_topk import DIM, compare_topk, make_peer_data

    s = SCALES[args.scale]
    d = make_peer_data(s["n_users"], s["n_items"], s["seen"], args.seed)
    load_before = os.getloadavg()[0]
    rows, same = compare_topk(d, tuple(int(t) for t in args.threads.split(",")), args.repeat)
    print(machine_line() + f", load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after")
    print(f"top-{K} vs implicit: {s['n_users']:,} users x {s['n_items']:,} items, d={DIM}, "
          f"{d['seen'].nnz:,} training pairs excluded; best of {args.repeat} interleaved rounds; "
          f"identical slots {same:.4%} (others: float-rounding near-ties); scores equal to 1e-4")  # fmt: skip
    print_table(rows)
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=sorted(SCALES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold-child", choices=["topk", "metrics"], help=argparse.SUPPRESS)
    ap.add_argument("--threads", default="1,2", help="peer table: thread counts")
    ap.add_argument("--repeat", type=int, default=3, help="peer table: best of N interleaved rounds")
    ap.add_argument("--no-peers", action="store_true", help="skip the table against implicit")
    ap.add_argument("--peers-only", action="store_true", help="only the table against implicit")
    args = ap.parse_args()
    if args.cold_child:
        cold_child(args.cold_child, args.scale, args.seed)
        return
    import numba

    if args.peers_only:
        peers(args)
        return

    d = make_data(args.scale, args.seed)
    n_u, n_small = d["user_emb"].shape[0], d["users"].size
    pairs = n_u * d["item_emb"].shape[0]

    load_before = os.getloadavg()[0]
    # Our stages first, so the peak RSS they report is not the baselines' (ru_maxrss only grows).
    run_topk({**d, "user_emb": d["user_emb"][:2]})  # compile, or load from the disk cache
    t_topk, ours_topk = best_of(lambda: run_topk(d))
    rss_topk = peak_rss_mb(False)
    t_rank, d["ranked"] = best_of(lambda: run_rank(d))
    t_met, ours_met = best_of(lambda: run_metrics(d))
    rss_met = peak_rss_mb(False)
    from kuaicore.kernels.bootstrap import bootstrap_ci

    per_user = np.stack([ours_met[m] for m in ours_met if m != "n_relevant"], axis=1).reshape(n_small, -1)
    t_boot, _ = best_of(lambda: bootstrap_ci(per_user[ours_met["n_relevant"] > 0], 1000, seed=0))
    cold_topk = cold("topk", args.scale, args.seed)
    cold_met = cold("metrics", args.scale, args.seed)

    with Timer() as t_np:
        ref_topk = numpy_topk(d)
    rss_np = peak_rss_mb(False)
    same = check_topk(d, ours_topk, ref_topk)
    t_ranx, t_dicts = ranx_metrics(d, ours_met)
    rss_ranx = peak_rss_mb(False)
    load_after = os.getloadavg()[0]

    rows = [
        {"stage": f"top-{K} cold (import + 1st call, disk cache)", "wall s": cold_topk["seconds"],
         "peak RSS MB": cold_topk["peak_rss_mb"], "rows/s": n_u / cold_topk["seconds"], "vs baseline": "-"},
        {"stage": f"top-{K} warm: topk_scores ({n_u:,} users)", "wall s": t_topk, "peak RSS MB": rss_topk,
         "rows/s": n_u / t_topk, "vs baseline": f"{t_np.seconds / t_topk:.1f}x"},
        {"stage": "  baseline: NumPy matmul + argpartition", "wall s": t_np.seconds, "peak RSS MB": rss_np,
         "rows/s": n_u / t_np.seconds, "vs baseline": "1.0x"},
        {"stage": "rank + metrics cold (import + 1st call, disk cache)", "wall s": cold_met["seconds"],
         "peak RSS MB": cold_met["peak_rss_mb"], "rows/s": n_small / cold_met["seconds"], "vs baseline": "-"},
        {"stage": f"rank_candidates ({n_small:,} users, top-{K})", "wall s": t_rank, "peak RSS MB": None,
         "rows/s": n_small / t_rank, "vs baseline": "-"},
        {"stage": f"ranking_metrics: 7 metrics x K={','.join(map(str, KS))}", "wall s": t_met,
         "peak RSS MB": rss_met, "rows/s": n_small / t_met, "vs baseline": f"{t_ranx / t_met:.0f}x"},
        {"stage": "  baseline: ranx Qrels+Run+evaluate (15 metrics)", "wall s": t_ranx,
         "peak RSS MB": rss_ranx, "rows/s": n_small / t_ranx, "vs baseline": "1.0x"},
        {"stage": "  (building ranx's input dicts, not counted)", "wall s": t_dicts, "peak RSS MB": None,
         "rows/s": None, "vs baseline": "-"},
        {"stage": f"bootstrap_ci: 1000 resamples x {per_user.shape[1]} columns", "wall s": t_boot,
         "peak RSS MB": None, "rows/s": None, "vs baseline": "-"},
    ]  # fmt: skip
    print(machine_line() + f", numba {numba.__version__} ({numba.get_num_threads()} threads), "
          f"load average {load_before:.1f} before / {load_after:.1f} after")  # fmt: skip
    print(f"scale {args.scale}: top-{K} over {pairs:,} user-item pairs; small matrix "
          f"{d['cand_items'].size:,} candidates, {d['rel_items'].size:,} relevant; "
          f"identical top-{K} slots vs NumPy: {same:.4%} "
          "(the rest are float-rounding near-ties); all metric values equal to ranx (1e-12)")  # fmt: skip
    print_table(rows)
    if not args.no_peers:  # last, so that the peak RSS above is not implicit's
        print()
        peers(args)


if __name__ == "__main__":
    main()
