"""The hybrid model's cost and convergence: evaluation-block quality against iterations, and the side path.

    python benchmarks/bench_hybrid.py --world collaborative --users 600 --seed 1   # synth + build first
    python benchmarks/bench_hybrid.py --art /tmp/art --truth /tmp/kuairec/data/truth.npz   # an existing ART

Two configurations (``mf (no content)``: no content columns; ``hybrid``: tags + length, one side penalty) are
fitted from scratch for each iteration count (deterministic: each fit is the prefix of the longer ones) and
scored by the small protocol (ndcg@10, relevant = watch_ratio > 2, and as a fraction of the planted oracle)
and by the valid protocol (held-out big_matrix rows). The point: the ranking of the unseen evaluation pairs
keeps improving for tens of iterations after the training RMSE and the valid score are flat, which is why
iterations are a convergence setting, not chosen by validation. Then the default side path (8, 2, 0.5) and
what valid chose. Prints seconds per iteration and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_line, print_table  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--art", type=Path, default=None, help="an existing ART (else one is synthesised)")
    ap.add_argument("--truth", type=Path, default=None, help="truth.npz of --art (for the oracle row)")
    ap.add_argument("--world", default="collaborative")
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--iterations", default="5,10,20,40,80")
    args = ap.parse_args()

    import kuaicore
    from kuaicore.evaluation import rankers
    from kuaicore.evaluation.data import load_eval_data, load_valid_data
    from kuaicore.models import hybrid
    from kuaicore.models.interactions import load_features, load_interactions
    from kuaicore.protocol import Candidates, protocol_ndcg

    with tempfile.TemporaryDirectory(prefix="bench-hybrid-") as tmp:
        art, truth_path = args.art, args.truth
        if art is None:
            data_dir = kuaicore.synth(Path(tmp), "small", args.seed, n_users=args.users, world=args.world)
            art = kuaicore.build_features(data_dir, Path(tmp) / "art", seed=args.seed)
            truth_path = data_dir / "truth.npz"
        ev, va = load_eval_data(art), load_valid_data(art)
        small = Candidates(ev.users, ev.indptr, ev.items, ev.watch_ratio)
        valid = Candidates(va.users, va.indptr, va.items, va.watch_ratio)
        oracle = float("nan")
        if truth_path is not None:
            ids = (np.load(Path(art) / "user_ids.npy"), np.load(Path(art) / "item_ids.npy"))
            truth = dict(np.load(truth_path))
            oracle = protocol_ndcg(small, 2.0, scores=rankers.oracle_scores(ev, truth, *ids))
        data, feats = load_interactions(art), load_features(art)
        rows = []

        def fit(options: hybrid.HybridOptions, validation=None) -> tuple:
            cols = hybrid.side_columns(feats.item_feature_names, options.item_side)
            no_users = np.zeros((data.shape[0], 0))
            start = time.perf_counter()
            u, v, info = hybrid.fit(data, no_users, feats.item_features[:, cols], options, validation)
            return u, v, info, time.perf_counter() - start

        for label, base in (("mf (no content)", {"item_side": ""}), ("hybrid side_reg=2", {})):
            for its in [int(x) for x in args.iterations.split(",")]:
                u, v, info, secs = fit(hybrid.HybridOptions(iterations=its, side_reg="2", **base))
                ndcg = protocol_ndcg(small, 2.0, user_emb=u, item_emb=v)
                rows.append(
                    {
                        "model": label,
                        "iterations": its,
                        "ndcg@10": f"{ndcg:.4f}",
                        "of oracle": f"{ndcg / oracle:.3f}",
                        "valid ndcg@10": f"{protocol_ndcg(valid, 2.0, user_emb=u, item_emb=v):.4f}",
                        "train rmse": f"{info['side_reg_path'][-1]['train_rmse']:.5f}",
                        "s/iteration": f"{secs / its:.2f}",
                    }
                )
        u, v, info, secs = fit(hybrid.HybridOptions(), hybrid.Validation(valid, 2.0))
        ndcg = protocol_ndcg(small, 2.0, user_emb=u, item_emb=v)
        path = ", ".join(f"{p['side_reg']:g}: {p['valid_ndcg']:.4f}" for p in info["side_reg_path"])
        print(machine_line())
        where = f"ART {args.art}" if args.art else f"world {args.world}, {args.users} users, seed {args.seed}"
        print(f"{where}: {data.n_rows:,} training rows, {info['pairs']:,} pairs; oracle ndcg@10 {oracle:.4f}")
        print_table(rows)
        print(
            f"default (side path {path} -> {info['side_reg']:g}): ndcg@10 {ndcg:.4f} ({ndcg / oracle:.3f} of"
            f" oracle), {secs:.1f} s; peak RSS {_peak_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
