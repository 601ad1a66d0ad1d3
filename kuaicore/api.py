"""The Python API for notebooks: each pipeline stage as one function taking the CLI's options.

``import kuaicore`` stays fast: these functions import DuckDB, JAX and the Numba kernels only when called.
Each returns plain Python / NumPy values (paths, dicts of metrics, arrays); errors are the same
``KuaiError`` subclasses the CLI prints as one line. Example::

    import kuaicore
    kuaicore.synth("/tmp/kr", scale="tiny")
    art = kuaicore.build_features("/tmp/kr", "/tmp/art")
    run = kuaicore.train(art, model="mf")
    metrics = kuaicore.evaluate(art, run=run.name, ks=(10,))
    board = kuaicore.tune(art, budget_seconds=600)  # runs/best names the winner
    print(metrics["rows"][0]["metrics"]["ndcg@10"]["mean"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuaicore.config import DEFAULT_MEMORY_LIMIT, EvalConfig, FeatureConfig, SynthConfig, TrainConfig

if TYPE_CHECKING:
    from kuaicore.training.runner import RunSummary


def synth(out: str | Path, scale: str = "tiny", seed: int = 0, **options: Any) -> Path:
    """Write a synthetic KuaiRec twin to ``out/data`` (+ ``truth.npz``); ``options`` as `kuaicore synth`'s
    (``n_users``, ``n_items``, ...). Returns the data folder."""
    from kuaicore.data.synth import write_synthetic

    write_synthetic(SynthConfig(out=Path(out), scale=scale, seed=seed, **options))
    return Path(out) / "data"


def validate(
    data: str | Path, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None
) -> dict[str, Any]:
    """`kuaicore validate`: the report of a KuaiRec folder as a dict, or, for an ART folder, the checksum
    verdict of each of its files."""
    from kuaicore.art import layout

    if (Path(data) / layout.MANIFEST).is_file():
        from kuaicore.art import verify_checksums

        return {"art": str(data), "files": verify_checksums(Path(data))}
    from kuaicore.data.validate import validate_dataset
    from kuaicore.options import memory_limit_bytes

    memory_limit_bytes(memory_limit)
    return validate_dataset(Path(data), memory_limit=memory_limit, threads=threads).as_dict()


def build_features(data: str | Path, out: str | Path, **options: Any) -> Path:
    """`kuaicore build-features DATA --out OUT`; ``options`` are FeatureConfig's fields (``memory_limit``,
    ``threads``, ``seed``, ``watch_ratio_cap``, ``valid_fraction``, ``label_rule``, ``force``, ...)."""
    from kuaicore.features import build_features as build

    return build(FeatureConfig(data=Path(data), out=Path(out), **options))


def train(art: str | Path, model: str = TrainConfig.model, **options: Any) -> RunSummary:
    """`kuaicore train ART --model MODEL`: ``model`` is a registry name (kuaicore.models.registry) or a
    user's ``FILE.py:NAME`` / ``MODULE:NAME``; ``options`` are TrainConfig's fields (``loss``, ``epochs``,
    ``lr``, ``seed``, ``run``, ``options={...}`` for a model's own options, ...). One writer per run (a lock,
    as the CLI takes). Returns the RunSummary (``.run_dir``, ``.name``; ``Path(summary)`` is the folder)."""
    from kuaicore.training.runner import train as run_training

    return run_training(TrainConfig(art=Path(art), model=model, **options))


def evaluate(art: str | Path, run: str | None = None, **options: Any) -> dict[str, Any]:
    """`kuaicore evaluate ART`: the result dict (rows of metrics with CIs, definitions) that metrics.json
    holds; ``options`` are EvalConfig's fields (``protocol``, ``ks``, ``threshold``, ``label``, ...)."""
    from kuaicore.evaluation.evaluate import evaluate as run_evaluation

    result, _ = run_evaluation(EvalConfig(art=Path(art), run=run, **options))
    return result


def recommend(art: str | Path, user_id: int | None = None, run: str | None = None, k: int = 10) -> Any:
    """Top-``k`` unseen videos for ``user_id`` (a dataset id), or for every user when None: a
    Recommendations with ``user_ids``, ``video_ids`` and ``scores`` as NumPy arrays."""
    from kuaicore.evaluation.recommend import recommend as run_recommend

    return run_recommend(Path(art), run, k, user_id)


def compare(
    art: str | Path,
    models: Sequence[str] | None = None,
    train_seed: int | None = None,
    train_options: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`kuaicore compare ART`: train what is missing, evaluate every model; the result dict (compare.json).
    ``models``: compare's names (``mf``, ``two-tower-mse``, ...) or ``FILE.py:NAME``; ``train_seed`` seeds the
    runs it trains (default: the evaluation ``seed``); ``train_options`` are TrainConfig fields for them
    (e.g. ``{"epochs": 2}``); ``options`` are EvalConfig's fields."""
    from kuaicore.comparison import compare as run_compare
    from kuaicore.comparison import parse_models

    names = parse_models(",".join(models) if models else None)
    cfg = EvalConfig(art=Path(art), **options)
    return run_compare(Path(art), names, cfg, train_options=train_options, train_seed=train_seed)


def tune(art: str | Path, **options: Any) -> dict[str, Any]:
    """`kuaicore tune ART`: a seeded successive-halving search scored on the validation split only; the
    leaderboard dict (also written to ``ART/tune.json``); ``runs/best`` names the winner. ``options`` are
    TuneConfig's fields (``models``, ``trials``, ``budget_seconds``, ``seed``, ``incumbent``: the default
    model, trained first as one more trial; None: not)."""
    from kuaicore.art import read_manifest, valid_candidates
    from kuaicore.atomic import atomic_file, write_json_atomic
    from kuaicore.protocol import protocol_ndcg
    from kuaicore.runs import BEST, load_run, runs_dir
    from kuaicore.search import TuneConfig
    from kuaicore.search import tune as search

    cfg = TuneConfig(art=Path(art), **options)
    manifest = read_manifest(cfg.art)
    threshold = float(manifest.get("like_threshold", cfg.threshold))
    cands = valid_candidates(cfg.art)

    def score(folder: Any) -> float:
        user_emb, item_emb = load_run(Path(folder)).heldout()  # a refitted run's own saw the valid rows
        return protocol_ndcg(cands, threshold, cfg.k, user_emb=user_emb, item_emb=item_emb)

    result = search(cfg, train, score)
    write_json_atomic(cfg.art / "tune.json", result)
    with atomic_file(runs_dir(cfg.art) / BEST) as tmp:
        tmp.write_text(result["best"] + "\n", encoding="utf-8")
    return result
