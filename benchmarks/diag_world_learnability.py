"""Can an id model learn a world's latent taste from big_matrix? A plain NumPy biased ALS, outside kuaicore.

    python benchmarks/diag_world_learnability.py /tmp/kr/data --world collaborative --sweeps 8,40,200

Fits mu + b_u + c_i + p_u . q_i to the pair means of the capped watch ratio (min(r, 4)) of big_matrix by
alternating ridge solves (rank 8, ridge 30 on factors and biases), then prints, per number of sweeps, the
small block's ndcg@10 (relevant = observed watch_ratio > 2) of the fit and of its item biases alone (a
popularity), the oracle's, and the correlation of the fitted p_u . q_i with the planted x_u . y_i on four
parts of the matrix: the small block (small users x small videos, never seen in big), small users x the
other videos, the other users x small videos, and the other users x the other videos. A diagnostic of the
twin's structure, not of kuaicore's models; the data folder must come from `kuaicore synth` with the
``--world``, ``--seed`` and sizes given here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kuaicore.data.synth import truth as planted
from kuaicore.data.synth.scales import resolve_sizes

RANK, RIDGE, CAP = 8, 30.0, 4.0


def ndcg_at(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Mean binary ndcg@k over users with a relevant cell (as tests/test_synth_worlds.py)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    gains = np.take_along_axis(relevant, order, axis=1).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(relevant.astype(np.float64), axis=1)[:, ::-1][:, :k]
    has = ideal.sum(axis=1) > 0
    return float(((gains @ disc)[has] / (ideal @ disc)[has]).mean())


def _groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.searchsorted(keys[order], np.arange(1, n)))


def _solve(groups, other: np.ndarray, other_idx: np.ndarray, target: np.ndarray, out_f, out_b) -> None:
    aug = np.hstack([other, np.ones((len(other), 1))])
    eye = RIDGE * np.eye(RANK + 1)
    for x, rows in enumerate(groups):
        if len(rows):
            a = aug[other_idx[rows]]
            sol = np.linalg.solve(a.T @ a + eye, a.T @ target[rows])
            out_f[x], out_b[x] = sol[:RANK], sol[RANK]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--world", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--sweeps", default="8,40,200")
    args = ap.parse_args()
    big = np.loadtxt(args.data / "big_matrix.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
    small = np.loadtxt(args.data / "small_matrix.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
    truth = np.load(args.data / "truth.npz")
    n_users, n_items = int(big[:, 0].max()) + 1, len(truth["video_duration_ms"])
    world = planted.make_world(*_sizes(args.scale, n_users, n_items), args.seed, args.world)
    key = big[:, 0].astype(np.int64) * n_items + big[:, 1].astype(np.int64)
    pairs, inv = np.unique(key, return_inverse=True)
    y = np.bincount(inv, np.minimum(big[:, 2] / big[:, 3], CAP)) / np.bincount(inv)
    uu, ii = pairs // n_items, pairs % n_items
    y = y - y.mean()
    su, si = truth["user_id"], truth["video_id"]
    relevant = np.zeros((len(su), len(si)), dtype=bool)
    relevant[
        np.searchsorted(su, small[:, 0].astype(np.int64)), np.searchsorted(si, small[:, 1].astype(np.int64))
    ] = small[:, 2] / small[:, 3] > 2.0
    other_u, other_i = np.setdiff1d(np.arange(n_users), su), np.setdiff1d(np.arange(n_items), si)
    rng = np.random.default_rng(0)
    p, q = rng.normal(0, 0.1, (n_users, RANK)), rng.normal(0, 0.1, (n_items, RANK))
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    by_user, by_item = _groups(uu, n_users), _groups(ii, n_items)
    print(
        f"{args.data}: world {args.world}, {len(big):,} big rows, {len(pairs):,} pairs,"
        f" block {len(su)}x{len(si)}"
    )
    print("| sweeps | ndcg@10 ALS | ndcg@10 its item biases | oracle | corr block | small u x other v "
          "| other u x small v | other u x other v |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    done = 0
    for sweeps in (int(s) for s in args.sweeps.split(",")):
        for _ in range(sweeps - done):
            _solve(by_user, q, ii, y - bi[ii], p, bu)
            _solve(by_item, p, uu, y - bu[uu], q, bi)
        done = sweeps

        def corr(us, vs):
            fit = p[us] @ q[vs].T
            true = world.user_factors[us] @ world.item_factors[vs].T
            return np.corrcoef(fit.ravel(), true.ravel())[0, 1]

        score = bi[si][None, :] + p[su] @ q[si].T
        pop = np.broadcast_to(bi[si][None, :], score.shape)
        oracle = ndcg_at(truth["expected_watch_ratio"], relevant)
        print(f"| {sweeps} | {ndcg_at(score, relevant):.3f} | {ndcg_at(pop, relevant):.3f} | {oracle:.3f} "
              f"| {corr(su, si):.2f} | {corr(su, other_i):.2f} | {corr(other_u, si):.2f} "
              f"| {corr(other_u, other_i):.2f} |", flush=True)  # fmt: skip


def _sizes(scale: str, n_users: int, n_items: int) -> tuple[int, int]:
    sizes = resolve_sizes(scale, n_users, n_items)
    return sizes.n_users, sizes.n_items


if __name__ == "__main__":
    main()
