"""`kuaicore train`'s one entry point: ``train(config) -> RunSummary`` for every model.

The model comes from the registry (kuaicore.models.registry) or a user's file (kuaicore.models.resolve). A
model of the JAX loop trains in kuaicore.training.loop through its objective; every other model follows
the fit contract (kuaicore.models.contract): ``fit(ModelData, options) -> Fitted``, whose outputs this module
turns into the run's files (embeddings, or ``eval_scores.npy`` from a pair scorer; ``eval_pred.npy`` from a
watch-ratio predictor) through the one run writer, kuaicore.runs.write_run. No JAX is imported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.config import TrainConfig, to_jsonable
from kuaicore.errors import UsageError
from kuaicore.progress import log


@dataclass(frozen=True)
class RunSummary:
    """What `kuaicore train` reports at the end, for every model."""

    run_dir: Path
    epochs_done: int
    steps: int
    best_epoch: int | None
    best_score: float | None  # valid ndcg@10 of the best epoch (minus the valid loss where it is NaN)
    samples_per_s: float
    seconds: float

    @property
    def name(self) -> str:
        return self.run_dir.name

    def __fspath__(self) -> str:  # a summary is usable where a run folder is expected: Path(summary)
        return str(self.run_dir)

    def line(self) -> str:
        best = (
            "none" if self.best_epoch is None else f"{self.best_epoch} (valid ndcg@10 {self.best_score:.4f})"
        )
        return (
            f"trained {self.run_dir.name}: {self.epochs_done} epoch(s), {self.steps} steps,"
            f" best epoch {best}, {self.samples_per_s:,.0f} samples/s, {self.seconds:.1f}s"
            f" -> {self.run_dir}"
        )


def train(cfg: TrainConfig) -> RunSummary:
    """Train ``cfg.model`` on ``cfg.art`` into ``runs/NAME`` (``cfg.run`` or the model's default name),
    holding the run's lock; returns the summary."""
    from kuaicore.art import read_manifest
    from kuaicore.models.resolve import resolve
    from kuaicore.runs import check_run_name, run_lock, run_name
    from kuaicore.training.compile_cache import configure_compilation_cache

    configure_compilation_cache()  # compiled programs kept on disk between runs, before JAX is imported
    model = resolve(cfg.model)
    name = check_run_name(run_name(cfg))
    read_manifest(cfg.art)  # a clear error for a folder that is not an ART, before runs/ is made in it
    with run_lock(cfg.art, name):
        if model.trains_in_loop:
            if cfg.options:
                raise UsageError(f"--option: {model.name} takes no --option (its settings are train's flags)")
            from kuaicore.training.devices import configure_cpu_devices

            configure_cpu_devices()  # one XLA device per CPU core, before JAX is imported
            from kuaicore.training.loop import train as train_in_loop

            return train_in_loop(cfg)
        return fit_run(cfg, model, name)


def fit_run(cfg: TrainConfig, model: Any, name: str) -> RunSummary:
    """Fit a model of the fit contract and write ``runs/name`` (the caller holds the run's lock)."""
    from kuaicore.models.contract import ModelData

    options = model.make_options(cfg.options, seed=cfg.seed)
    data = ModelData(cfg)
    start = time.perf_counter()
    fitted = model.fit(data, options)
    seconds = time.perf_counter() - start
    run_dir, steps = write_fitted(cfg, model, name, data, fitted, options, seconds)
    log(f"trained {name}: {model.name} in {seconds:.1f}s -> {run_dir}")
    n_rows = int(fitted.info.get("n_rows", 0) or 0)
    return RunSummary(run_dir, steps, steps, None, None, n_rows / max(seconds, 1e-9), seconds)


def write_fitted(
    cfg: TrainConfig, model: Any, name: str, data: Any, fitted: Any, options: Any, seconds: float
) -> tuple[Path, int]:
    """Write what ``model`` fitted (with ``options``, in ``seconds``) on ``data`` as run ``runs/name`` of
    ``cfg.art``, recording ``cfg`` as its TrainConfig (the caller holds the run's lock); the folder and the
    number of log rows."""
    from kuaicore.runs import RunRecord, runs_dir, write_run

    arrays, score = run_arrays(model.name, fitted, data)
    info = dict(fitted.info)
    n_rows = int(info.get("n_rows", 0) or 0)
    rows = fitted.log or [{"epoch": 1, "step": 1, "seconds": seconds, "rows": n_rows}]
    options_json = to_jsonable(options) if options is not None else None
    record = RunRecord(model.name, to_jsonable(cfg), options_json, score, info)
    return write_run(runs_dir(cfg.art) / name, arrays, record, rows, params=fitted.params), len(rows)


def run_arrays(name: str, fitted: Any, data: Any) -> tuple[dict[str, np.ndarray], str]:
    """The run's arrays from a ``Fitted`` (checked against the ART's sizes) and what its score means."""
    from kuaicore.errors import ArtifactError

    arrays: dict[str, np.ndarray] = {}
    pairs = None
    if fitted.has_embeddings:
        u, v = np.asarray(fitted.user_emb), np.asarray(fitted.item_emb)
        if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
            raise ArtifactError(f"{name}: user_emb {u.shape} and item_emb {v.shape} must be [n, d] of one d")
        if (u.shape[0], v.shape[0]) != (data.n_users, data.n_items):
            raise ArtifactError(
                f"{name}: embeddings for {u.shape[0]} users x {v.shape[0]} items, but the ART has"
                f" {data.n_users} x {data.n_items}"
            )
        arrays.update(user_emb=u, item_emb=v)
        score = "dot(user_emb, item_emb)"
        if fitted.heldout_user_emb is not None and fitted.heldout_item_emb is not None:
            hu, hv = np.asarray(fitted.heldout_user_emb), np.asarray(fitted.heldout_item_emb)
            if hu.shape[0] != u.shape[0] or hv.shape[0] != v.shape[0] or hu.shape[1] != hv.shape[1]:
                raise ArtifactError(
                    f"{name}: heldout_user_emb {hu.shape} and heldout_item_emb {hv.shape} must be"
                    f" [{u.shape[0]}, d] and [{v.shape[0]}, d] of one d"
                )
            arrays.update(heldout_user_emb=hu, heldout_item_emb=hv)
    elif fitted.score_pairs is not None:
        pairs = data.eval_pairs()
        arrays["eval_scores"] = np.asarray(fitted.score_pairs(*pairs), np.float32)
        score = "score_pairs(user, item) of every eval.parquet row (eval_scores.npy)"
    else:
        raise ArtifactError(f"{name}: fit returned neither user_emb + item_emb nor score_pairs")
    if fitted.predict_watch_ratio is not None:
        if fitted.predict_watch_ratio is fitted.score_pairs and "eval_scores" in arrays:
            arrays["eval_pred"] = arrays["eval_scores"]
        else:
            arrays["eval_pred"] = fitted.predict_watch_ratio(*(pairs or data.eval_pairs()))
    return arrays, score
