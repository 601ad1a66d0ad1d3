"""`blend`: the hybrid (ids + content) and the two-tower (every feature column) as one ranking.

The two are right in different worlds (README "Which model when"): the hybrid where taste lives in what only
the ids reveal, the two-tower where it lives in the feature rows. ``blend`` trains both on the same ART and
ranks by

    score = a * s_hybrid / sd_hybrid + (1 - a) * s_tower / sd_tower

(each model's scores divided by their spread over the validation pairs, so the weight ``a`` means the same
for every dataset), with ``a`` chosen from ``weights`` by the evaluation protocol on valid.parquet
(validate as you evaluate; ``a = 1`` is the hybrid alone, ``a = 0`` the two-tower alone, so on valid the
blend is never below the better of the two). A weighted sum of two dot products is one dot product of the
concatenated, scaled vectors, so the run exports embeddings and ranks the whole catalogue like every other
model. The two-tower is trained first, by the JAX loop in a child process, into its own run, ``NAME-tower``;
the hybrid is then fitted here and kept as run ``NAME-hybrid`` (each can be evaluated alone, and `compare`
reuses them where its settings are theirs); the watch-ratio predictions (MAE/RMSE) are the hybrid's.
The weight and the hybrid's fit are chosen with the hybrid's fits that never saw valid.parquet; the blend then
ranks with the chosen fit refitted on train + valid (the hybrid's ``refit``), the two-tower part as trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kuaicore.errors import UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.options import number_list
from kuaicore.protocol import VALID_K, protocol_ndcg

LARGE_DATA_ROWS = 2_000_000  # above this many training rows the two-tower part trains in large batches


@dataclass(frozen=True)
class BlendOptions:
    """Options of the blend (``--option key=value``).

    ``weights``: the hybrid's weights ``a`` to try on valid (comma-separated, each in [0, 1]).
    ``tower_epochs``: the most epochs of the two-tower part (the epoch with the best valid ndcg@10 is kept);
    0 (default): the two-tower's automatic count, as many as 2,000 optimizer steps take, 3 to 30
    (:mod:`kuaicore.training.budget`; 17 at 500k training rows, 13 at full scale in 65,536-row batches; a
    fixed 3 left it far from its best on small data: BENCHMARKS.md "The blend's two-tower part, trained to
    its best epoch"). ``tower_patience``: it stops after this many epochs without a better valid ndcg@10
    (0: never, except that automatic epochs always stop after 3).
    ``tower_batch``: its batch size; 0 = 4,096 rows (lr 3e-3, the two-tower's defaults) up to 2M training
    rows and 65,536 (lr 6e-3) above, where an epoch of 4,096-row steps costs ~7x as long for ~0.5% of
    validation ndcg (BENCHMARKS.md "bench_train after issue 15").
    ``hybrid_fits``: how many of the hybrid's finalists the weight is chosen over, in the hybrid's order
    (kuaicore.models.hybrid.fit_with_alternatives): 1: the hybrid's own choice; then, where taste groups
    were kept, the fit without the taste mixture, where a mixture was kept the mixture at the other
    ``mixture_power``, and the fit without groups (4 at most with the default powers; a larger number
    takes them all). The fit that ranks best alone is not always the one that complements the two-tower
    best (BENCHMARKS.md "The blend chooses the hybrid's fit").
    """

    weights: str = "0,0.2,0.35,0.5,0.65,0.8,1"
    tower_epochs: int = 0
    tower_patience: int = 3
    tower_batch: int = 0
    hybrid_fits: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        self.weight_grid()
        if self.tower_epochs < 0:
            raise UsageError(f"--option tower_epochs: must be >= 0 (0: automatic), got {self.tower_epochs}")
        if self.tower_patience < 0:
            raise UsageError(
                f"--option tower_patience: must be >= 0 (0: never stop), got {self.tower_patience}"
            )
        if self.tower_batch < 0:
            raise UsageError(f"--option tower_batch: must be >= 0 (0: automatic), got {self.tower_batch}")
        if self.hybrid_fits < 1:
            raise UsageError(f"--option hybrid_fits: must be >= 1, got {self.hybrid_fits}")

    def weight_grid(self) -> tuple[float, ...]:
        """The weights to try, in order (each in [0, 1])."""
        values = number_list(self.weights, lambda v: 0.0 <= v <= 1.0)
        if not values:
            raise UsageError(
                f"--option weights={self.weights}: expected numbers in [0, 1], comma-separated (e.g. 0,0.5,1)"
            )
        return values


def blend_embeddings(
    hybrid: tuple[np.ndarray, np.ndarray],
    tower: tuple[np.ndarray, np.ndarray],
    weight: float,
    spreads: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """(user_emb, item_emb) float32 whose dot product is ``weight * hybrid / spreads[0] + (1 - weight) *
    tower / spreads[1]`` for every (user, item)."""
    (uh, ih), (ut, it) = hybrid, tower
    user = np.hstack([uh * (weight / spreads[0]), ut * ((1.0 - weight) / spreads[1])])
    return user.astype(np.float32), np.hstack([ih, it]).astype(np.float32)


def score_spread(
    user_emb: np.ndarray, item_emb: np.ndarray, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 16
) -> float:
    """Standard deviation of the model's scores over the (user, item) pairs (1 when they are constant),
    ``chunk`` pairs at a time (the 1.15M validation pairs of a full-scale ART at once took 1.7 GB)."""
    scores = np.empty(len(users), np.float64)
    for lo in range(0, len(users), chunk):
        u, i = users[lo : lo + chunk], items[lo : lo + chunk]
        scores[lo : lo + chunk] = np.einsum("ij,ij->i", user_emb[u], item_emb[i], dtype=np.float64)
    spread = float(np.std(scores)) if scores.size else 0.0
    return spread if spread > 1e-12 and np.isfinite(spread) else 1.0


def _train_tower(data: ModelData, options: BlendOptions) -> tuple[np.ndarray, np.ndarray, str]:
    """Train the two-tower part into runs/NAME-tower in a child process (JAX keeps what it allocates: in
    this process its ~1.4 GB at full scale would add to the hybrid's); its embeddings and the run name."""
    from dataclasses import replace

    from kuaicore.art.stream import n_rows
    from kuaicore.comparison import record_cost, train_child
    from kuaicore.models.registry import TWO_TOWER
    from kuaicore.runs import run_name, runs_dir

    cfg = data.config
    large = n_rows(data.art / "train.parquet") > LARGE_DATA_ROWS
    batch = options.tower_batch or (65_536 if large else cfg.batch_size)
    lr = 6e-3 if large and not options.tower_batch else cfg.lr
    name = f"{run_name(cfg)}-tower"
    tower_cfg = replace(
        cfg,
        model=TWO_TOWER,
        run=name,
        options={},
        epochs=options.tower_epochs,
        patience=options.tower_patience,
        batch_size=batch,
        lr=lr,
    )
    run_dir = runs_dir(data.art) / name
    record_cost(run_dir, train_child(tower_cfg))  # shown by a compare that reuses the run
    return np.load(run_dir / "user_emb.npy"), np.load(run_dir / "item_emb.npy"), name


def _fit_hybrid(data: ModelData, options: BlendOptions) -> tuple[Fitted, str, Any]:
    """Fit the hybrid part at the hybrid's defaults and keep it as run ``NAME-hybrid`` (as `kuaicore train
    --model hybrid --seed S` would write it, so `compare` reuses it for ``hybrid``); the fit, its name and
    the options it was fitted with."""
    import time
    from dataclasses import replace

    from kuaicore.comparison import TrainCost, record_cost
    from kuaicore.models.registry import HYBRID
    from kuaicore.models.resolve import resolve
    from kuaicore.runs import run_lock, run_name
    from kuaicore.training.runner import write_fitted

    model = resolve(HYBRID)
    name = f"{run_name(data.config)}-hybrid"
    part_cfg = replace(data.config, model=HYBRID, run=name, options={}, seed=options.seed)
    part_options = model.make_options({}, seed=part_cfg.seed)
    start = time.perf_counter()
    part = model.fit(data, part_options)
    seconds = time.perf_counter() - start
    with run_lock(data.art, name):
        run_dir, _ = write_fitted(part_cfg, model, name, data, part, part_options, seconds)
        record_cost(run_dir, TrainCost(seconds, None))
    data.log(f"blend: kept the hybrid part as runs/{name}")
    return part, name, part_options


def fit_art(data: ModelData, options: BlendOptions) -> Fitted:
    """The fit contract: the hybrid and the two-tower trained on the ART, blended with the weight that
    scores best on valid.parquet by the evaluation protocol."""
    from dataclasses import replace

    data.log("blend: training the two-tower part (first, while this process is small)")
    ut, it, tower_run = _train_tower(data, options)
    data.log("blend: fitting the hybrid part")
    part, hybrid_run, part_options = _fit_hybrid(data, options)
    fitted = blend_parts(data, options, part, part_options, (ut, it))
    return replace(fitted, info={**fitted.info, "tower_run": tower_run, "hybrid_run": hybrid_run})


def blend_parts(
    data: ModelData,
    options: BlendOptions,
    part: Fitted,
    part_options: Any,
    tower: tuple[np.ndarray, np.ndarray],
) -> Fitted:
    """The blend of the hybrid's fit ``part`` (fitted with ``part_options``; its alternatives too) and the
    two-tower's embeddings ``tower``: the hybrid fit and weight that score best on valid.parquet, each scored
    by its embeddings that never saw the validation rows; where the hybrid was refitted on train + valid,
    the chosen fit's refit is what the returned embeddings blend (the others' held out for a test on
    valid)."""
    from kuaicore.art import valid_candidates

    ut, it = tower
    cands = valid_candidates(data.art)
    threshold = float(data.manifest.get("like_threshold", 2.0))
    users = np.repeat(cands.users, np.diff(cands.indptr))
    fits = (part, *part.alternatives)[: options.hybrid_fits]
    any_valid = cands.users.size > 0
    scored: list[dict[str, Any]] = []
    best: tuple | None = None  # (score, weight, user_emb, item_emb, hybrid fit, spreads)
    for fit in fits:  # each scored on valid by its embeddings that never saw it
        held = fit.heldout()
        spreads = (score_spread(*held, users, cands.items), score_spread(ut, it, users, cands.items))
        label = fit.info.get("groups", "")
        named = f" ({label})" if len(fits) > 1 else ""
        for weight in options.weight_grid():
            u, v = blend_embeddings(held, (ut, it), weight, spreads)
            score = protocol_ndcg(cands, threshold, VALID_K, user_emb=u, item_emb=v) if any_valid else 0.0
            score = score if np.isfinite(score) else 0.0
            scored.append({"weight": weight, "hybrid_fit": label, "valid_ndcg": score})
            data.log(f"  hybrid weight {weight:g}{named}: valid ndcg@{VALID_K} {score:.4f}")
            if best is None or score > best[0]:  # the first of equal scores is kept
                best = (score, weight, u, v, fit, spreads)
    assert best is not None
    best_score, weight, u, v, chosen, spreads = best
    if len(fits) > 1:
        data.log(f"blend: the hybrid's fit with {chosen.info.get('groups', '')} at weight {weight:g}")
    heldout = (u, v)
    final = chosen
    if "refit" in part.info and chosen is not part and weight > 0:
        # the hybrid refitted its own choice on train + valid; the blend chose another of its fits
        from kuaicore.models.hybrid import refit

        final = refit(data, part_options, chosen)
    if final is not chosen or chosen.heldout_user_emb is not None:
        u, v = blend_embeddings((final.user_emb, final.item_emb), (ut, it), weight, spreads)
    info = {
        "weight": weight,
        "weights": scored,
        "valid_ndcg": best_score,
        "spreads": list(spreads),
        "hybrid_fit": chosen.info.get("groups", ""),
        "hybrid_fit_is_the_runs": chosen is part,
        "hybrid_part": part.info,
        "hybrid_refit": final.info.get("refit"),
        "n_rows": part.info.get("n_rows", 0),
    }
    refitted = "refit" in final.info
    return Fitted(
        u,
        v,
        predict_watch_ratio=final.predict_watch_ratio,
        info=info,
        heldout_user_emb=heldout[0] if refitted else None,
        heldout_item_emb=heldout[1] if refitted else None,
    )
