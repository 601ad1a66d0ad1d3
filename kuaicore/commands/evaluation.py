"""`kuaicore evaluate`, `recommend` and `compare`: ranking with the Numba kernels, metrics, tables."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kuaicore.config import EvalConfig, parse_ks
from kuaicore.models.registry import compare_names
from kuaicore.options import NON_NEGATIVE_FLOAT, POSITIVE_INT, SEED

_PROTOCOL_OPTIONS = [
    click.option(
        "--protocol",
        type=click.Choice(["small", "full", "valid"]),
        default=EvalConfig.protocol,
        show_default=True,
        help="small: rank each small-matrix user's own small-matrix videos (unbiased: every video was shown);"
        " full: rank the whole catalog minus the user's training videos; valid: rank each user's held-out"
        " big_matrix videos (the exposure-biased test most papers use).",
    ),
    click.option(
        "--k",
        "ks",
        default=",".join(map(str, EvalConfig.ks)),
        show_default=True,
        help="Cut-offs K, comma-separated.",
    ),
    click.option(
        "--threshold",
        type=NON_NEGATIVE_FLOAT,
        default=EvalConfig.threshold,
        show_default=True,
        help="Relevant: watch_ratio > threshold (strict; the dataset authors' 'like' is watch_ratio > 2.0).",
    ),
    click.option(
        "--label",
        type=click.Choice(["wr", "debiased", "graded"]),
        default=EvalConfig.label,
        show_default=True,
        help="Relevance rule: wr (threshold), debiased (duration-debiased label), graded (headline"
        " ndcg uses gains min(watch_ratio, cap)).",
    ),
    click.option(
        "--bootstrap",
        type=click.IntRange(0, 100_000),
        default=EvalConfig.bootstrap,
        show_default=True,
        help="Bootstrap resamples for the 95% CIs (0: none).",
    ),
    click.option(
        "--seed",
        type=SEED,
        default=EvalConfig.seed,
        show_default=True,
        help="Seed of the random row and the CIs (compare: also of the runs it trains, unless --train-seed).",
    ),  # fmt: skip
    click.option(
        "--json",
        "json_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Also write the full result as JSON to this path ('-' prints JSON alone on stdout).",
    ),
]


def protocol_options(fn):
    """The evaluation options shared by `evaluate` and `compare` (one definition, one meaning)."""
    for option in reversed(_PROTOCOL_OPTIONS):
        fn = option(fn)
    return fn


def eval_config(art: Path, run: str | None, opts: dict):
    """(EvalConfig, JSON to stdout?) from the shared options."""
    from kuaicore.options import check_output_file

    json_path = opts["json_path"]
    to_stdout = json_path is not None and str(json_path) == "-"
    if json_path is not None and not to_stdout:
        check_output_file(json_path, "--json")
    cfg = EvalConfig(
        art=art,
        run=run,
        protocol=opts["protocol"],
        ks=parse_ks(opts["ks"]),
        threshold=opts["threshold"],
        label=opts["label"],
        bootstrap=opts["bootstrap"],
        seed=opts["seed"],
        json_path=None if to_stdout else json_path,
    )
    return cfg, to_stdout


@click.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--run", "run_name", default=None, help="Run under ART/runs/ to evaluate [default: the latest]."
)
@protocol_options
def evaluate(art: Path, run_name: str | None, **opts) -> None:
    """Evaluate a trained run on the small matrix beside random, popularity and (synthetic data) oracle rows.

    Prints precision, recall, ndcg (binary and graded), map, mrr, hit rate and the seed projects' overlap at
    each K, with bootstrap 95% CIs, lift over random and fraction of the oracle; writes
    ART/runs/NAME/metrics.json (definitions included).

    Example: kuaicore evaluate /tmp/art --k 10,50 --json metrics.json
    """
    from kuaicore.evaluation.evaluate import evaluate as run_evaluation
    from kuaicore.evaluation.summary import format_table

    cfg, to_stdout = eval_config(art, run_name, opts)
    result, run_dir = run_evaluation(cfg)
    if to_stdout:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    label, threshold = cfg.label, cfg.threshold
    headline = "ndcg_graded" if label == "graded" else "ndcg"
    click.echo(
        f"run {result['run']}: {result['users_evaluated']} users evaluated, "
        f"{result['users_skipped_no_relevant']} skipped (no relevant video); protocol {cfg.protocol}, "
        f"relevant = {'debiased label' if label == 'debiased' else f'watch_ratio > {threshold}'}"
    )
    for k in cfg.ks:
        click.echo("")
        click.echo(format_table(result, k, headline))
    click.echo(f"\nwrote {run_dir / 'metrics.json'}")


@click.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option("--run", "run_name", default=None, help="Run under ART/runs/ [default: the latest].")
@click.option(
    "--user", "user_id", type=click.IntRange(min=0), default=None, help="A dataset user_id to recommend for."
)
@click.option("--all", "all_users", is_flag=True, help="Recommend for every user (needs --out).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="With --all: Parquet file of (user_id, rank, video_id, score).",
)
@click.option("-k", "k", type=POSITIVE_INT, default=10, show_default=True, help="Videos per user.")
def recommend(
    art: Path, run_name: str | None, user_id: int | None, all_users: bool, out: Path | None, k: int
) -> None:
    """Recommend the top-K unseen videos for one user (--user ID) or for all users (--all --out FILE).

    IDs are the dataset's own user_id / video_id. Videos the user has in training are excluded.

    Example: kuaicore recommend /tmp/art --user 14 -k 10
    """
    from kuaicore.errors import UsageError
    from kuaicore.evaluation.recommend import format_user, write_parquet
    from kuaicore.evaluation.recommend import recommend as run_recommend
    from kuaicore.options import check_output_file

    if all_users == (user_id is not None):
        raise UsageError("recommend: give exactly one of --user ID or --all")
    if all_users and out is None:
        raise UsageError("--all: also give --out recs.parquet")
    if out is not None:
        check_output_file(out, "--out")
    recs = run_recommend(art, run_name, k, user_id)
    if all_users:
        n = write_parquet(recs, out)
        click.echo(f"wrote {n:,} recommendations for {recs.user_ids.size:,} users to {out}")
    else:
        click.echo(format_user(recs, art))


@click.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--models",
    default=None,
    help="Comma-separated models [default: all]: "
    + ", ".join(compare_names())
    + ", or your own FILE.py:NAME / MODULE:NAME.",
)
@protocol_options
@click.option("--retrain", is_flag=True, help="Retrain every model even when its run exists.")
@click.option(
    "--epochs", type=POSITIVE_INT, default=None, help="Epochs for the JAX models [default: their own]."
)
@click.option(
    "--train-seed",
    type=SEED,
    default=None,
    help="Seed of the runs compare trains (and reuses: runs MODEL-sSEED) [default: --seed].",
)
def compare(
    art: Path, models: str | None, retrain: bool, epochs: int | None, train_seed: int | None, **opts
) -> None:
    """Train what is missing, evaluate every model with one protocol, print one table sorted by ndcg.

    Each model trains in its own process (its wall time and peak RSS are shown); existing runs named
    MODEL-sSEED are reused, and so is a run trained with the same settings under another name (the
    default blend's parts), copied as MODEL-sSEED. Random, popularity and (synthetic data) oracle rows,
    lift, fraction of the oracle and bootstrap 95% CIs are printed as by `kuaicore evaluate`;
    ART/compare.json is always written.

    Example: kuaicore compare /tmp/art --models popularity,als,two-tower-mse --k 10
    """
    from kuaicore.comparison import compare as run_compare
    from kuaicore.comparison import format_compare, parse_models

    cfg, to_stdout = eval_config(art, None, opts)
    train_options = {"epochs": epochs} if epochs is not None else {}
    result = run_compare(
        art, parse_models(models), cfg, retrain=retrain, train_options=train_options, train_seed=train_seed
    )
    if to_stdout:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    for k in cfg.ks:
        click.echo("")
        click.echo(format_compare(result, k, "ndcg_graded" if cfg.label == "graded" else "ndcg"))
    click.echo(f"\nwrote {Path(art) / 'compare.json'}")
