"""The `kuaicore` command line: parse options into a config, call one function, print the result.

No logic lives here. Heavy libraries (duckdb, jax, numba) are imported inside the commands that need them, so
`kuaicore --help` is instant. Errors of ours (KuaiError) become one line on stderr and exit code 2 (bad input)
or 1 (a bug); progress goes to stderr; `--json` output alone goes to stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kuaicore import __version__
from kuaicore.config import SCALES, SynthConfig
from kuaicore.errors import KuaiError


class _KuaiGroup(click.Group):
    """A click group that turns KuaiError into a clean one-line message and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KuaiError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=_KuaiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kuaicore")
def cli() -> None:
    """kuaicore: an out-of-core recommender engine for the KuaiRec 2.0 short-video dataset.

    \b
    The pipeline, one command per stage:
      kuaicore demo [DIR]           everything below, end to end, on synthetic data (start here)
      kuaicore synth DIR            write a synthetic KuaiRec twin (no download needed)
      kuaicore validate DATA        check a KuaiRec folder and summarise it
      kuaicore build-features DATA --out ART    DuckDB SQL -> training artifacts
      kuaicore train ART            JAX two-tower model (CPU or GPU), or --model als|linear|...
      kuaicore evaluate ART         ranking metrics on the small matrix, with reference rows
      kuaicore recommend ART --user ID          top-K videos for one user
      kuaicore compare ART          every model and baseline in one table
      kuaicore report ART --out report.html     one self-contained HTML report with plots

    DATA is a `KuaiRec 2.0/` folder, its `data/` folder, or a folder written by `kuaicore synth`.
    Run `kuaicore COMMAND --help` for the options of each command.
    """


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default="tiny",
    show_default=True,
    help="tiny: ~hundreds of KB for tests; small: ~5% of the real size (demo); full: real size (12.5M rows).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed; the same seed writes byte-identical files.",
)
@click.option(
    "--users",
    "n_users",
    type=click.IntRange(min=4),
    default=None,
    help="Override the number of users of the scale.",
)
@click.option(
    "--items",
    "n_items",
    type=click.IntRange(min=8),
    default=None,
    help="Override the number of videos of the scale.",
)
def synth(out: Path, scale: str, seed: int, n_users: int | None, n_items: int | None) -> None:
    """Write a synthetic KuaiRec 2.0 twin to OUT/data/: all seven CSVs in the real format, plus truth.npz.

    The data follow a planted generative model (user tastes over tags and categories, latent factors, video
    quality, a duration effect, noise); truth.npz holds the expected watch ratio of every small-matrix cell so
    that evaluation can print an oracle row.

    Example: kuaicore synth /tmp/kuairec --scale small --seed 0
    """
    from kuaicore.data.synth import write_synthetic

    summary = write_synthetic(SynthConfig(out=out, scale=scale, seed=seed, n_users=n_users, n_items=n_items))
    click.echo(summary)


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (logs go to stderr)."
)
@click.option("--memory-limit", default="1GB", show_default=True, help="DuckDB memory_limit (spills beyond).")
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="DuckDB threads [default: all cores]."
)
def validate(data: Path, as_json: bool, memory_limit: str, threads: int | None) -> None:
    """Check a KuaiRec folder: files, headers, column types, and the small/big overlap; print a summary.

    DATA may be `KuaiRec 2.0/`, its `data/` folder, or a folder written by `kuaicore synth`. Missing optional
    files are warnings; any error exits with code 2 and names the file and row.

    Example: kuaicore validate "KuaiRec 2.0"
    """
    from kuaicore.data.validate import validate_dataset

    report = validate_dataset(data, memory_limit=memory_limit, threads=threads)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.format_table())


