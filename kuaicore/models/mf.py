"""`mf`: biased matrix factorisation of explicit feedback, the classic model for "how much will u like i".

Each observed (user, video) pair has one rating ``r_ui``: its training rows' mean capped watch ratio, on a
log scale by default (``target="log"``: ``log1p``, which tames the long tail of re-watch loops) or as it is
(``"capped"``). The model ``r_ui ~ mu + b_u + b_i + x_u . y_i`` is fitted on observed pairs only by
alternating exact ridge solves (:mod:`kuaicore.kernels.mf`), ``iterations`` times from a seeded start.
The factors' penalty is chosen on the validation split: each penalty of ``reg`` (weakest first) is fitted
in turn, warm-started, and the fit the evaluation protocol scores best on valid.parquet is kept (a penalty
past the ratings' signal shrinks the factors to nothing, and where that lies differs between datasets).
Weakest first because zero factors are a fixed point of the alternation: a path that starts from a penalty
that collapses them cannot recover with a weaker one. Then each smaller rank of ``ranks`` starts from the
best fit's factor product truncated to it (:func:`truncate_factors`) and is kept where valid scores better.
It ends as embeddings like every model: ``user_emb = [x_u, b_u, 1]``, ``item_emb = [y_i, 1, mu + b_i]``, so
``user_emb[u] . item_emb[i]`` is the predicted rating; :func:`predict_watch_ratio` maps it back to a capped
watch ratio (for MAE/RMSE). Unlike implicit ALS it ranks by predicted satisfaction, not by exposure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kuaicore.errors import UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.interactions import Interactions
from kuaicore.options import number_list
from kuaicore.protocol import VALID_K, Validation

TARGETS = ("log", "capped")
REGS = "0.02,0.03,0.05"
"""The factor penalties mf and hybrid try by default, weakest first (BENCHMARKS.md "Choosing the factor
penalty on valid": the twin's taste worlds score best on valid at 0.02-0.03, the others at 0.03-0.05)."""
RANKS = "8"
"""The smaller numbers of factors mf and hybrid try after their penalty paths (BENCHMARKS.md "A rank chosen
on valid": where the taste has few dimensions, fewer factors rank unseen pairs better)."""


def smaller_ranks(ranks: str | int, factors: int) -> tuple[int, ...]:
    """``--option ranks``: numbers of factors to try after the penalty path (comma-separated integers >= 1,
    largest first; "" for none); those not below ``factors`` are dropped (nothing to truncate)."""
    values = number_list(str(ranks), lambda v: v >= 1 and float(v).is_integer())
    if values is None:
        raise UsageError(f"--option ranks={ranks}: expected whole numbers >= 1, comma-separated, or empty")
    kept = sorted({int(v) for v in values if v < factors}, reverse=True)
    return tuple(kept)


def truncate_factors(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best rank-``k`` approximation of the factor product ``x @ y.T``, as factors ``(x_k, y_k)`` with
    ``k`` columns each, split evenly (``x_k = U_k S_k^1/2``, ``y_k = V_k S_k^1/2``): the warm start of a
    smaller rank. Computed from thin QRs, never the [n_users, n_items] product."""
    qx, rx = np.linalg.qr(x)
    qy, ry = np.linalg.qr(y)
    u, s, vt = np.linalg.svd(rx @ ry.T)
    root = np.sqrt(s[:k])
    return qx @ (u[:, :k] * root), qy @ (vt[:k].T * root)


def factor_penalties(reg: str | float) -> tuple[float, ...]:
    """``--option reg``: one penalty or several, comma-separated, each finite and > 0 (a number, as tune
    samples it, is one penalty); UsageError naming the option otherwise."""
    values = number_list(str(reg), lambda v: bool(np.isfinite(v)) and v > 0)
    if not values:
        raise UsageError(f"--option reg={reg}: expected numbers > 0, comma-separated (e.g. {REGS})")
    return values


@dataclass(frozen=True)
class MFOptions:
    """Factors, iterations, regularisation (per observation), rating scale and seed of biased MF.

    ``reg``: the factors' penalty, or several (comma-separated, weakest first): the first is fitted for
    ``iterations``, each next one from the best fit so far for ``path_iterations``, and the fit that scores
    best by the evaluation protocol on valid.parquet is kept (without validation rows: the last). The path
    stops at the first penalty that scores worse than the best so far.

    ``ranks``: smaller numbers of factors to try after the penalty path (comma-separated, largest first; ""
    for none; those not below ``factors`` are skipped), with validation only: each starts from the best fit
    so far, its factor product truncated to that rank (the best rank-k approximation, by SVD), and is
    fitted for ``path_iterations`` at its penalty; kept where it scores better, stopping at the first that
    scores worse. Where the taste has few dimensions the spare factors fit noise: on the twin's
    ``collaborative`` world (planted rank 8) 8 factors rank unseen pairs better than 16, and valid shows it.

    ``iterations`` is 40, not the dozen at which the training RMSE flattens: the ranking of *unseen* pairs
    keeps improving for tens of iterations more (0.81 -> 0.93 of the oracle from 12 to 50 on a latent-factor
    world; kuaicore.models.hybrid says why).

    ``refit``: once validation has chosen the penalty and the rank, the chosen fit is fitted again on the
    training and validation rows together, as the hybrid's ``refit`` (the run keeps the chosen fit for tests
    on the validation rows); false: the fit on the training rows."""

    factors: int = 16
    iterations: int = 40
    path_iterations: int = 15
    reg: str = REGS
    ranks: str = RANKS
    bias_reg: float = 0.01
    target: str = "log"
    init_scale: float = 0.1
    refit: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise UsageError(f"--target: {self.target!r} is not one of {', '.join(TARGETS)}")
        for name in ("factors", "iterations", "path_iterations"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("bias_reg", "init_scale"):
            value = getattr(self, name)
            if not (value >= 0 and np.isfinite(value)):
                raise UsageError(f"--{name.replace('_', '-')}: must be a finite number >= 0, got {value}")
        factor_penalties(self.reg)
        self.ranks_to_try()

    def regs(self) -> tuple[float, ...]:
        """The factor penalties to fit, in order."""
        return factor_penalties(self.reg)

    def ranks_to_try(self) -> tuple[int, ...]:
        """The smaller ranks to try after the penalty path, largest first."""
        return smaller_ranks(self.ranks, self.factors)


def ratings(data: Interactions, target: str) -> sp.csr_matrix:
    """(user x item) CSR of each observed pair's rating (float64, sorted indices)."""
    mean = data.mean_target().astype(np.float64)
    values = np.log1p(np.maximum(mean, 0.0)) if target == "log" else mean
    return sp.csr_matrix((values, data.matrix.indices, data.matrix.indptr), data.shape)


def to_watch_ratio(rating: np.ndarray, target: str) -> np.ndarray:
    """A predicted rating back on the watch-ratio scale (never below 0, as no watch ratio is)."""
    return np.maximum(np.expm1(rating) if target == "log" else rating, 0.0)


def fit(
    data: Interactions,
    options: MFOptions = MFOptions(),
    on_iteration: Callable[[int, float, float], None] | None = None,
    validation: Validation | None = None,
    choice: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit biased MF; returns ``(user_emb f32[n_users, f+2], item_emb f32[n_items, f+2], info)`` of the
    penalty of ``options.reg`` that ``validation`` scores best (without it: the last one fitted).
    ``choice`` (without validation): the ``reg`` and ``factors`` that an earlier fit's validation chose;
    the path runs through the penalties up to it and down the ranks to that one, the same fit on the same
    rows (the refit on train + valid, :func:`fit_art`).

    ``info["train_rmse"]``: RMSE of the ratings after each iteration (all stages); ``info["reg_path"]``: each
    penalty's iterations, final train RMSE and valid ndcg; ``on_iteration(it, rmse, seconds)`` is called
    after each iteration."""
    from kuaicore.kernels.mf import mf_half_step, mf_squared_error

    r = ratings(data, options.target)
    rt = r.T.tocsr()
    rt.sort_indices()
    n_users, n_items = data.shape
    mu = float(r.data.mean()) if r.nnz else 0.0
    rng = np.random.default_rng(options.seed)
    x = np.zeros((n_users, options.factors))
    bu = np.zeros(n_users)
    y = rng.standard_normal((n_items, options.factors)) * options.init_scale
    bi = np.zeros(n_items)
    rmses, seconds, path = [], [], []
    best = None  # (index in path, user_emb, item_emb, (x, y, bu, bi)) of the best fit so far
    regs = options.regs()
    # Each penalty stage continues from the fit before it, which is always the best so far: the path stops
    # at the first stage that scores worse (and without validation the last fit counts as the best). Then
    # each smaller rank starts from the best fit's factor product truncated to it (validation only), and
    # the ranks stop at the first that scores worse too.
    ranks = options.ranks_to_try() if validation is not None else ()
    stages = [(reg, options.factors) for reg in regs] + [(None, k) for k in ranks]
    if choice is not None:  # replay the path to the chosen penalty, then down the ranks to the chosen one
        stages = [(reg, options.factors) for reg in regs[: regs.index(choice["reg"]) + 1]]
        if choice["factors"] != options.factors:  # each rank before it was kept (the ranks stop at a worse)
            stages += [(None, k) for k in options.ranks_to_try() if k >= choice["factors"]]
    passed = {"reg": False, "rank": False}  # a stage of this path scored worse than the best so far
    for stage, (reg, k) in enumerate(stages):
        path_name = "rank" if reg is None else "reg"
        if passed[path_name]:
            continue
        if reg is None:  # a smaller rank, from the best fit (its penalty, its biases)
            reg = path[best[0]]["reg"]
            x0, y0, bu0, bi0 = best[3]
            x, y = truncate_factors(x0, y0, k)
            bu, bi = bu0.copy(), bi0.copy()
        for _ in range(options.iterations if stage == 0 else options.path_iterations):
            start = time.perf_counter()
            mf_half_step(r.indptr, r.indices, r.data, y, bi, mu, reg, options.bias_reg, x, bu)
            mf_half_step(rt.indptr, rt.indices, rt.data, x, bu, mu, reg, options.bias_reg, y, bi)
            seconds.append(time.perf_counter() - start)
            sse = mf_squared_error(r.indptr, r.indices, r.data, x, bu, y, bi, mu)
            rmses.append(float(np.sqrt(sse / max(r.nnz, 1))))
            if on_iteration is not None:
                on_iteration(len(rmses) - 1, rmses[-1], seconds[-1])
        user_emb = np.column_stack([x, bu, np.ones(n_users)]).astype(np.float32)
        item_emb = np.column_stack([y, np.ones(n_items), mu + bi]).astype(np.float32)
        score = validation.ndcg(user_emb, item_emb) if validation is not None else float("nan")
        path.append(
            {"reg": reg, "factors": k, "iterations": len(rmses), "train_rmse": rmses[-1], "valid_ndcg": score}
        )
        if best is None or validation is None or score > path[best[0]]["valid_ndcg"]:
            best = (len(path) - 1, user_emb, item_emb, (x.copy(), y.copy(), bu.copy(), bi.copy()))
        else:
            passed[path_name] = True  # worse than the best so far: this path has passed its best
    chosen = path[best[0]]
    info = {
        "factors": chosen["factors"],
        "iterations": options.iterations,
        "reg": chosen["reg"],
        "reg_path": path,
        "valid_ndcg": chosen["valid_ndcg"],
        "bias_reg": options.bias_reg,
        "target": options.target,
        "global_mean": mu,
        "pairs": int(r.nnz),
        "train_rmse": rmses,
        "seconds": seconds,
    }
    return best[1], best[2], info


def predict_watch_ratio(
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    target: str,
    chunk: int = 1 << 18,
) -> np.ndarray:
    """Predicted capped watch ratio (float32) of each (user, item) pair, ``chunk`` pairs at a time (the
    gathered float64 rows of 4.7M eval pairs would otherwise take gigabytes)."""
    out = np.empty(len(users), dtype=np.float32)
    for lo in range(0, len(users), chunk):
        u, i = users[lo : lo + chunk], items[lo : lo + chunk]
        rating = np.einsum("ij,ij->i", user_emb[u].astype(np.float64), item_emb[i].astype(np.float64))
        out[lo : lo + chunk] = to_watch_ratio(rating, target)
    return out


def fit_art(data: ModelData, options: MFOptions) -> Fitted:
    """The fit contract (kuaicore.models.contract): MF of ART's training rows, a watch-ratio predictor; its
    factor penalty chosen on valid.parquet by the evaluation protocol when ``reg`` lists several."""
    regs = options.regs()
    validation = data.validation if len(regs) > 1 or options.ranks_to_try() else None
    stages = len(regs) + (len(options.ranks_to_try()) if validation is not None else 0)
    total = options.iterations + options.path_iterations * (stages - 1)

    def progress(it: int, rmse: float, secs: float) -> None:
        if it == 0 or (it + 1) % 10 == 0 or it + 1 == total:  # a line per 10, not per iteration
            data.log(f"  mf iteration {it + 1}/{total}: train rmse {rmse:.5f}, {secs:.2f}s")

    u, v, info = fit(data.interactions, options, on_iteration=progress, validation=validation)
    for step in info["reg_path"] if validation is not None else ():  # one stage: nothing was compared
        data.log(
            f"  reg {step['reg']:g}, {step['factors']} factors: valid ndcg@{VALID_K} {step['valid_ndcg']:.4f}"
        )
    held = (None, None)
    if options.refit and validation is not None:  # the chosen fit again, on train + valid
        began = time.perf_counter()
        both = data.interactions_with_valid
        data.log(f"  refitting the chosen fit on the training and validation rows ({both.n_rows:,} rows)")
        held = (u, v)
        u, v, refit_info = fit(both, options, choice={"reg": info["reg"], "factors": info["factors"]})
        info["refit"] = {
            "rows": int(both.n_rows),
            "pairs": int(both.matrix.nnz),
            "global_mean": refit_info["global_mean"],
            "seconds": time.perf_counter() - began,
        }
    return Fitted(
        u,
        v,
        predict_watch_ratio=lambda users, items: predict_watch_ratio(u, v, users, items, options.target),
        info=info,
        heldout_user_emb=held[0],
        heldout_item_emb=held[1],
    )
