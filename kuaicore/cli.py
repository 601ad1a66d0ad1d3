"""The `kuaicore` command line: parse options into a config, call one function, print the result.

No logic lives here. Heavy libraries (duckdb, jax, numba) are imported inside the commands that need them, so
`kuaicore --help` is instant. Errors of ours (KuaiError) become one line on stderr and exit code 2 (bad input)
or 1 (a bug); progress goes to stderr; `--json` output alone goes to stdout.
"""

from __future__ import annotations

import click

from kuaicore import __version__


class _KuaiGroup(click.Group):
    """A click group that turns our errors, Ctrl-C, SIGTERM, a full disk and OS errors into one line on
    stderr and their exit code (kuaicore.failures); anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        from kuaicore.failures import SignalGuard, classify

        with SignalGuard() as guard:
            try:
                return super().invoke(ctx)
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except BaseException as err:  # KeyboardInterrupt and Terminated too
                known = classify(err, guard.terminated)
                if known is None:
                    raise
                message, code = known
                click.echo(f"error: {message}", err=True)
                ctx.exit(code)


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
      kuaicore train ART            the blend of hybrid MF and a JAX two-tower, or --model mf|als|linear|...
      kuaicore tune ART             search models and hyperparameters on the validation split
      kuaicore evaluate ART         ranking metrics on the small matrix, with reference rows
      kuaicore recommend ART --user ID          top-K videos for one user
      kuaicore compare ART          every model and baseline in one table
      kuaicore report ART --out report.html     one self-contained HTML report with plots

    DATA is a `KuaiRec 2.0/` folder, its `data/` folder, or a folder written by `kuaicore synth`.
    Run `kuaicore COMMAND --help` for the options of each command.
    """


def _register() -> None:
    """Attach the subcommands (their modules import only click; heavy work is imported when they run)."""
    from kuaicore.commands import data, evaluation, pipeline, training, tuning

    for command in (
        pipeline.demo,
        data.synth,
        data.validate,
        data.build_features_cmd,
        training.train,
        tuning.tune,
        evaluation.evaluate,
        evaluation.recommend,
        evaluation.compare,
        pipeline.report,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kuaicore")


if __name__ == "__main__":
    main()