@cli.command("build-features")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The artifact folder ART.")
@click.option("--memory-limit", default="1GB", show_default=True, help="DuckDB memory_limit (spills beyond).")
@click.option("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training-row shuffle.")
@click.option("--watch-ratio-cap", type=float, default=5.0, show_default=True, help="target = min(wr, cap).")
@click.option(
    "--valid-fraction",
    type=float,
    default=0.1,
    show_default=True,
    help="Each user's last floor(fraction * rows) rows by time go to valid.parquet.",
)
@click.option(
    "--label-rule",
    type=click.Choice(["wr", "debiased"]),
    default="wr",
    show_default=True,
    help="`label` = watch_ratio >= 2.0 (wr), or above its duration bucket's percentile.",
)
@click.option("--force", is_flag=True, help="Replace an existing ART.")
@click.option(
    "--validate/--no-validate",
    "full_validate",
    default=False,
    show_default=True,
    help="Run the full `kuaicore validate` scan first (one more read of every file). Without it, files,"
    " headers and line ends are checked and a bad value still stops the build naming file and row.",
)
def build_features_cmd(
    data: Path,
    out: Path,
    memory_limit: str,
    threads: int | None,
    seed: int,
    watch_ratio_cap: float,
    valid_fraction: float,
    label_rule: str,
    force: bool,
    full_validate: bool,
) -> None:
    """Build training artifacts from DATA into ART with DuckDB SQL (sql/*.sql) under a memory limit.

    Writes train/valid/eval.parquet, user/item feature matrices, id maps and manifest.json
    (docs/ARTIFACTS.md), first to ART.tmp-* and renamed when complete. An existing ART is refused
    unless --force.

    Example: kuaicore build-features /tmp/kuairec --out /tmp/art --memory-limit 1GB
    """
    from kuaicore.config import FeatureConfig
    from kuaicore.features import build_features

    path = build_features(
        FeatureConfig(
            data=data,
            out=out,
            memory_limit=memory_limit,
            threads=threads,
            seed=seed,
            watch_ratio_cap=watch_ratio_cap,
            valid_fraction=valid_fraction,
            label_rule=label_rule,
            force=force,
            validate=full_validate,
        )
    )
    click.echo(str(path))


@cli.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=click.Choice(["two-tower", "id-mlp", "popularity", "tag-cosine", "linear", "als"]),
    default="two-tower",
    show_default=True,
    help="two-tower: the JAX dual encoder; id-mlp: id embeddings + item features -> MLP (JAX, MSE; scores"
    " the small matrix only); popularity, tag-cosine (content similarity), linear (ridge) and als (implicit"
    " matrix factorisation): the classic baselines (no JAX, seconds to train).",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A baseline's own option, repeatable. als: factors, iterations, reg, alpha, confidence=linear|log;"
    " linear: ridge, taste_prior; popularity: variant=views|mean-wr, prior; tag-cosine: columns=tags|all.",
)
@click.option(
    "--loss",
    type=click.Choice(["mse", "bce", "softmax"]),
    default="mse",
    show_default=True,
    help="mse: regress the capped watch ratio (the seed's NNEncoding; the best here); bce: the like label;"
    " softmax: in-batch sampled softmax over liked rows (logQ-corrected).",
)
@click.option("--epochs", type=int, default=3, show_default=True, help="Passes over train.parquet.")
@click.option(
    "--batch-size",
    type=int,
    default=4096,
    show_default=True,
    help="Rows per step (rounded up to a multiple of the device count).",
)
@click.option("--lr", type=float, default=3e-3, show_default=True, help="Adam learning rate.")
@click.option("--dims", default="128,64,32", show_default=True, help="Layer sizes of each tower.")
@click.option(
    "--id-embeddings/--no-id-embeddings",
    default=None,
    help="Learned user/item/author id embeddings [default: on for softmax, off otherwise].",
)
@click.option("--temperature", type=float, default=0.05, show_default=True, help="score = dot / temperature.")
@click.option("--weight-decay", type=float, default=1e-5, show_default=True, help="AdamW weight decay.")
@click.option("--cosine-schedule", is_flag=True, help="Cosine-decay the learning rate over the run.")
@click.option(
    "--checkpoint-every",
    type=int,
    default=0,
    show_default=True,
    help="Also checkpoint every N steps (0: once per epoch).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of initialisation and data order.")
