"""Frozen configuration dataclasses, one per command, built once from CLI options and passed down.

Nothing below the CLI reads options, environment variables or globals: a function's behaviour is fixed by the
config it is given, which is also what gets recorded (manifest.json, config.json) next to its outputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kuaicore.models.registry import DEFAULT_MODEL

SCALES = ("tiny", "small", "full")
DEFAULT_SEED = 0  # every command's --seed
DEFAULT_MEMORY_LIMIT = "1GB"  # --memory-limit: the budget of the whole process (kuaicore.data.duck)
# `synth --world`; the first is the default
WORLDS = ("mixed", "collaborative", "content", "mixed-taste", "popular")


def jsonable(value: Any) -> Any:
    """``value`` made JSON-ready: paths as strings, tuples as lists, dict keys as strings, NumPy scalars and
    arrays as Python values (duck-typed through ``tolist``, so that this module does not import NumPy)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [jsonable(x) for x in value]
    if isinstance(value, dict):
        return {str(k): jsonable(x) for k, x in value.items()}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return value.tolist()
    return value


def to_jsonable(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict (see :func:`jsonable`)."""
    return jsonable(asdict(config))


@dataclass(frozen=True)
class SynthConfig:
    """`kuaicore synth`: where to write, how big, which seed and world. ``n_users``/``n_items`` override the
    scale; ``world`` names where the planted taste lives (kuaicore.data.synth.worlds)."""

    out: Path
    scale: str = "tiny"
    seed: int = DEFAULT_SEED
    n_users: int | None = None
    n_items: int | None = None
    world: str = "mixed"


@dataclass(frozen=True)
class FeatureConfig:
    """`kuaicore build-features`: DuckDB limits, label rules and the split."""

    data: Path
    out: Path
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None
    seed: int = DEFAULT_SEED
    watch_ratio_cap: float = 5.0
    like_threshold: float = 2.0
    valid_fraction: float = 0.1
    debiased_percentile: float = 0.8
    duration_buckets: int = 10
    taste_prior: float = 20.0
    row_group_size: int = 1_000_000  # rows per Parquet row group of train.parquet (the shuffle unit)
    force: bool = False
    label_rule: str = "wr"  # which label fills `label`: "wr" (watch_ratio > like_threshold) or "debiased"
    min_category_videos: int = 50  # second-level caption categories with fewer videos get no one-hot column
    max_onehot_values: int = 16  # user onehot_feat* with more distinct values become categorical ids
    validate: bool = False  # the full `kuaicore validate` scan first (one more read of every file)


@dataclass(frozen=True)
class TrainConfig:
    """`kuaicore train`: model, loss, optimisation and the run it writes to."""

    art: Path
    model: str = DEFAULT_MODEL  # a registry name (kuaicore.models.registry) or FILE.py:NAME / MODULE:NAME
    loss: str = "mse"  # the best on the synthetic benchmark (README "Which model when")
    epochs: int = 0  # 0: as many as kuaicore.training.budget.STEP_BUDGET steps take, with patience 3
    batch_size: int = 4096
    lr: float = 3e-3
    dims: tuple[int, ...] = (128, 64, 32)
    id_embeddings: bool | None = None  # None: on for softmax, off otherwise
    temperature: float = 0.05
    weight_decay: float = 1e-5
    clip_norm: float = 1.0
    cosine_schedule: bool = False
    shuffle_buffer: int = 262_144
    checkpoint_every: int = 0  # steps; 0 = once per epoch only
    seed: int = DEFAULT_SEED
    run: str | None = None
    resume: bool = False
    max_steps: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # model-specific options
    id_dim: int = 32  # width of each learned id embedding (user, item, author) when id embeddings are on
    n_candidates: int = 1024  # softmax: in-batch candidates (the first rows of each shuffled batch)
    valid_users: int = 1000  # users sampled for validation recall@K
    recall_k: int = 50
    patience: int = 0  # stop after this many epochs without a better valid ndcg@10 (0: run every epoch)
    # Automatic choices, fields only for tests and benchmarks (no CLI option): how each tower runs
    # ("auto" | "rows" | "entities", see kuaicore.models.two_tower.entity_level) and where the training rows
    # live ("auto" | "device" | "stream", see kuaicore.training.resident.fits).
    towers: str = "auto"
    data_on_device: str = "auto"


def parse_ks(text: str) -> tuple[int, ...]:
    """``--k`` text such as ``10,50,100`` as cut-offs (checked by EvalConfig); UsageError naming --k."""
    from kuaicore.errors import UsageError

    try:
        return tuple(int(x) for x in str(text).split(","))
    except ValueError:
        raise UsageError(f"--k: expected comma-separated integers like 10,50,100, got {text!r}") from None


@dataclass(frozen=True)
class EvalConfig:
    """`kuaicore evaluate`: protocol, cut-offs, label rule, output. The cut-offs and the bootstrap count are
    checked here, once, for the CLI and the Python API alike."""

    art: Path
    run: str | None = None
    protocol: str = "small"
    ks: tuple[int, ...] = (10, 50, 100)
    threshold: float = 2.0
    label: str = "wr"
    gain_cap: float = 5.0
    bootstrap: int = 1000
    seed: int = DEFAULT_SEED
    json_path: Path | None = None

    def __post_init__(self) -> None:
        from kuaicore.errors import UsageError

        ks = tuple(self.ks)
        if not ks or any(isinstance(k, bool) or int(k) != k or k < 1 for k in ks):
            raise UsageError(f"--k: cut-offs must be positive integers, got {self.ks}")
        if isinstance(self.bootstrap, bool) or int(self.bootstrap) != self.bootstrap or self.bootstrap < 0:
            raise UsageError(f"--bootstrap: must be an integer >= 0, got {self.bootstrap!r}")


@dataclass(frozen=True)
class DemoConfig:
    """`kuaicore demo`: where to work, which data (synthetic at ``scale`` unless ``data`` is given)."""

    folder: Path
    scale: str = "small"
    data: Path | None = None
    seed: int = DEFAULT_SEED
    compare_models: tuple[str, ...] | None = None  # None: the registry's demo models (registry.demo_names)
    epochs: int | None = None
