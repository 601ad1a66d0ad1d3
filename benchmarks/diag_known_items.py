"""How close to the oracle can a model of the users' ratings get? Per-user fits *told* the videos' truth.

    python benchmarks/diag_known_items.py ART --world mixed-taste --seed 0 --scale small [--run hybrid-s0]

ART must come from `kuaicore build-features` over data that `kuaicore synth` wrote with the ``--world``,
``--seed`` and sizes given here (the planted parameters are drawn again from them). Each estimator below fits
every user's ratings (the training pairs' mean log1p capped watch ratio, as ``mf`` and ``hybrid`` rate them)
by a ridge regression on the videos' *planted* parameters: tag weights, first-level category (one-hot), latent
factors, and the item offset of the body mean (quality and length). Only the users' side is estimated, from
their own ratings; the penalty is chosen on valid.parquet (validate as you evaluate). Shrunk toward

- ``zero``: no shared structure;
- ``mean user``: the mean coefficient over all users (a first fit at penalty 1);
- ``segment mean``: the mean coefficient over the user's planted taste segment (also told; no model sees it).

The last is an upper bound for a model of this rating target that knows more than the data can show; its
fraction of the oracle (the planted expected watch ratio) bounds what any such model can reach on the
evaluation block, up to the gap between ranking by the rating target and by the expected watch ratio. A
diagnostic of the twin's information, not of kuaicore's models: it reads the planted truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from kuaicore.art import read_manifest, valid_candidates
from kuaicore.data.synth import truth as planted
from kuaicore.data.synth.scales import resolve_sizes
from kuaicore.models.interactions import load_interactions
from kuaicore.models.mf import ratings
from kuaicore.protocol import Candidates, candidates_from_rows, protocol_ndcg

PENALTIES = (1.0, 3.0, 10.0, 30.0, 100.0)


def item_design(world: planted.World, item_ids: np.ndarray) -> np.ndarray:
    """The videos' planted parameters as regression columns: tags, category, factors, item offset, 1."""
    log_d = np.log(world.duration_ms[item_ids].astype(np.float64))
    offset = world.quality[item_ids] - world.spec.length * planted.length_term(log_d)
    category = np.zeros((len(item_ids), planted.N_CATEGORIES + 1))
    category[np.arange(len(item_ids)), world.category[item_ids]] = 1.0
    return np.hstack(
        [
            world.tag_weights[item_ids],
            category,
            world.item_factors[item_ids],
            offset[:, None],
            np.ones((len(item_ids), 1)),
        ]
    )


def user_ridge(r, design: np.ndarray, penalty: float, prior: np.ndarray) -> np.ndarray:
    """Each user's ridge coefficients over ``design`` for their row of ``r`` (CSR), shrunk to ``prior``."""
    coef = np.zeros((r.shape[0], design.shape[1]))
    eye = penalty * np.eye(design.shape[1])
    for u in range(r.shape[0]):
        lo, hi = r.indptr[u], r.indptr[u + 1]
        x = design[r.indices[lo:hi]]
        coef[u] = np.linalg.solve(x.T @ x + eye, x.T @ r.data[lo:hi] + penalty * prior[u])
    return coef


def _scores(c: Candidates, full: np.ndarray) -> np.ndarray:
    return full[np.repeat(c.users, np.diff(c.indptr)), c.items]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("art", type=Path)
    parser.add_argument("--world", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--run", default=None, help="a run under ART/runs/ to print beside the bounds")
    args = parser.parse_args()

    art: Path = args.art
    sizes = resolve_sizes(args.scale, args.users, args.items)
    world = planted.make_world(sizes.n_users, sizes.n_items, args.seed, args.world)
    threshold = float(read_manifest(art).get("like_threshold", 2.0))
    user_ids, item_ids = np.load(art / "user_ids.npy"), np.load(art / "item_ids.npy")
    r = ratings(load_interactions(art), "log").tocsr()
    design = item_design(world, item_ids)
    valid = valid_candidates(art)
    rows = pq.read_table(art / "eval.parquet", columns=["user_idx", "item_idx", "watch_ratio"])
    columns = ("user_idx", "item_idx", "watch_ratio")
    block = candidates_from_rows(*(rows.column(c).to_numpy() for c in columns))

    def score(full: np.ndarray) -> tuple[float, float]:
        return (
            protocol_ndcg(valid, threshold, 10, scores=_scores(valid, full)),
            protocol_ndcg(block, threshold, 10, scores=_scores(block, full)),
        )

    table: list[tuple[str, float, float, str]] = []
    oracle_valid, oracle_block = score(planted.expected_watch_ratio(world, user_ids, item_ids))
    table.append(("oracle (planted expected watch ratio)", oracle_valid, oracle_block, "-"))
    first = user_ridge(r, design, 1.0, np.zeros((r.shape[0], design.shape[1])))
    segment = world.segment[user_ids]
    by_segment = np.zeros_like(first)
    for g in np.unique(segment):
        by_segment[segment == g] = first[segment == g].mean(axis=0)
    priors = {
        "known videos, shrunk toward zero": np.zeros_like(first),
        "known videos, toward the mean user": np.broadcast_to(first.mean(axis=0), first.shape),
        "known videos + segments, toward the segment mean": by_segment,
    }
    for name, prior in priors.items():
        tried = [(p, *score(user_ridge(r, design, p, prior) @ design.T)) for p in PENALTIES]
        penalty, v, b = max(tried, key=lambda t: t[1])  # chosen on valid
        table.append((name, v, b, f"{penalty:g}"))
    if args.run:
        run = art / "runs" / args.run
        u = np.load(run / "user_emb.npy").astype(np.float64)
        i = np.load(run / "item_emb.npy").astype(np.float64)
        table.append((f"kuaicore run {args.run}", *score(u @ i.T), "-"))

    print(f"# {args.world} seed {args.seed}, {len(user_ids)} users x {len(item_ids)} videos ({art})")
    print("| estimator | penalty (valid) | valid ndcg@10 | block ndcg@10 | fraction of oracle |")
    print("|---|---:|---:|---:|---:|")
    for name, v, b, penalty in table:
        print(f"| {name} | {penalty} | {v:.4f} | {b:.4f} | {b / oracle_block:.2f} |")


if __name__ == "__main__":
    main()
