"""The model registry: every built-in model, listed once, and the loader of a user's own model.

A model is one :class:`ModelEntry`: its name, a help line, and either ``fit`` (the fit contract of
kuaicore.models.contract: ``fit(data, options) -> Fitted``) with its ``options`` dataclass, or ``objective``
(a model of the JAX training loop, kuaicore.training.objective) with the ``losses`` it trains with. ``search``
is its `kuaicore tune` space; ``demo`` puts it in the demo's comparison. The CLI's ``--model`` choices,
`train`, `compare`, `tune` and the demo read this table; nothing else names a built-in model.

Functions and classes are named as ``"module:attribute"`` and imported only when a model is used, so reading
the table (``kuaicore train --help``) imports no model code. A user's model (``path/to/file.py:Name`` or
``package.module:Name``) is loaded by kuaicore.models.resolve, which turns either kind into one ``Model``.

To add a built-in model: write ``kuaicore/models/NAME.py`` (pure code + an ``Options`` dataclass + a
``fit(data: ModelData, options) -> Fitted``) and add one ``ModelEntry`` to ``BUILTIN`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kuaicore.errors import UsageError
from kuaicore.models.losses import LOSSES

Sampler = Callable[[Any], Any]  # numpy.random.Generator -> a value (numpy is imported when one is drawn)


def loguniform(lo: float, hi: float) -> Sampler:
    """A tune sampler: log-uniform on [lo, hi]."""

    def sample(rng: Any) -> float:
        import numpy as np

        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    return sample


def choice(*values: Any) -> Sampler:
    """A tune sampler: one of ``values``, uniformly."""
    return lambda rng: values[int(rng.integers(len(values)))]


def fixed(value: Any) -> Sampler:
    """A tune "sampler" that always gives ``value`` (and draws nothing from the generator)."""
    return lambda rng: value


@dataclass(frozen=True)
class Search:
    """A model's `kuaicore tune` space: ``options`` go to its options dataclass, ``train`` to TrainConfig;
    ``resource`` is the option or field the budget scales (None: trained once); ``default_rank``: its place
    in the round robin of trials when `tune --models` is not given (None: searched only when named)."""

    options: dict[str, Sampler] = field(default_factory=dict)
    train: dict[str, Sampler] = field(default_factory=dict)
    resource: str | None = None
    max_resource: int = 1
    default_rank: int | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One model: ``fit`` + ``options`` (the fit contract) or ``objective`` + ``losses`` (the JAX loop)."""

    name: str
    help: str
    fit: str | None = None  # "module:function", fit(data: ModelData, options) -> Fitted
    options: str | None = None  # "module:Class", the frozen dataclass of its --option settings
    objective: str | None = None  # "module:function", objective(cfg, data, spread) -> Objective
    losses: tuple[str, ...] = ()  # the --loss values (compare trains one run per loss); empty: one fixed loss
    search: Search | None = None
    demo: bool = False  # in the demo's comparison (the fast, informative ones)
    train_flags: tuple[str, ...] = ()  # train's loop flags it reads (empty for an objective model: all)


TWO_TOWER = "two-tower"  # the JAX dual encoder (the blend trains one as its feature part)
HYBRID = "hybrid"  # ids + content by alternating solves (the blend fits one as its id part)

# train's flags that only the JAX loop reads (a fit model takes --option KEY=VALUE instead)
LOOP_FLAGS = (
    "loss",
    "epochs",
    "batch_size",
    "lr",
    "dims",
    "id_embeddings",
    "temperature",
    "weight_decay",
    "cosine_schedule",
    "checkpoint_every",
    "resume",
    "max_steps",
    "patience",
)
TOWER_FLAGS = ("loss", "dims", "id_embeddings", "temperature")  # the two-tower's own architecture and loss