@click.option("--run", "run_name", default=None, help="Run name under ART/runs/ [default: MODEL-LOSS-sSEED].")
@click.option("--resume", is_flag=True, help="Continue the run from its ckpt.npz (same final parameters).")
@click.option("--max-steps", type=int, default=None, help="Stop after N steps in total (checkpointed).")
def train(
    art: Path,
    model: str,
    options: tuple[str, ...],
    loss: str,
    epochs: int,
    batch_size: int,
    lr: float,
    dims: str,
    id_embeddings: bool | None,
    temperature: float,
    weight_decay: float,
    cosine_schedule: bool,
    checkpoint_every: int,
    seed: int,
    run_name: str | None,
    resume: bool,
    max_steps: int | None,
) -> None:
    """Train a model on ART (from build-features) and write ART/runs/NAME/.

    The two-tower model streams train.parquet in shuffled minibatches over every local device (CPU or
    GPU), validates on valid.parquet each epoch, keeps the best epoch, checkpoints to runs/NAME/ckpt.npz,
    and exports user_emb.npy, item_emb.npy, params.npz, config.json and train_log.jsonl.

    The baselines read the same artifacts and write the same run files (no --loss, --epochs...).

    \b
    Examples:
      kuaicore train /tmp/art --loss softmax --epochs 3
      kuaicore train /tmp/art --model als --option factors=64 --option iterations=15
    """
    from kuaicore.config import TrainConfig
    from kuaicore.errors import UsageError

    model_options = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--option: expected KEY=VALUE, got {item!r}")
        model_options[key.strip().replace("-", "_")] = value.strip()

    try:
        layer_sizes = tuple(int(x) for x in dims.split(","))
    except ValueError:
        raise UsageError(f"--dims: expected comma-separated integers like 128,64,32, got {dims!r}") from None
    cfg = TrainConfig(
        art=art,
        model=model,
        loss=loss,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        dims=layer_sizes,
        id_embeddings=id_embeddings,
        temperature=temperature,
        weight_decay=weight_decay,
        cosine_schedule=cosine_schedule,
        checkpoint_every=checkpoint_every,
        seed=seed,
        run=run_name,
        resume=resume,
        max_steps=max_steps,
        options=model_options,
    )
    if model == "id-mlp":
        from kuaicore.training.id_mlp import train_id_mlp

        click.echo(train_id_mlp(cfg, run_name or f"id-mlp-s{seed}"))
        return
    if model != "two-tower":
        from kuaicore.training.baselines import train_baseline

        click.echo(train_baseline(cfg, run_name or f"{model}-s{seed}"))
        return
    if model_options:
        raise UsageError("--option: applies to the baselines; the two-tower model has its own flags")
    from kuaicore.training.devices import configure_cpu_devices

    configure_cpu_devices()  # one XLA device per CPU core, before JAX is imported
    from kuaicore.training.loop import train as run_training

    click.echo(run_training(cfg).run_dir)


def _parse_ks(text: str) -> tuple[int, ...]:
    from kuaicore.errors import UsageError

    try:
        ks = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--k: expected comma-separated integers like 10,50,100, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"--k: cut-offs must be positive, got {text!r}")
    return ks


