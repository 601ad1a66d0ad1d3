"""`kuaicore synth`, `validate` and `build-features`: from raw CSVs (real or synthetic) to ART."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kuaicore.config import DEFAULT_MEMORY_LIMIT, SCALES, WORLDS, FeatureConfig, SynthConfig
from kuaicore.options import FRACTION, MEMORY_LIMIT, POSITIVE_FLOAT, POSITIVE_INT, SEED

# One definition, one meaning (kuaicore.data.duck): the budget of the whole process, in validate and
# build-features alike.
memory_limit_option = click.option(
    "--memory-limit",
    type=MEMORY_LIMIT,
    default=DEFAULT_MEMORY_LIMIT,
    show_default=True,
    help="Memory budget of the whole process, e.g. 700MB, 2GB (at least 64MB); DuckDB gets 70% of it and"
    " spills to disk beyond it.",
)


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default=SynthConfig.scale,
    show_default=True,
    help="tiny: ~hundreds of KB for tests; small: ~5% of the real size (demo); full: real size (12.5M rows).",
)
@click.option(
    "--seed",
    type=SEED,
    default=SynthConfig.seed,
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
@click.option(
    "--world",
    type=click.Choice(WORLDS),
    default=WORLDS[0],
    show_default=True,
    help="Where the planted taste lives: mixed (calibrated to the real files); collaborative (latent "
    "factors only ids reveal); content (tags/categories); mixed-taste (latent factors and tags); popular "
    "(quality, little personal taste). The taste worlds trade the length-driven positive rate for taste "
    "(README).",
)
def synth(out: Path, scale: str, seed: int, n_users: int | None, n_items: int | None, world: str) -> None:
    """Write a synthetic KuaiRec 2.0 twin to OUT/data/: all seven CSVs in the real format, plus truth.npz.

    The data follow a planted generative model (user tastes over tags and categories, latent factors, video
    quality, a duration effect, noise), calibrated to the published statistics of the real files; truth.npz
    holds the expected watch ratio of every small-matrix cell so that evaluation can print an oracle row.

    Example: kuaicore synth /tmp/kuairec --scale small --seed 0 --world collaborative
    """
    from kuaicore.data.synth import write_synthetic

    config = SynthConfig(out=out, scale=scale, seed=seed, n_users=n_users, n_items=n_items, world=world)
    summary = write_synthetic(config)
    click.echo(summary)


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (logs go to stderr)."
)
@memory_limit_option
@click.option("--threads", type=POSITIVE_INT, default=None, help="DuckDB threads [default: all cores].")
def validate(data: Path, as_json: bool, memory_limit: str, threads: int | None) -> None:
    """Check a KuaiRec folder: files, headers, column types, and the small/big overlap; print a summary.

    DATA may be `KuaiRec 2.0/`, its `data/` folder, or a folder written by `kuaicore synth`. Missing optional
    files are warnings; any error exits with code 2 and names the file and row.

    Given an ART folder (written by build-features) instead, checks that every file it lists is there with
    the SHA-256 checksum recorded in its manifest.json.

    Example: kuaicore validate "KuaiRec 2.0"
    """
    from kuaicore.art.layout import MANIFEST

    if (Path(data) / MANIFEST).is_file():  # an ART: verify its files against the manifest
        from kuaicore.art import verify_checksums

        files = verify_checksums(data)
        if as_json:
            click.echo(json.dumps({"art": str(data), "files": files}, indent=2))
        else:
            click.echo(f"{data}: every file matches manifest.json ({len(files)} files, SHA-256 checked)")
        return
    from kuaicore.data.validate import validate_dataset

    report = validate_dataset(data, memory_limit=memory_limit, threads=threads)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.format_table())


@click.command("build-features")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The artifact folder ART.")
@memory_limit_option
@click.option("--threads", type=POSITIVE_INT, default=None, help="DuckDB threads [default: all cores].")
@click.option(
    "--seed",
    type=SEED,
    default=FeatureConfig.seed,
    show_default=True,
    help="Seed of the training-row shuffle.",
)
@click.option(
    "--watch-ratio-cap",
    type=POSITIVE_FLOAT,
    default=FeatureConfig.watch_ratio_cap,
    show_default=True,
    help="target = min(watch_ratio, cap); a finite number > 0.",
)
@click.option(
    "--valid-fraction",
    type=FRACTION,
    default=FeatureConfig.valid_fraction,
    show_default=True,
    help="Each user's last floor(fraction * rows) rows by time go to valid.parquet.",
)
@click.option(
    "--label-rule",
    type=click.Choice(["wr", "debiased"]),
    default=FeatureConfig.label_rule,
    show_default=True,
    help="`label` = watch_ratio > 2.0 (wr), or above its duration bucket's percentile.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing ART (only a folder written by build-features; never one holding DATA).",
)
@click.option(
    "--validate/--no-validate",
    "full_validate",
    default=FeatureConfig.validate,
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
