"""`kuaicore train`: every model, into ART/runs/NAME/."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from kuaicore.config import TrainConfig
from kuaicore.models.registry import MODELS, describe, ignored_flags, is_plugin, losses, names
from kuaicore.options import NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT, SEED


class ModelName(click.ParamType):
    """--model: a registry name (listed as choices in --help) or a user's FILE.py:NAME / MODULE:NAME."""

    name = "model"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(names()) + "|FILE.py:NAME]"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value in names() or is_plugin(value):
            return value
        self.fail(f"{value!r} is not one of {', '.join(names())} (or FILE.py:NAME / MODULE:NAME)", param, ctx)


@click.command()
@click.argument("art", type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=ModelName(),
    default=TrainConfig.model,
    show_default=True,
    help=f"A built-in model or your own (FILE.py:NAME or MODULE:NAME: README 'Add a model'). {describe()}.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the model (a field of its Options dataclass), repeatable; the options of each"
    " built-in are listed under --model.",
)
@click.option(
    "--loss",
    type=click.Choice(losses()),
    default=TrainConfig.loss,
    show_default=True,
    help="mse: regress the capped watch ratio (the seed's NNEncoding; the best here); bce: the like label;"
    " softmax: in-batch sampled softmax over liked rows (logQ-corrected).",
)
@click.option(
    "--epochs",
    type=NON_NEGATIVE_INT,
    default=TrainConfig.epochs,
    show_default=True,
    help="Passes over train.parquet (at most, with --patience); 0: as many as 2,000 optimizer steps take"
    " (3 to 30: 17 at 500k rows, 3 at full scale), with --patience 3 unless given.",
)
@click.option(
    "--batch-size",
    type=POSITIVE_INT,
    default=TrainConfig.batch_size,
    show_default=True,
    help="Rows per step (at most the training rows; rounded up to a multiple of the device count).",
)
@click.option(
    "--lr", type=POSITIVE_FLOAT, default=TrainConfig.lr, show_default=True, help="Adam learning rate."
)
@click.option(
    "--dims",
    default=",".join(map(str, TrainConfig.dims)),
    show_default=True,
    help="Layer sizes of each tower.",
)
@click.option(
    "--id-embeddings/--no-id-embeddings",
    default=None,
    help="Learned user/item/author id embeddings [default: on for softmax, off otherwise].",
)
@click.option(
    "--temperature",
    type=POSITIVE_FLOAT,
    default=TrainConfig.temperature,
    show_default=True,
    help="score = dot / temperature.",
)
@click.option(
    "--weight-decay",
    type=NON_NEGATIVE_FLOAT,
    default=TrainConfig.weight_decay,
    show_default=True,
    help="AdamW weight decay.",
)
@click.option("--cosine-schedule", is_flag=True, help="Cosine-decay the learning rate over the run.")
@click.option(
    "--checkpoint-every",
    type=NON_NEGATIVE_INT,
    default=TrainConfig.checkpoint_every,
    show_default=True,
    help="Also checkpoint every N steps (0: once per epoch).",
)
@click.option(
    "--seed",
    type=SEED,
    default=TrainConfig.seed,
    show_default=True,
    help="Seed of initialisation and data order.",
)
@click.option(
    "--run",
    "run_name",
    default=None,
    help="Run name under ART/runs/: letters, digits and - _ . (not 'latest') [default: MODEL-sSEED, e.g."
    " blend-s0; two-tower-LOSS-sSEED].",
)
@click.option(
    "--patience",
    type=NON_NEGATIVE_INT,
    default=TrainConfig.patience,
    show_default=True,
    help="Stop after N epochs without a better valid ndcg@10 (0: every --epochs epoch runs; 3 with the"
    " automatic --epochs 0); --epochs is then a maximum. The best epoch is exported either way.",
)
@click.option("--resume", is_flag=True, help="Continue the run from its ckpt.npz (same final parameters).")
@click.option(
    "--max-steps", type=POSITIVE_INT, default=None, help="Stop after N steps in total (checkpointed)."
)
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
    patience: int,
) -> None:
    """Train a model on ART (from build-features) and write ART/runs/NAME/.

    The default, blend, trains two models and ranks by their weighted sum, the weight chosen on
    valid.parquet: hybrid (matrix factorisation of the watch ratio plus each user's weights over the
    video's tags and length, fitted by exact alternating solves) and the two-tower over every feature
    column, each part kept as a run (NAME-hybrid, NAME-tower). Options are --option KEY=VALUE (listed
    under --model).

    The two-tower model (--model two-tower) streams train.parquet in shuffled minibatches over every local
    device (CPU or GPU), validates on valid.parquet each epoch, keeps the best epoch, checkpoints to
    runs/NAME/ckpt.npz, and exports user_emb.npy, item_emb.npy, params.npz, config.json and train_log.jsonl.

    The other models read the same artifacts and write the same run files (no --loss, --epochs...); so
    does your own model, given as FILE.py:NAME (README "Add a model").

    \b
    Examples:
      kuaicore train /tmp/art
      kuaicore train /tmp/art --model two-tower --loss softmax --epochs 3
      kuaicore train /tmp/art --model als --option factors=64 --option iterations=15
    """
    from kuaicore.errors import UsageError

    ctx = click.get_current_context()
    given = {n for n in ctx.params if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE}
    ignored = ignored_flags(model, given)
    if ignored:
        flag = "--" + ignored[0].replace("_", "-")
        reads = MODELS[model].train_flags
        if reads:
            read = ", ".join("--" + f.replace("_", "-") for f in reads)
            raise UsageError(f"{flag}: not a setting of --model {model} (it reads {read})")
        raise UsageError(
            f"{flag}: a setting of the JAX two-tower; --model {model} takes --option KEY=VALUE instead"
            " (its options are listed under --model in kuaicore train --help)"
        )
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
        patience=patience,
        options=model_options,
    )
    from kuaicore.api import train as run_train

    summary = run_train(art, **{k: v for k, v in asdict(cfg).items() if k != "art"})
    click.echo(summary.run_dir)