BUILTIN: tuple[ModelEntry, ...] = (
    ModelEntry(
        "popularity",
        "one score per video for every user; options: variant=views|mean-wr, prior",
        fit="kuaicore.models.popularity:fit_art",
        options="kuaicore.models.popularity:PopularityOptions",
        search=Search(options={"prior": choice(1.0, 10.0, 20.0, 50.0, 100.0)}, default_rank=3),
        demo=True,
    ),
    ModelEntry(
        "tag-cosine",
        "content similarity of the user's watched tags; options: columns=tags|all",
        fit="kuaicore.models.tag_cosine:fit_art",
        options="kuaicore.models.tag_cosine:TagCosineOptions",
        search=Search(options={"columns": choice("tags", "all")}),
        demo=True,
    ),
    ModelEntry(
        "linear",
        "ridge regression of the watch ratio on user x item features; options: ridge, taste_prior",
        fit="kuaicore.models.linear:fit_art",
        options="kuaicore.models.linear:LinearOptions",
        search=Search(
            options={"ridge": loguniform(0.01, 100.0), "taste_prior": choice(5.0, 20.0, 50.0)}, default_rank=2
        ),
        demo=True,
    ),
    ModelEntry(
        "als",
        "implicit matrix factorisation (what is watched); options: factors, iterations, reg, alpha,"
        " confidence=linear|log, dtype=float32|float64",
        fit="kuaicore.models.als:fit_art",
        options="kuaicore.models.als:ALSOptions",
        search=Search(
            options={
                "factors": choice(16, 32, 64),
                "reg": loguniform(0.01, 1.0),
                "alpha": choice(1.0, 2.0, 5.0, 10.0),
                "confidence": choice("linear", "log"),
            },
            resource="iterations",
            max_resource=15,
            default_rank=4,
        ),
        demo=True,
    ),
    ModelEntry(
        "mf",
        "biased matrix factorisation of the watch ratio (how much it is liked; the factor penalty chosen on"
        " valid, then 8 factors tried); options: factors, iterations, reg, ranks, path_iterations, bias_reg,"
        " target=log|capped",
        fit="kuaicore.models.mf:fit_art",
        options="kuaicore.models.mf:MFOptions",
        search=Search(
            options={
                "factors": choice(8, 16, 32, 64),
                "ranks": fixed(""),  # tune searches the rank itself; a rank stage would add to each rung
                "reg": loguniform(0.005, 0.5),
                "bias_reg": loguniform(0.001, 0.1),
                "target": choice("log", "capped"),
            },
            resource="iterations",
            max_resource=18,
            default_rank=1,
        ),
        demo=True,
    ),
    ModelEntry(
        HYBRID,
        "biased MF + each user's weights over the video's tags and length (ids and content, fitted by exact"
        " alternating solves; the side and factor penalties chosen on valid, then 8 factors tried, then users"
        " shrunk toward taste groups, with their covariance as the penalty or not, or toward a taste mixture"
        " fitted by EM, and an item-neighbourhood term, each kept where valid is better); options: factors,"
        " iterations, reg, ranks, side_reg, item_side, user_side, clusters, covariance_groups,"
        " mixture_groups, mixture_power, neighbours, implicit (exposure factors)",
        fit="kuaicore.models.hybrid:fit_art",
        options="kuaicore.models.hybrid:HybridOptions",
        search=Search(
            options={
                "factors": choice(16, 32, 64),
                "ranks": fixed(""),  # tune searches the rank itself
                "reg": loguniform(0.01, 0.2),
                "side_reg": choice("8,2,0.5", "2", "0.5", "8"),
            },
            resource="iterations",
            max_resource=40,
            default_rank=0,
        ),
        demo=True,
    ),
    ModelEntry(
        "blend",
        "hybrid + two-tower, the hybrid's weight chosen on valid (the two-tower part is kept as run"
        " NAME-tower); options: weights, tower_epochs, tower_patience, tower_batch,"
        " hybrid_fits",
        fit="kuaicore.models.blend:fit_art",
        options="kuaicore.models.blend:BlendOptions",
        demo=True,  # the demo's own run (`train`'s default), so its comparison shows the model it trained
    ),
    ModelEntry(
        "id-mlp",
        "id embeddings + item features -> MLP (JAX loop, MSE; scores pairs: the small matrix only); uses"
        " --epochs, --batch-size, --lr, --weight-decay, --cosine-schedule, --patience, --max-steps, --resume",
        objective="kuaicore.training.objective:id_mlp_objective",
        train_flags=tuple(f for f in LOOP_FLAGS if f not in TOWER_FLAGS),
    ),
    ModelEntry(
        TWO_TOWER,
        "the JAX dual encoder (--loss, --epochs, --dims, ... are its options)",
        objective="kuaicore.training.objective:two_tower_objective",
        losses=tuple(LOSSES),  # every loss of kuaicore.models.losses
        search=Search(
            train={
                "loss": choice("mse", "bce"),
                "lr": loguniform(3e-4, 1e-2),
                "batch_size": choice(1024, 4096, 16384),
                "dims": choice((64, 32), (128, 64, 32)),
                "id_embeddings": choice(True, False),
                "id_dim": choice(16, 32, 64),
                "weight_decay": loguniform(1e-6, 1e-3),
                "temperature": choice(0.05, 0.1, 0.2),
            },
            resource="epochs",
            max_resource=9,
            default_rank=5,
        ),
    ),
)
MODELS: dict[str, ModelEntry] = {entry.name: entry for entry in BUILTIN}
DEFAULT_MODEL = "blend"  # `kuaicore train`'s default (README "Which model when")
DEMO_LOSS = "mse"  # the demo compares the objective models with this loss (the default of --loss)


