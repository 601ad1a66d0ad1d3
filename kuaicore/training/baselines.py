"""Train the classic baselines (popularity, tag-cosine, linear, als, mf) from ART into a run folder.

The models (kuaicore.models.*) are pure functions over arrays; this module reads ART, calls one, and writes
``runs/NAME/`` like the JAX trainer does: user_emb.npy + item_emb.npy (dot product = the model's score),
config.json, train_log.jsonl, and eval_pred.npy (predicted capped watch ratio per eval.parquet row) for the
regression model (linear). No JAX is imported.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.config import TrainConfig, jsonable, to_jsonable
from kuaicore.errors import UsageError
from kuaicore.progress import log

BASELINES = ("popularity", "tag-cosine", "linear", "als", "mf")


def _options(cls: type, options: dict[str, Any], seed: int | None = None) -> Any:
    fields = cls.__dataclass_fields__
    unknown = sorted(set(options) - set(fields))
    if unknown:
        known = ", ".join(fields)
        raise UsageError(f"--option {unknown[0]}: not an option of this model (known: {known})")
    kwargs = {k: _convert(k, v, fields[k].type) for k, v in options.items()}
    if seed is not None and "seed" in fields:
        kwargs.setdefault("seed", seed)
    return cls(**kwargs)


def _convert(name: str, value: Any, annotation: Any) -> Any:
    """A --option value (text) as the option's declared type (int, float, bool or str)."""
    if not isinstance(value, str):
        return value
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "str")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.lower() in ("1", "true", "yes", "on")
    except ValueError:
        raise UsageError(f"--option {name}={value}: expected a value of type {kind}") from None
    return value


def fit_baseline(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit ``cfg.model`` on ART's training rows; the arrays of its run and an info dict."""
    from kuaicore.art import eval_pairs
    from kuaicore.models import als, linear, mf, popularity, tag_cosine
    from kuaicore.models.interactions import load_features, load_interactions

    art = Path(cfg.art)
    data = load_interactions(art)
    if cfg.model == "popularity":
        u, v, info = popularity.fit(data, _options(popularity.PopularityOptions, cfg.options))
        return {"user_emb": u, "item_emb": v}, info
    if cfg.model == "tag-cosine":
        feats = load_features(art)
        opts = _options(tag_cosine.TagCosineOptions, cfg.options)
        u, v, info = tag_cosine.fit(data, feats.item_features, feats.item_feature_names, opts)
        return {"user_emb": u, "item_emb": v}, info
    if cfg.model == "linear":
        feats = load_features(art)
        opts = _options(linear.LinearOptions, cfg.options)
        taste = feats.user_taste
        if taste is None:
            taste = linear.user_tag_taste(data, feats.item_tags, opts.taste_prior)
        u, v, info = linear.fit(data, feats.user_features, feats.item_features, feats.item_tags, taste, opts)
        info.pop("weights", None)
        pred = linear.predict(u, v, *eval_pairs(art)).astype(np.float32)
        return {"user_emb": u, "item_emb": v, "eval_pred": pred}, info
    if cfg.model == "als":
        opts = _options(als.ALSOptions, cfg.options, seed=cfg.seed)

        def progress(it: int, loss: float, secs: float) -> None:
            log(f"  als iteration {it + 1}/{opts.iterations}: objective {loss:.6g}, {secs:.2f}s")

        u, v, info = als.fit(data, opts, on_iteration=progress)
        return {"user_emb": u, "item_emb": v}, info
    if cfg.model == "mf":
        opts = _options(mf.MFOptions, cfg.options, seed=cfg.seed)

        def progress_mf(it: int, rmse: float, secs: float) -> None:
            log(f"  mf iteration {it + 1}/{opts.iterations}: train rmse {rmse:.5f}, {secs:.2f}s")

        u, v, info = mf.fit(data, opts, on_iteration=progress_mf)
        pred = mf.predict_watch_ratio(u, v, *eval_pairs(art), opts.target)
        return {"user_emb": u, "item_emb": v, "eval_pred": pred}, info
    raise UsageError(f"--model: {cfg.model!r} is not a baseline ({', '.join(BASELINES)})")


def train_baseline(cfg: TrainConfig, run_name: str) -> Path:
    """Fit and write the run ``ART/runs/run_name``; returns its folder."""
    from kuaicore.runs import runs_dir, write_run

    start = time.perf_counter()
    arrays, info = fit_baseline(cfg)
    seconds = time.perf_counter() - start
    config = {"model": cfg.model, "train_config": to_jsonable(cfg), "info": jsonable(info)}
    row = {"epoch": 1, "step": 1, "seconds": seconds, "rows": int(info.get("n_rows", 0) or 0)}
    run_dir = write_run(runs_dir(cfg.art) / run_name, arrays, config, [row])
    log(f"trained {run_name}: {cfg.model} in {seconds:.1f}s -> {run_dir}")
    return run_dir
