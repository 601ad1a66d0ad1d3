"""`kuaicore demo` (the main job end to end) and `kuaicore report` (the HTML report)."""

from __future__ import annotations

from pathlib import Path

import click

from kuaicore.config import SCALES, DemoConfig
from kuaicore.options import POSITIVE_INT, SEED


@click.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("kuaicore-demo"), required=False)
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default=DemoConfig.scale,
    show_default=True,
    help="Size of the synthetic data (ignored with --data).",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help='Your own KuaiRec download instead of synthetic data, e.g. --data "KuaiRec 2.0".',
)
@click.option("--seed", type=SEED, default=DemoConfig.seed, show_default=True, help="Seed of every stage.")
@click.option(
    "--epochs", type=POSITIVE_INT, default=None, help="Epochs of the JAX models [default: train's default]."
)
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
    from kuaicore.training.compile_cache import configure_compilation_cache
    from kuaicore.training.devices import configure_cpu_devices

    configure_cpu_devices()  # as `kuaicore train` does: one XLA device per CPU core, before JAX is imported
    configure_compilation_cache()  # and compiled programs kept on disk between runs
    from kuaicore.demo import run_demo, summary_text

    out = run_demo(DemoConfig(folder=folder, scale=scale, data=data, seed=seed, epochs=epochs))
    click.echo(summary_text(out))


@click.command()
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
