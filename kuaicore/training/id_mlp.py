"""Train the id-mlp model (kuaicore.models.id_mlp): streamed shuffled minibatches (kuaicore.art.stream),
optax (kuaicore.training.optim), one jitted step, validation MSE per epoch (the best epoch is kept). It
follows the fit contract (kuaicore.models.contract) with the ``score_pairs`` capability: the run writer
stores the predicted capped watch ratio of every eval.parquet row as ``eval_scores.npy`` = ``eval_pred.npy``.

Simpler than the two-tower loop on purpose: one device, no checkpoints or --resume (a few epochs take
seconds to minutes); the data order is a function of (seed, epoch) as there.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kuaicore.art import layout
from kuaicore.art.stream import Prefetcher, epoch_batches, n_batches
from kuaicore.config import to_jsonable
from kuaicore.models import id_mlp
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.progress import bar, log
from kuaicore.training.artifacts import load_training_data
from kuaicore.training.export import flat_params
from kuaicore.training.optim import make_optimizer

COLUMNS = layout.PAIR_TARGET


def _predict_rows(
    params, item_features, pairs: tuple[np.ndarray, np.ndarray], chunk: int = 1 << 18
) -> np.ndarray:
    users, items = pairs
    fn = jax.jit(id_mlp.predict)
    out = np.empty(users.size, np.float32)
    for s in range(0, users.size, chunk):
        u, i = users[s : s + chunk], items[s : s + chunk]
        n = u.size
        if n < chunk:  # pad to the jitted shape
            u, i = np.pad(u, (0, chunk - n)), np.pad(i, (0, chunk - n))
        out[s : s + n] = np.asarray(fn(params, item_features, jnp.asarray(u), jnp.asarray(i)))[:n]
    return out


def fit_art(model_data: ModelData, options: None = None) -> Fitted:
    """Fit id-mlp on ART's training rows as the run's TrainConfig says (epochs, batch size, lr, seed,
    max_steps); a pair scorer (no embeddings) that also predicts the capped watch ratio."""
    cfg = model_data.config
    data = load_training_data(cfg.art)
    spec = id_mlp.IdMlpSpec(data.n_users, data.n_items, data.item_features.shape[1])
    feats = jnp.asarray(data.item_features)
    params = id_mlp.init(jax.random.key(cfg.seed), spec)
    per_epoch = n_batches(data.train_path, cfg.batch_size)
    opt = make_optimizer(cfg, per_epoch * cfg.epochs)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(id_mlp.mse)(params, feats, batch)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    loss_fn = jax.jit(id_mlp.mse)
    log(f"devices: {jax.devices()[0].platform} (id-mlp trains on one device)")
    best, best_loss, history, started, steps = params, np.inf, [], time.perf_counter(), 0
    for epoch in range(cfg.epochs):
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            break
        t0, rows, total = time.perf_counter(), 0, 0.0
        source = epoch_batches(data.train_path, COLUMNS, cfg.batch_size, seed=cfg.seed, epoch=epoch)
        with Prefetcher(source) as batches, bar(per_epoch, f"epoch {epoch + 1}/{cfg.epochs}") as pb:
            for b in batches:
                params, opt_state, loss = step(params, opt_state, b)
                n = int(b["mask"].sum())
                rows, total, steps = rows + n, total + float(loss) * n, steps + 1
                pb.update(1)
                if cfg.max_steps is not None and steps >= cfg.max_steps:
                    break
        v_rows, v_total = 0, 0.0
        for b in epoch_batches(data.valid_path, COLUMNS, cfg.batch_size, shuffle=False):
            n = int(b["mask"].sum())
            v_rows, v_total = v_rows + n, v_total + float(loss_fn(params, feats, b)) * n
        secs = time.perf_counter() - t0
        entry = {
            "epoch": epoch + 1,
            "loss": total / max(rows, 1),
            "valid_loss": v_total / max(v_rows, 1),
            "seconds": round(secs, 3),
            "samples_per_s": round(rows / max(secs, 1e-9), 1),
        }
        history.append(entry)
        log(
            f"epoch {epoch + 1}: loss {entry['loss']:.4f}, valid loss {entry['valid_loss']:.4f}, "
            f"{entry['samples_per_s']:,.0f} samples/s"
        )
        if entry["valid_loss"] < best_loss:
            best, best_loss = params, entry["valid_loss"]
    info = {"spec": to_jsonable(spec), "best_valid_loss": best_loss, "epochs_done": len(history)}
    log(
        f"id-mlp: {len(history)} epoch(s), best valid loss {best_loss:.4f},"
        f" {time.perf_counter() - started:.1f}s"
    )

    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return _predict_rows(best, feats, (users, items))

    return Fitted(
        score_pairs=predict, predict_watch_ratio=predict, info=info, params=flat_params(best), log=history
    )
