"""The epoch loop of `kuaicore train`: run each epoch on device-resident rows or streamed batches
(kuaicore.training.epochs), validate each epoch, keep the best epoch, checkpoint, resume exactly, export.

Generic over an Objective (kuaicore.training.objective): any model given as (init, loss, embed) functions
trains here, and a pair scorer (init, loss, score_pairs: the contract's ``score_pairs`` capability) alike:
it is validated by the same protocol on its scores of valid.parquet's pairs and exports eval_scores.npy.

Exact resume: the data order of an epoch is a function of (seed, epoch) and the checkpoint holds parameters,
optimiser state, best parameters and the position (epoch, batch), so a run killed after k steps and resumed
ends with the same parameters as an uninterrupted one. The data path (device or stream) is
chosen by size (kuaicore.training.resident.fits) and recorded; a resume must find the same one.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from kuaicore.art import valid_candidates
from kuaicore.art.stream import n_rows
from kuaicore.config import TrainConfig, to_jsonable
from kuaicore.errors import UsageError
from kuaicore.models.two_tower import TOWER_MODES
from kuaicore.progress import log, timed
from kuaicore.protocol import VALID_K, protocol_ndcg
from kuaicore.runs import RunRecord, check_run_name, run_name
from kuaicore.training import epochs as ep
from kuaicore.training import resident as rs
from kuaicore.training import step as st
from kuaicore.training.artifacts import load_training_data
from kuaicore.training.budget import STEP_BUDGET, resolve_epochs
from kuaicore.training.checkpoint import load_checkpoint, save_checkpoint
from kuaicore.training.compiled import compiled_functions
from kuaicore.training.export import run_arrays, write_run
from kuaicore.training.objective import make_objective, uses_id_embeddings
from kuaicore.training.runner import RunSummary
from kuaicore.training.validation import recall_at_k, sample_positives, valid_loss

# Options that must not change between a checkpoint and its --resume (others, e.g. --epochs, may).

RESUME_KEYS = (
    "model",
    "loss",
    "batch_size",
    "lr",
    "dims",
    "id_embeddings",
    "temperature",
    "weight_decay",
    "clip_norm",
    "cosine_schedule",
    "shuffle_buffer",
    "seed",
    "id_dim",
    "n_candidates",
)


def check_config(cfg: TrainConfig) -> None:
    """UsageError naming the option for values that cannot train."""
    checks = [
        (cfg.epochs >= 0, "--epochs must be >= 0 (0: automatic)"),
        (cfg.batch_size >= 1, "--batch-size must be >= 1"),
        (cfg.lr > 0, "--lr must be > 0"),
        (cfg.temperature > 0, "--temperature must be > 0"),
        (len(cfg.dims) >= 1 and min(cfg.dims) >= 1, "--dims must be positive integers, e.g. 128,64,32"),
        (cfg.max_steps is None or cfg.max_steps >= 1, "--max-steps must be >= 1"),
        (cfg.shuffle_buffer >= 1, "shuffle_buffer must be >= 1"),
        (cfg.n_candidates >= 1, "n_candidates must be >= 1"),
        (cfg.towers in TOWER_MODES, "towers must be auto, rows or entities"),
        (cfg.data_on_device in rs.DATA_MODES, "data_on_device must be auto, device or stream"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)
    if cfg.run is not None:
        check_run_name(cfg.run)  # the one rule for run names (kuaicore.runs)


def _resume_config(cfg: TrainConfig) -> dict[str, Any]:
    full = to_jsonable(cfg)
    return {k: full[k] for k in RESUME_KEYS}


def _to_host(tree: Any) -> Any:
    return jax.tree.map(np.asarray, tree)


def train(cfg: TrainConfig) -> RunSummary:
    """Train, validate and export one run as ``cfg`` says; returns its summary."""
    started = time.perf_counter()
    check_config(cfg)
    data = load_training_data(cfg.art)
    make_objective(cfg, data)  # UsageError for a bad --model/--loss before any device work
    mesh = st.make_mesh()
    log(f"devices: {st.describe_devices(mesh)}")
    n_train = n_rows(data.train_path)
    batch_size = st.effective_batch_size(min(cfg.batch_size, max(n_train, 1)), mesh.size)
    if batch_size != cfg.batch_size:
        log(
            f"batch size {cfg.batch_size} -> {batch_size} (at most the {n_train:,} training rows,"
            f" a multiple of {mesh.size} devices)"
        )
    if cfg.epochs == 0:  # automatic: a budget of steps, with patience (kuaicore.training.budget)
        cfg = resolve_epochs(cfg, n_train, batch_size)
        log(
            f"epochs: at most {cfg.epochs} ({STEP_BUDGET:,} steps of {batch_size:,} rows), stopping after"
            f" {cfg.patience} without a better valid ndcg@{VALID_K}"
        )
    on_device = rs.fits(n_train, mesh, cfg.data_on_device)
    per_epoch = -(-n_train // batch_size)
    unused = ("seed", "batch_size", "shuffle_buffer")
    fixed = {k: v for k, v in _resume_config(cfg).items() if k not in unused} | {"towers": cfg.towers}
    fns = compiled_functions(cfg, data, mesh, per_epoch * cfg.epochs, fixed)
    key = jax.random.key(cfg.seed)
    params = fns.init(key)
    opt_state = fns.opt_init(params)
    best = None
    state: dict[str, Any] = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "best_epoch": None,
        "best_score": None,
        "best_recall": None,
        "loss_sum": 0.0,
        "weight_sum": 0.0,
        "log": [],
        "rng": np.asarray(jax.random.key_data(key)).tolist(),
        "config": {**_resume_config(cfg), "data": "device" if on_device else "stream"},
    }
    run_dir = Path(cfg.art) / "runs" / run_name(cfg)
    ckpt = run_dir / "ckpt.npz"
    if cfg.resume:
        if not ckpt.is_file():
            raise UsageError(f"--resume: no checkpoint at {ckpt}")
        params, opt_state, best, saved = load_checkpoint(ckpt, params, opt_state)
        changed = [k for k in (*RESUME_KEYS, "data") if saved["config"].get(k) != state["config"][k]]
        if changed:
            raise UsageError(f"--resume: options differ from the checkpoint's: {', '.join(changed)}")
        state = saved
        log(
            f"resuming {run_dir.name} at epoch {state['epoch'] + 1}, batch {state['batch']},"
            f" step {state['step']}"
        )

    rep = st.replicated(mesh)
    tables = st.device_tables(data, mesh)
    params, opt_state = jax.device_put(params, rep), jax.device_put(opt_state, rep)
    put = st.batch_putter(mesh)
    if on_device:
        with timed(f"load {n_train:,} training rows onto the devices"):
            rows_on_device, _ = rs.load_rows(data.train_path, mesh)
        with timed("compile train loop"):
            runner = fns.span_for(batch_size, n_train, params, opt_state, tables, rows_on_device)
    else:
        with timed("compile train step"):
            train_step = fns.step_for(batch_size, params, opt_state, tables, put)
    sample = sample_positives(data.valid_path, cfg.valid_users, cfg.seed)
    valid = (valid_candidates(cfg.art), float(data.manifest.get("like_threshold", 2.0)))
    valid_batch = st.effective_batch_size(min(batch_size, max(n_rows(data.valid_path), 1)), mesh.size)
    sync = st.needs_step_sync(mesh)
    total_rows, total_secs = 0, 0.0

    def save(params: Any, opt_state: Any) -> None:
        save_checkpoint(ckpt, _to_host(params), _to_host(opt_state), best, state)

    epochs = ep.Epochs(cfg, data.train_path, state, per_epoch, batch_size, save)
    for epoch in range(state["epoch"], cfg.epochs):
        if cfg.max_steps is not None and state["step"] >= cfg.max_steps:
            break
        t0, cpu0 = time.perf_counter(), time.process_time()
        acc = jax.device_put(st.new_accumulator(state["loss_sum"], state["weight_sum"], state["step"]), rep)
        if on_device:
            carry, rows = ep.resident_epoch(
                epochs, epoch, (params, opt_state, acc), runner, tables, rows_on_device, n_train
            )
        else:
            carry, rows = ep.streamed_epoch(
                epochs, epoch, (params, opt_state, acc), train_step, tables, put, sync
            )
        params, opt_state, _ = carry
        jax.block_until_ready(params)
        secs, cpu_secs = time.perf_counter() - t0, time.process_time() - cpu0
        total_rows, total_secs = total_rows + rows, total_secs + secs
        ep.check_params(epochs, params, epoch)
        if state["batch"] < per_epoch:  # stopped by --max-steps inside the epoch
            save(params, opt_state)
            log(f"stopped after step {state['step']} (--max-steps); `--resume` continues from here")
            break
        entry = _validate(cfg, params, tables, fns, data, put, valid_batch, sample, valid)
        entry.update(
            epoch=epoch + 1,
            step=state["step"],
            seconds=round(secs, 3),
            cpu_seconds=round(cpu_secs, 3),
            loss=state["loss_sum"] / max(state["weight_sum"], 1e-12),
            samples_per_s=round(rows / max(secs, 1e-9), 1),
        )
        state["log"].append(entry)
        # validate as you evaluate: the evaluation protocol on valid.parquet picks the epoch
        ndcg = entry["valid_ndcg"]
        score = ndcg if not math.isnan(ndcg) else -entry["valid_loss"]
        if state["best_score"] is None or score > state["best_score"]:
            best = _to_host(params)
            state.update(best_epoch=epoch + 1, best_score=score, best_recall=entry["recall"])
        log(
            f"epoch {epoch + 1}: loss {entry['loss']:.4f}, valid loss {entry['valid_loss']:.4f}, "
            f"valid ndcg@{VALID_K} {ndcg:.4f}, recall@{cfg.recall_k} {entry['recall']:.4f},"
            f" {entry['samples_per_s']:,.0f} samples/s"
        )
        state.update(epoch=epoch + 1, batch=0, loss_sum=0.0, weight_sum=0.0)
        save(params, opt_state)
        if (
            cfg.patience
            and state["best_epoch"] is not None
            and epoch + 1 - state["best_epoch"] >= cfg.patience
        ):
            log(
                f"early stop: valid ndcg@{VALID_K} has not improved for {cfg.patience} epoch(s) (--patience);"
                f" keeping epoch {state['best_epoch']}"
            )
            break

    final = best if best is not None else _to_host(params)
    arrays = run_arrays(fns, final, tables, data, cfg.loss)
    spec = dict(fns.spec)
    score = spec.pop("score")
    info = {
        "spec": spec,
        "devices": st.describe_devices(mesh),
        "effective_batch_size": batch_size,
        "batches_per_epoch": per_epoch,
        "steps": state["step"],
        "data": state["config"]["data"],
        "epochs_done": state["epoch"],
        "best_epoch": state["best_epoch"],
        "exported": "best epoch" if best is not None else "last step",
    }
    if fns.pairs is None:  # the two-tower's --id-embeddings (a pair scorer's spec says what it embeds)
        info["id_embeddings"] = uses_id_embeddings(cfg)
    record = RunRecord(cfg.model, to_jsonable(cfg), None, score, info)
    write_run(run_dir, final, arrays, record, state["log"])
    summary = RunSummary(
        run_dir,
        state["epoch"],
        state["step"],
        state["best_epoch"],
        state["best_score"],
        total_rows / max(total_secs, 1e-9),
        time.perf_counter() - started,
    )
    log(summary.line())
    return summary


def _validate(cfg, params, tables, fns, data, put, batch_size, sample, valid) -> dict:
    """Validation loss, the evaluation protocol's ndcg@10 on valid.parquet (each user's held-out rows
    ranked, relevant = the like rule: kuaicore.protocol) and full-catalogue recall@K (NaN for a pair
    scorer, which is not scored against the whole catalogue)."""
    vloss = valid_loss(fns.eval_step, params, tables, data.valid_path, batch_size, put)
    cands, threshold = valid
    if fns.pairs is not None:
        users = np.repeat(cands.users, np.diff(cands.indptr))
        scores = st.score_all_pairs(fns.pairs, params, tables, users, cands.items)
        ndcg = protocol_ndcg(cands, threshold, VALID_K, scores=scores)
        return {"valid_loss": vloss, "valid_ndcg": ndcg, "recall": float("nan")}
    user_emb = st.embed_all(fns.users, params, tables, data.n_users)
    item_emb = st.embed_all(fns.items, params, tables, data.n_items)
    return {
        "valid_loss": vloss,
        "valid_ndcg": protocol_ndcg(cands, threshold, VALID_K, user_emb=user_emb, item_emb=item_emb),
        "recall": recall_at_k(user_emb, item_emb, sample, cfg.recall_k),
    }