@cli.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--run", "run_name", default=None, help="Run under ART/runs/ to evaluate [default: the latest]."
)
@click.option(
    "--protocol",
    type=click.Choice(["small", "full"]),
    default="small",
    show_default=True,
    help="small: rank each small-matrix user's own small-matrix videos; full: rank the whole catalog"
    " minus the user's training videos.",
)
@click.option("--k", "ks", default="10,50,100", show_default=True, help="Cut-offs K, comma-separated.")
@click.option(
    "--threshold",
    type=float,
    default=2.0,
    show_default=True,
    help="Relevant: watch_ratio >= threshold (the dataset authors' 'like' rule is 2.0).",
)
@click.option(
    "--label",
    type=click.Choice(["wr", "debiased", "graded"]),
    default="wr",
    show_default=True,
    help="Relevance rule: wr (threshold), debiased (duration-debiased label), graded (headline"
    " ndcg uses gains min(watch_ratio, cap)).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95% CIs (0: none).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the random row and the bootstrap."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the full result as JSON to this path ('-' prints JSON alone on stdout).",
)
def evaluate(
    art: Path,
    run_name: str | None,
    protocol: str,
    ks: str,
    threshold: float,
    label: str,
    bootstrap: int,
    seed: int,
    json_path: Path | None,
) -> None:
    """Evaluate a trained run on the small matrix beside random, popularity and (synthetic data) oracle rows.

    Prints precision, recall, ndcg (binary and graded), map, mrr, hit rate and the seed projects' overlap at
    each K, with bootstrap 95% CIs, lift over random and fraction of the oracle; writes
    ART/runs/NAME/metrics.json (definitions included).

    Example: kuaicore evaluate /tmp/art --k 10,50 --json metrics.json
    """
    from kuaicore.config import EvalConfig
    from kuaicore.evaluation.evaluate import evaluate as run_evaluation
    from kuaicore.evaluation.summary import format_table

    to_stdout = json_path is not None and str(json_path) == "-"
    cfg = EvalConfig(
        art=art,
        run=run_name,
        protocol=protocol,
        ks=_parse_ks(ks),
        threshold=threshold,
        label=label,
        bootstrap=bootstrap,
        seed=seed,
        json_path=None if to_stdout else json_path,
    )
    result, run_dir = run_evaluation(cfg)
    if to_stdout:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    headline = "ndcg_graded" if label == "graded" else "ndcg"
    click.echo(
        f"run {result['run']}: {result['users_evaluated']} users evaluated, "
        f"{result['users_skipped_no_relevant']} skipped (no relevant video); protocol {protocol}, "
        f"relevant = {'debiased label' if label == 'debiased' else f'watch_ratio >= {threshold}'}"
    )
    for k in cfg.ks:
        click.echo("")
        click.echo(format_table(result, k, headline))
    click.echo(f"\nwrote {run_dir / 'metrics.json'}")


@cli.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option("--run", "run_name", default=None, help="Run under ART/runs/ [default: the latest].")
@click.option("--user", "user_id", type=int, default=None, help="A dataset user_id to recommend for.")
@click.option("--all", "all_users", is_flag=True, help="Recommend for every user (needs --out).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="With --all: Parquet file of (user_id, rank, video_id, score).",
)
@click.option("-k", "k", type=int, default=10, show_default=True, help="Videos per user.")
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

    if all_users == (user_id is not None):
        raise UsageError("recommend: give exactly one of --user ID or --all")
    if all_users and out is None:
        raise UsageError("--all: also give --out recs.parquet")
    recs = run_recommend(art, run_name, k, user_id)
    if all_users:
        n = write_parquet(recs, out)
        click.echo(f"wrote {n:,} recommendations for {recs.user_ids.size:,} users to {out}")
    else:
        click.echo(format_user(recs, art))


@cli.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write (self-contained: images embedded, opens offline).",
)
@click.option(
    "--benchmarks",
    type=click.Path(path_type=Path),
    default=None,
    help="A markdown file (e.g. BENCHMARKS.md) whose tables are added to the report.",
)
def report(art: Path, out: Path, benchmarks: Path | None) -> None:
    """Write one self-contained HTML report of ART: dataset summary, EDA plots, training curves, metrics@K
    curves with the random/popularity/oracle bands, the model comparison and optional benchmark tables.

    Example: kuaicore report /tmp/art --out report.html --benchmarks BENCHMARKS.md
    """
    from kuaicore.report import write_report  # matplotlib is imported only here

    click.echo(str(write_report(art, out, benchmarks)))


