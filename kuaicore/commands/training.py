"""`kuaicore train`: every model, into ART/runs/NAME/."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
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
    help="Rows per step (at most the training rows; rounded up to a multiple of the device count).",
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
@click.option(
    "--run",
    "run_name",
    default=None,
    help="Run name under ART/runs/ [default: two-tower-LOSS-sSEED, or MODEL-sSEED].",
)
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
    from kuaicore.runs import default_run_name

    name = run_name or default_run_name(model, loss, seed)
    if model == "id-mlp":
        from kuaicore.training.id_mlp import train_id_mlp

        click.echo(train_id_mlp(cfg, name))
        return
    if model != "two-tower":
        from kuaicore.training.baselines import train_baseline

        click.echo(train_baseline(cfg, name))
        return
    if model_options:
        raise UsageError("--option: applies to the baselines; the two-tower model has its own flags")
    from kuaicore.training.devices import configure_cpu_devices

    configure_cpu_devices()  # one XLA device per CPU core, before JAX is imported
    from kuaicore.training.loop import train as run_training

    click.echo(run_training(cfg).run_dir)
