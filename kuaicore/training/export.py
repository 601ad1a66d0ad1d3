"""Write a finished run of the JAX loop: its arrays, then ``runs/NAME/`` through the one run writer.

An embedding model exports user_emb.npy and item_emb.npy (+ eval_pred.npy for mse: the watch ratio its
cosine predicts); a pair scorer (the contract's ``score_pairs`` capability) exports eval_scores.npy, its
score of every eval.parquet row (+ eval_pred.npy when the score is its watch-ratio prediction).
:func:`kuaicore.runs.write_run` writes them into ``runs/NAME.tmp-PID`` and swaps it in by renames, keeps
ckpt.npz (so that ``--resume`` still finds it) and points ``runs/latest`` at the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from kuaicore import runs
from kuaicore.art import eval_pairs, layout
from kuaicore.models.losses import LOSSES
from kuaicore.training import step as st


def flat_params(params: Any) -> dict[str, np.ndarray]:
    """Parameter leaves keyed by their tree path, e.g. ``user/0/w``."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        key = "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        out[key] = np.asarray(leaf)
    return out


def run_arrays(fns: Any, params: Any, tables: dict, data: Any, loss: str) -> dict[str, np.ndarray]:
    """The arrays of a run of ``fns`` (kuaicore.training.compiled.Compiled) with ``params``: embeddings, or
    the pair scores of eval.parquet's rows; eval_pred where the model predicts the watch ratio."""
    has_eval = (Path(data.art) / layout.EVAL).is_file()
    if fns.pairs is not None:
        if not has_eval:
            return {}
        scores = st.score_all_pairs(fns.pairs, params, tables, *eval_pairs(data.art))
        return {"eval_scores": scores} | ({"eval_pred": scores} if fns.predicts_watch_ratio else {})
    user_emb = st.embed_all(fns.users, params, tables, data.n_users)
    item_emb = st.embed_all(fns.items, params, tables, data.n_items)
    arrays = {"user_emb": user_emb, "item_emb": item_emb}
    if has_eval and loss in LOSSES and LOSSES[loss].predicts_watch_ratio:
        arrays["eval_pred"] = mse_eval_predictions(eval_pairs(data.art), user_emb, item_emb, data.cap)
    return arrays


def mse_eval_predictions(
    pairs: tuple[np.ndarray, np.ndarray],
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    cap: float,
    chunk: int = 1 << 17,
) -> np.ndarray:
    """eval_pred.npy of an mse run: predicted watch ratio (cosine + 1) / 2 * cap of each (user, item)
    pair, ``chunk`` pairs at a time (gathering the vectors of 1M pairs took 256 MB at full scale)."""
    users, items = pairs
    pred = np.empty(len(users), np.float32)
    for start in range(0, len(users), chunk):
        sl = slice(start, start + chunk)
        cos = np.einsum("ij,ij->i", user_emb[users[sl]], item_emb[items[sl]])
        pred[sl] = (cos + 1.0) * 0.5 * cap
    return pred


def write_run(
    run_dir: Path,
    params: Any,
    arrays: dict[str, np.ndarray],
    record: runs.RunRecord,
    log: list[dict[str, Any]],
) -> Path:
    """Atomically (re)place ``run_dir`` with a JAX model's ``arrays`` (each as NAME.npy, float32) and its
    parameters, through :func:`kuaicore.runs.write_run` (the one run writer)."""
    arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in arrays.items()}
    return runs.write_run(run_dir, arrays, record, log, params=flat_params(params))