@cli.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--models",
    default=None,
    help="Comma-separated models [default: all]: popularity, tag-cosine, linear, als, id-mlp, two-tower-mse,"
    " two-tower-bce, two-tower-softmax.",
)
@click.option("--k", "ks", default="10,50,100", show_default=True, help="Cut-offs K, comma-separated.")
@click.option("--threshold", type=float, default=2.0, show_default=True, help="Relevant: watch_ratio >= it.")
@click.option(
    "--protocol",
    type=click.Choice(["small", "full"]),
    default="small",
    show_default=True,
    help="As for `kuaicore evaluate`.",
)
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True, help="Resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training runs and the CIs.")
@click.option("--retrain", is_flag=True, help="Retrain every model even when its run exists.")
@click.option("--epochs", type=int, default=None, help="Epochs for the JAX models [default: their own].")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the result as JSON here ('-': JSON alone on stdout); ART/compare.json always.",
)
def compare(
    art: Path,
    models: str | None,
    ks: str,
    threshold: float,
    protocol: str,
    bootstrap: int,
    seed: int,
    retrain: bool,
    epochs: int | None,
    json_path: Path | None,
) -> None:
    """Train what is missing, evaluate every model with one protocol, print one table sorted by ndcg.

    Each model trains in its own process (its wall time and peak RSS are shown); existing runs named
    MODEL-sSEED are reused. Random, popularity and (synthetic data) oracle rows, lift, fraction of the
    oracle and bootstrap 95% CIs are printed as by `kuaicore evaluate`.

    Example: kuaicore compare /tmp/art --models popularity,als,two-tower-mse --k 10
    """
    from kuaicore.compare import compare as run_compare
    from kuaicore.compare import format_compare, parse_models
    from kuaicore.config import EvalConfig

    to_stdout = json_path is not None and str(json_path) == "-"
    cfg = EvalConfig(
        art=art,
        protocol=protocol,
        ks=_parse_ks(ks),
        threshold=threshold,
        bootstrap=bootstrap,
        seed=seed,
        json_path=None if to_stdout else json_path,
    )
    extra = ["--epochs", str(epochs)] if epochs is not None else []
    result = run_compare(art, parse_models(models), cfg, retrain=retrain, extra_train_args=extra)
    if to_stdout:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    for k in cfg.ks:
        click.echo("")
        click.echo(format_compare(result, k))
    click.echo(f"\nwrote {Path(art) / 'compare.json'}")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("kuaicore-demo"), required=False)
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default="small",
    show_default=True,
    help="Size of the synthetic data (ignored with --data).",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help='Your own KuaiRec download instead of synthetic data, e.g. --data "KuaiRec 2.0".',
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every stage.")
@click.option("--epochs", type=int, default=None, help="Epochs of the JAX models [default: train's default].")
def demo(folder: Path, scale: str, data: Path | None, seed: int, epochs: int | None) -> None:
    """Run the whole pipeline end to end in FOLDER [default: ./kuaicore-demo].

    synth (unless --data) -> validate -> build-features -> train -> evaluate -> compare -> report, with one
    progress line per stage, then a summary: where report.html is and the headline metrics beside the
    random, popularity and (synthetic data) oracle rows.

    \b
    Examples:
      kuaicore demo                               # synthetic data, --scale small: a few minutes
      kuaicore demo --data "KuaiRec 2.0" real-run   # your own KuaiRec download
    """
    from kuaicore.config import DemoConfig
    from kuaicore.demo import run_demo, summary_text

    out = run_demo(DemoConfig(folder=folder, scale=scale, data=data, seed=seed, epochs=epochs))
    click.echo(summary_text(out))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kuaicore")


if __name__ == "__main__":
    main()
