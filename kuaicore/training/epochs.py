"""One training epoch, on either path: streamed batches (a jitted step per batch) or device-resident rows (a
jitted loop per span of steps). Both stop at --max-steps, checkpoint every --checkpoint-every steps, keep the
position in ``state`` (epoch, batch, step) for an exact resume, and stop with a ``TrainingError`` naming the
step when the loss stops being finite.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from kuaicore.art.stream import Prefetcher, epoch_batches
from kuaicore.config import TrainConfig
from kuaicore.errors import TrainingError
from kuaicore.progress import bar
from kuaicore.training import resident as rs
from kuaicore.training.artifacts import TRAIN_COLUMNS


@dataclass(frozen=True)
class Epochs:
    """What every epoch of a run shares; ``state`` is the loop's (mutated) position and sums."""

    cfg: TrainConfig
    train_path: Path
    state: dict[str, Any]
    per_epoch: int
    batch_size: int
    save: Callable[[Any, Any], None]  # (params, opt_state) -> writes the checkpoint


def diverged(cfg: TrainConfig, epoch: int, step: int) -> TrainingError:
    """The error of a loss that became NaN or infinite."""
    return TrainingError(
        f"the training loss became non-finite (NaN or inf) at epoch {epoch + 1}, step {step}; training"
        f" stopped, nothing exported. Try a lower --lr (now {cfg.lr:g}, e.g. --lr {cfg.lr / 10:g})"
    )


def check_finite(run: Epochs, acc: np.ndarray, epoch: int) -> None:
    """TrainingError when ``acc`` (host copy of step.accumulate's vector) records a non-finite loss."""
    if acc[3] > 0:
        raise diverged(run.cfg, epoch, int(acc[3]))
    if not math.isfinite(float(acc[0])):
        raise diverged(run.cfg, epoch, int(acc[2]))


def check_params(run: Epochs, params: Any, epoch: int) -> None:
    """TrainingError when a parameter is not finite (a last update that overflowed)."""
    if not all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(params)):
        raise diverged(run.cfg, epoch, run.state["step"])


def _keep_sums(run: Epochs, acc: np.ndarray) -> None:
    run.state["loss_sum"], run.state["weight_sum"] = float(acc[0]), float(acc[1])


def _due(run: Epochs) -> tuple[bool, bool]:
    """(checkpoint now, stop now) after the step just counted."""
    cfg, step = run.cfg, run.state["step"]
    return (
        bool(cfg.checkpoint_every) and step % cfg.checkpoint_every == 0,
        cfg.max_steps is not None and step >= cfg.max_steps,
    )


def streamed_epoch(
    run: Epochs, epoch: int, carry: tuple, train_step: Callable, tables: dict, put: Callable, sync: bool
) -> tuple[tuple, int]:
    """Stream the epoch's shuffled batches through ``train_step``; returns ((params, opt, acc), real rows)."""
    cfg, state = run.cfg, run.state
    params, opt_state, acc = carry
    source = epoch_batches(
        run.train_path,
        TRAIN_COLUMNS,
        run.batch_size,
        seed=cfg.seed,
        epoch=epoch,
        shuffle=True,
        shuffle_buffer=cfg.shuffle_buffer,
        skip=state["batch"],
    )
    t0, rows = time.perf_counter(), 0
    with Prefetcher(source) as batches, bar(run.per_epoch, f"epoch {epoch + 1}/{cfg.epochs}") as pb:
        pb.item_show_func = lambda s: s
        pb.update(state["batch"])
        for host_batch in batches:
            batch, n_real = put(host_batch)  # async; on this thread, see step.batch_putter
            params, opt_state, _, acc = train_step(params, opt_state, tables, batch, acc)
            if sync:
                acc.block_until_ready()
            rows += n_real
            state["batch"] += 1
            state["step"] += 1
            shown = None
            if state["batch"] % 50 == 0 or state["batch"] == run.per_epoch:
                host = np.asarray(acc)
                check_finite(run, host, epoch)
                rate = rows / max(time.perf_counter() - t0, 1e-9)
                shown = f"loss {host[0] / max(host[1], 1e-12):.4f}  {rate:,.0f} samples/s"
            pb.update(1, shown)
            checkpoint, stop = _due(run)
            if checkpoint:
                host = np.asarray(acc)
                check_finite(run, host, epoch)
                _keep_sums(run, host)
                run.save(params, opt_state)
            if stop:
                break
    host = np.asarray(acc)
    check_finite(run, host, epoch)
    _keep_sums(run, host)
    return (params, opt_state, acc), rows


def _span_end(run: Epochs) -> int:
    """The batch (exclusive) the next span of an epoch runs to: the epoch's end, the next checkpoint or
    --max-steps, whichever comes first."""
    cfg, state = run.cfg, run.state
    end = run.per_epoch
    if cfg.checkpoint_every:
        end = min(end, state["batch"] + cfg.checkpoint_every - state["step"] % cfg.checkpoint_every)
    if cfg.max_steps is not None:
        end = min(end, state["batch"] + max(cfg.max_steps - state["step"], 0))
    return end


def resident_epoch(
    run: Epochs, epoch: int, carry: tuple, span_runner: Callable, tables: dict, rows: jax.Array, n_rows: int
) -> tuple[tuple, int]:
    """Run the epoch over the device-resident ``rows`` in as few jitted spans as checkpoints allow."""
    cfg, state = run.cfg, run.state
    params, opt_state, acc = carry
    keys = rs.epoch_keys(cfg.seed, epoch)
    done_rows = 0
    with bar(run.per_epoch, f"epoch {epoch + 1}/{cfg.epochs}") as pb:
        pb.item_show_func = lambda s: s
        pb.update(state["batch"])
        while state["batch"] < run.per_epoch:
            start, stop = state["batch"], _span_end(run)
            if stop <= start:
                break
            params, opt_state, acc = span_runner(
                params, opt_state, tables, rows, keys, np.int32(start), np.int32(stop), acc
            )
            host = np.asarray(acc)  # waits for the span
            check_finite(run, host, epoch)
            done_rows += min(stop * run.batch_size, n_rows) - min(start * run.batch_size, n_rows)
            state["batch"], state["step"] = stop, state["step"] + stop - start
            pb.update(stop - start, f"loss {host[0] / max(host[1], 1e-12):.4f}")
            _keep_sums(run, host)
            checkpoint, halt = _due(run)
            if checkpoint:
                run.save(params, opt_state)
            if halt:
                break
    return (params, opt_state, acc), done_rows
