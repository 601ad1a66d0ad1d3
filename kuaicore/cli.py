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
      kuaicore synth DIR            write a synthetic KuaiRec twin (no download needed)
      kuaicore validate DATA        check a KuaiRec folder and summarise it
      kuaicore build-features DATA --out ART    DuckDB SQL -> training artifacts
      kuaicore train ART            JAX two-tower model (CPU or GPU)
      kuaicore evaluate ART         ranking metrics on the small matrix
      kuaicore recommend ART --user ID          top-K videos for one user

    DATA is a `KuaiRec 2.0/` folder, its `data/` folder, or a folder written by `kuaicore synth`.
    Run `kuaicore COMMAND --help` for the options of each command.
    """


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--scale", type=click.Choice(SCALES), default="tiny", show_default=True,
              help="tiny: ~hundreds of KB for tests; small: ~5% of the real size (demo); full: real size (12.5M rows).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed writes byte-identical files.")
@click.option("--users", "n_users", type=click.IntRange(min=4), default=None,
              help="Override the number of users of the scale.")
@click.option("--items", "n_items", type=click.IntRange(min=8), default=None,
              help="Override the number of videos of the scale.")
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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (logs go to stderr).")
def validate(data: Path, as_json: bool) -> None:
    """Check a KuaiRec folder: files, headers, column types, and the small/big overlap; print a summary.

    DATA may be `KuaiRec 2.0/`, its `data/` folder, or a folder written by `kuaicore synth`. Missing optional
    files are warnings; any error exits with code 2 and names the file and row.

    Example: kuaicore validate "KuaiRec 2.0"
    """
    from kuaicore.data.validate import validate_dataset

    report = validate_dataset(data)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.format_table())


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kuaicore")


if __name__ == "__main__":
    main()
