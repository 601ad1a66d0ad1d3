"""Is float32 a safe ALS default? float32 vs float64 over the twin's worlds and seeds, on the valid split.

    python benchmarks/sweep_als_dtype.py                      # worlds 0,1,2 x seeds 0,1, scale small
    python benchmarks/sweep_als_dtype.py --worlds 0 --seeds 0 --scale tiny   # quick

For each world (``kuaicore synth --seed W``, then ``build-features``) and training seed, ALS is fitted with
the default options in both dtypes from the same seeded start. Reported per (world, seed): the final loss
(kuaicore's float64 objective) and its relative difference, and ndcg@10 on **valid.parquet** (each user's
held-out rows; relevant = label 1; whole catalog ranked, training items excluded) with its 95% bootstrap CI
for float32 and the paired difference's CI. The evaluation block (eval.parquet) is never read. float32 is a
safe default when the loss is within 0.1% and every paired CI of the ndcg difference contains 0 (a tie)
or lies above it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_line, print_table  # noqa: E402


def valid_ndcg(art: Path, user_emb: np.ndarray, item_emb: np.ndarray) -> np.ndarray:
    """Per-user ndcg@10 on valid.parquet (users with a positive held-out row only)."""
    import pyarrow.parquet as pq

    from kuaicore.kernels.metrics import ranking_metrics
    from kuaicore.kernels.topk import topk_scores
    from kuaicore.models.interactions import load_interactions

    n_users = user_emb.shape[0]
    train = load_interactions(art).matrix
    valid = pq.read_table(art / "valid.parquet", columns=["user_idx", "item_idx", "label"]).to_pandas()
    pos = (
        valid[valid["label"] > 0]
        .drop_duplicates(["user_idx", "item_idx"])
        .sort_values(["user_idx", "item_idx"])
    )
    users = np.unique(pos["user_idx"].to_numpy()).astype(np.int32)
    counts = np.bincount(np.searchsorted(users, pos["user_idx"].to_numpy()), minlength=users.size)
    rel_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ranked, _ = topk_scores(user_emb, item_emb, 10, train.indptr, train.indices, users=users)
    assert n_users == train.shape[0]
    return ranking_metrics(ranked, [10], rel_indptr, pos["item_idx"].to_numpy().astype(np.int32))["ndcg"][
        :, 0
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", default="0,1,2")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "full"])
    ap.add_argument("--iterations", type=int, default=15)
    args = ap.parse_args()
    from kuaicore.kernels.bootstrap import bootstrap_ci
    from kuaicore.models import als
    from kuaicore.models.interactions import load_interactions

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in (int(w) for w in args.worlds.split(",")):
            data_dir, art = Path(tmp) / f"w{world}", Path(tmp) / f"w{world}-art"
            for cmd in (["synth", str(data_dir), "--scale", args.scale, "--seed", str(world)],
                        ["build-features", str(data_dir), "--out", str(art)]):  # fmt: skip
                subprocess.run([sys.executable, "-m", "kuaicore.cli", *cmd], check=True, capture_output=True)
            data = load_interactions(art)
            for seed in (int(s) for s in args.seeds.split(",")):
                fits = {}
                for dtype in ("float32", "float64"):
                    opts = als.ALSOptions(iterations=args.iterations, seed=seed, dtype=dtype)
                    u, v, info = als.fit(data, opts)
                    fits[dtype] = (info["objective"][-1], valid_ndcg(art, u, v))
                (l32, n32), (l64, n64) = fits["float32"], fits["float64"]
                lo, hi = bootstrap_ci(n32, 1000, seed=0)
                dlo, dhi = bootstrap_ci(n32 - n64, 1000, seed=0)
                rows.append({
                    "world": world, "seed": seed, "loss float32": l32, "loss float64": l64,
                    "loss rel. diff": f"{(l32 - l64) / l64:+.2e}", "valid users": n32.size,
                    "ndcg@10 float32": f"{n32.mean():.4f} [{lo:.4f}, {hi:.4f}]",
                    "ndcg@10 float64": f"{n64.mean():.4f}",
                    "float32 - float64 (95% CI)": f"{n32.mean() - n64.mean():+.4f} [{dlo:+.4f}, {dhi:+.4f}]",
                })  # fmt: skip
    print(machine_line())
    print(f"ALS defaults ({als.ALSOptions().factors} factors, {args.iterations} iterations, CG), scale "
          f"{args.scale}; metric on valid.parquet only")  # fmt: skip
    print_table(rows)


if __name__ == "__main__":
    main()
