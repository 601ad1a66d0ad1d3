"""`kuaicore tune`: a seeded search over model families and hyperparameters, scored on the validation split.

Successive halving over random configurations (Jamieson & Talwalkar 2016; the first bracket of Hyperband):
``n`` configurations are drawn with the seed from each family's space, every one is trained at the smallest
budget (a share of its iterations or epochs), the best third survive to three times the budget, and so on
until one budget is full. Every trial is a run ``tune-MODEL-NNN-rR`` in ``ART/runs/`` with its config.json,
scored by the evaluation protocol applied to valid.parquet (kuaicore.protocol: each user's held-out rows
ranked, relevant = watch_ratio > threshold, ndcg@10): the evaluation block is never looked at. The winner is
named in ``runs/best`` (as ``runs/latest`` names the newest run), the leaderboard is written to
``ART/tune.json``. Families without a budget dimension (popularity, linear, tag-cosine) train once, at full
size, and keep their score through the rungs. ``budget`` (seconds) stops new trials once spent.

The default model of `kuaicore train` (``incumbent``: the blend, whose hybrid part already picks its own
penalties and rank on valid) is trained first, with its defaults, as one more trial that is trained once
and keeps its score: random draws alone ended below it on valid on held-out data (BENCHMARKS.md "tune on
the foreign generator"), and a search should never hand back less than the default it was run to beat.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.config import DEFAULT_SEED
from kuaicore.errors import UsageError
from kuaicore.models.registry import DEFAULT_MODEL, Search, names, search_spaces, tune_defaults
from kuaicore.progress import log
from kuaicore.protocol import VALID_K

BEST = "best"


# Each model's search space lives in its registry entry (kuaicore.models.registry.Search).
FAMILIES: dict[str, Search] = search_spaces()
DEFAULT_MODELS = tune_defaults()
NOT_SEARCHED = Search()  # the incumbent: its defaults, trained once


@dataclass(frozen=True)
class TuneConfig:
    """`kuaicore tune`: which families, how many configurations, the time budget, the seed."""

    art: Path
    models: tuple[str, ...] = DEFAULT_MODELS
    trials: int = 12
    budget_seconds: float = 600.0
    seed: int = DEFAULT_SEED
    eta: int = 3
    threshold: float = 2.0
    k: int = VALID_K
    incumbent: str | None = DEFAULT_MODEL  # trained first with its defaults (None: the draws alone)

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in FAMILIES]
        if unknown or not self.models:
            raise UsageError(
                f"--models: unknown {', '.join(unknown) or 'empty list'} (choose from {', '.join(FAMILIES)})"
            )
        if self.trials < 1:
            raise UsageError(f"--trials: must be >= 1, got {self.trials}")
        if not (self.budget_seconds > 0 and math.isfinite(self.budget_seconds)):
            raise UsageError(f"--budget: must be a positive duration, got {self.budget_seconds}")
        if self.eta < 2:
            raise UsageError(f"eta: must be >= 2, got {self.eta}")
        if self.incumbent is not None and self.incumbent not in names():
            raise UsageError(f"incumbent: {self.incumbent!r} is not a built-in model ({', '.join(names())})")


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1.5h`` or a plain number of seconds, as seconds; UsageError naming --budget."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    raw = str(text).strip().lower()
    unit = units.get(raw[-1:])
    number = raw[:-1] if unit is not None else raw
    try:
        seconds = float(number) * (unit or 1.0)
    except ValueError:
        raise UsageError(f"--budget {text!r}: expected a duration such as 90s, 10m or 1h") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise UsageError(f"--budget {text!r}: must be a positive duration")
    return seconds


@dataclass
class Trial:
    """One configuration: its family, sampled values, and its score at each rung it reached."""

    index: int
    model: str
    options: dict[str, Any]
    train: dict[str, Any]
    scores: list[float] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return self.scores[-1] if self.scores else float("nan")


def sample_trials(cfg: TuneConfig) -> list[Trial]:
    """``cfg.trials`` configurations, families in turn (round robin over ``cfg.models``), seeded."""
    rng = np.random.default_rng([cfg.seed, 7])
    trials = []
    for i in range(cfg.trials):
        model = cfg.models[i % len(cfg.models)]
        fam = FAMILIES[model]
        options = {k: f(rng) for k, f in sorted(fam.options.items())}
        train = {k: f(rng) for k, f in sorted(fam.train.items())}
        trials.append(Trial(i, model, options, train))
    return trials


def rung_resource(fam: Search, rung: int, n_rungs: int, eta: int) -> int | None:
    """The budget of ``fam`` at ``rung`` of ``n_rungs``: max_resource / eta^(n_rungs - 1 - rung), >= 1."""
    if fam.resource is None:
        return None
    return max(1, round(fam.max_resource / eta ** (n_rungs - 1 - rung)))


def tune(
    cfg: TuneConfig, train_run: Callable[..., Path], score_run: Callable[[Path], float]
) -> dict[str, Any]:
    """Run the search; ``train_run(art, model=..., run=..., seed=..., **fields)`` trains one run and returns
    its folder, ``score_run(folder)`` scores it on the validation split. Returns the leaderboard dict."""
    trials = sample_trials(cfg)
    if cfg.incumbent is not None:  # first, so that it is on the board whatever the budget
        trials.insert(0, Trial(cfg.trials, cfg.incumbent, {}, {}))
    n_rungs = max(1, math.ceil(math.log(max(cfg.trials, 1), cfg.eta)))
    start = time.perf_counter()
    alive = list(trials)
    out_of_time = False
    for rung in range(n_rungs):
        for trial in alive:
            if time.perf_counter() - start > cfg.budget_seconds:
                out_of_time = True
                break
            fam = FAMILIES.get(trial.model, NOT_SEARCHED)
            resource = rung_resource(fam, rung, n_rungs, cfg.eta)
            if resource is None and trial.scores:  # nothing to grow: keep the score
                trial.scores.append(trial.scores[-1])
                continue
            run = f"tune-{trial.model}-{trial.index:03d}-r{rung}"
            options = dict(trial.options)
            fields = dict(trial.train)
            if fam.resource and fam.options:
                options[fam.resource] = resource
            elif fam.resource:
                fields[fam.resource] = resource
            t0 = time.perf_counter()
            folder = train_run(cfg.art, model=trial.model, run=run, seed=cfg.seed, options=options, **fields)
            trial.seconds += time.perf_counter() - t0
            trial.scores.append(score_run(folder))
            trial.runs.append(run)
            log(
                f"tune: rung {rung + 1}/{n_rungs} trial {trial.index:3d} {trial.model:10s} "
                f"{_describe(options, fields)}  valid ndcg@{cfg.k} {trial.scores[-1]:.4f}"
                f"  ({time.perf_counter() - start:.0f}s of {cfg.budget_seconds:.0f}s)"
            )
        if out_of_time:
            log(f"tune: the budget of {cfg.budget_seconds:.0f}s is spent; stopping at rung {rung + 1}")
            break
        ranked = sorted((t for t in alive if t.scores), key=lambda t: _key(t.score))
        alive = ranked[: max(1, len(ranked) // cfg.eta)] if rung < n_rungs - 1 else ranked
    board = sorted((t for t in trials if t.scores), key=lambda t: _key(t.score))
    if not board:
        raise UsageError(f"--budget: {cfg.budget_seconds:.0f}s was too short for a single trial")
    return {
        "metric": f"valid ndcg@{cfg.k} (relevant: watch_ratio > {cfg.threshold})",
        "seed": cfg.seed,
        "rungs": n_rungs,
        "eta": cfg.eta,
        "budget_seconds": cfg.budget_seconds,
        "seconds": round(time.perf_counter() - start, 2),
        "best": board[0].runs[-1],
        "leaderboard": [
            {
                "trial": t.index,
                "model": t.model,
                "run": t.runs[-1],
                "score": t.score,
                "scores_by_rung": t.scores,
                "options": t.options,
                "train": {k: list(v) if isinstance(v, tuple) else v for k, v in t.train.items()},
                "train_seconds": round(t.seconds, 2),
            }
            for t in board
        ],
    }


def _key(score: float) -> float:
    return -score if score == score else math.inf  # best first, NaN last


def _describe(options: dict[str, Any], fields: dict[str, Any]) -> str:
    parts = [f"{k}={_fmt(v)}" for k, v in {**options, **fields}.items()]
    return " ".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def format_leaderboard(result: dict[str, Any], top: int = 10) -> str:
    """The leaderboard as a text table, best first."""
    lines = [f"{'rank':>4}  {'run':<24}  {'model':<10}  {'score':>7}  {'train s':>7}  config"]
    lines.append(f"{'-' * 4}  {'-' * 24}  {'-' * 10}  {'-' * 7}  {'-' * 7}  {'-' * 6}")
    for i, row in enumerate(result["leaderboard"][:top], start=1):
        config = _describe(
            row["options"], {k: tuple(v) if isinstance(v, list) else v for k, v in row["train"].items()}
        )
        lines.append(
            f"{i:>4}  {row['run']:<24}  {row['model']:<10}  {row['score']:>7.4f}"
            f"  {row['train_seconds']:>7.1f}  {config}"
        )
    lines.append(f"\nbest: {result['best']} ({result['metric']}); runs/{BEST} names it")
    return "\n".join(lines)
