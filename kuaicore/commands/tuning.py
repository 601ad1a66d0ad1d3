"""`kuaicore tune`: search model families and hyperparameters on the validation split."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kuaicore.config import DEFAULT_SEED
from kuaicore.models.registry import DEFAULT_MODEL, tune_defaults
from kuaicore.options import POSITIVE_INT, SEED


@click.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--budget",
    default="10m",
    show_default=True,
    help="Wall time for the whole search, e.g. 90s, 10m, 1h; no trial starts once it is spent.",
)
@click.option(
    "--models",
    default=None,
    help=f"Comma-separated families to search [default: {','.join(tune_defaults())}]; also any other"
    " built-in model with a search space (tag-cosine).",
)
@click.option(
    "--trials",
    type=POSITIVE_INT,
    default=12,
    show_default=True,
    help="Configurations drawn (round robin over the families); a third survive each rung of successive"
    " halving.",
)
@click.option(
    "--seed", type=SEED, default=DEFAULT_SEED, show_default=True, help="Seed of the draws and of every trial."
)
@click.option(
    "--default/--no-default",
    "with_default",
    default=True,
    show_default=True,
    help=f"Also train `kuaicore train`'s default model ({DEFAULT_MODEL}, its defaults) first, as one more"
    " trial, so that the winner is never below it on valid.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON on stdout.")
def tune(
    art: Path, budget: str, models: str | None, trials: int, seed: int, with_default: bool, as_json: bool
) -> None:
    """Search model families and hyperparameters (successive halving over seeded random configurations).

    Every trial is a run in ART/runs/ (tune-MODEL-NNN-rR) scored by the evaluation protocol applied to
    valid.parquet: each user's held-out rows ranked, relevant = watch_ratio > 2, ndcg@10. The small matrix
    (the evaluation block) is never used to choose. The default model of `kuaicore train` is trained first
    as one more trial (--no-default: not), so the winner is never below it on valid. Writes ART/tune.json
    and runs/best (the winner), so `kuaicore evaluate ART --run best` reports it.

    Example: kuaicore tune /tmp/art --budget 5m --models mf,linear,two-tower
    """
    from kuaicore.api import tune as run_tune
    from kuaicore.search import DEFAULT_MODELS, format_leaderboard, parse_duration

    names = tuple(m.strip() for m in models.split(",") if m.strip()) if models else DEFAULT_MODELS
    result = run_tune(
        art,
        models=names,
        trials=trials,
        budget_seconds=parse_duration(budget),
        seed=seed,
        incumbent=DEFAULT_MODEL if with_default else None,
    )
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(format_leaderboard(result))