def ignored_flags(name: str, given: set[str]) -> list[str]:
    """The loop flags among ``given`` that built-in model ``name`` would ignore (none for a user's model,
    which may read any of them from ``data.config``)."""
    entry = MODELS.get(name)
    if entry is None or (entry.objective is not None and not entry.train_flags):
        return []
    return [f for f in LOOP_FLAGS if f in given and f not in entry.train_flags]


def names() -> tuple[str, ...]:
    """The built-in model names, in registry order (the CLI's --model choices)."""
    return tuple(MODELS)


def is_plugin(name: str) -> bool:
    """Whether ``name`` names a user's model (``FILE.py:NAME`` or ``MODULE:NAME``) rather than a built-in."""
    return ":" in name


def losses() -> tuple[str, ...]:
    """Every --loss of the models of the JAX loop (the CLI's choices), in registry order."""
    return tuple(dict.fromkeys(x for e in BUILTIN for x in e.losses))


def describe() -> str:
    """One line per built-in model, for --help."""
    return "; ".join(f"{e.name}: {e.help}" for e in BUILTIN)


def compare_names() -> tuple[str, ...]:
    """The names `kuaicore compare` knows: a fit model's name, or ``MODEL-LOSS`` per loss of an objective."""
    return tuple(n for e in BUILTIN for n in ([f"{e.name}-{x}" for x in e.losses] if e.losses else [e.name]))


def demo_names() -> tuple[str, ...]:
    """The demo's comparison: the ``demo`` entries, then each objective model with the default loss."""
    fit = (e.name for e in BUILTIN if e.demo)
    return (*fit, *(f"{e.name}-{DEMO_LOSS}" for e in BUILTIN if e.objective and DEMO_LOSS in e.losses))


def split_compare_name(name: str) -> tuple[str, str | None]:
    """compare's ``name`` as (model, loss or None); UsageError when it is neither known nor a plugin."""
    if is_plugin(name) or (name in MODELS and not MODELS[name].losses):
        return name, None
    for entry in BUILTIN:
        for loss in entry.losses:
            if name == f"{entry.name}-{loss}":
                return entry.name, loss
    raise UsageError(f"--models: unknown {name} (choose from {', '.join(compare_names())}, or FILE.py:NAME)")


def search_spaces() -> dict[str, Search]:
    """The tune spaces by model name (registry order)."""
    return {e.name: e.search for e in BUILTIN if e.search is not None}


def tune_defaults() -> tuple[str, ...]:
    """The models `kuaicore tune` searches by default, in their round-robin order."""
    ranked = [(s.default_rank, n) for n, s in search_spaces().items() if s.default_rank is not None]
    return tuple(n for _, n in sorted(ranked))
