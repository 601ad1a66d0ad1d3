"""Runs inside an ART folder: find them (`runs/latest`), and load what evaluation and recommendation need.

A run ``ART/runs/NAME/`` of any model holds either ``user_emb.npy`` + ``item_emb.npy`` (float32, row = index,
dot product ranks as the model does) or, for models that cannot be written as a dot product,
``eval_scores.npy`` (one score per row of ``eval.parquet``, small-matrix protocol only). Regression models
also write ``eval_pred.npy``: predicted watch ratio per row of ``eval.parquet``. A model refitted on the
training and validation rows after validation chose its settings (the hybrid's ``refit``) also keeps the
chosen fit's embeddings, trained on the training rows alone, as ``heldout_user_emb.npy`` +
``heldout_item_emb.npy``: what a test on the validation rows ranks with (:meth:`RunOutputs.heldout`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import check_finite
from kuaicore.atomic import atomic_file, atomic_folder, exclusive_lock, leftover_owner, sweep_leftovers
from kuaicore.atomic import write_json_atomic as write_json_atomic
from kuaicore.errors import ArtifactError, UsageError

LATEST = "latest"
BEST = "best"  # written by `kuaicore tune`: the run with the best validation score


def runs_dir(art: Path) -> Path:
    return Path(art) / "runs"


def default_run_name(model: str, loss: str, seed: int) -> str:
    """The folder a run gets without --run: ``MODEL-LOSS-sSEED`` for a model of the JAX loop (its loss
    decides what it learns), ``MODEL-sSEED`` for every other model (kuaicore.models.resolve.Model.run_name).
    `kuaicore compare` finds runs to reuse by it."""
    from kuaicore.models.resolve import resolve

    return resolve(model).run_name(loss, seed)


def run_name(cfg: Any) -> str:
    """The run folder a TrainConfig trains into: ``cfg.run``, else :func:`default_run_name`."""
    return cfg.run or default_run_name(cfg.model, cfg.loss, cfg.seed)


_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_run_name(name: str) -> str:
    """``name`` if it is a plain run name: 1-100 letters, digits and ``-_.``, starting with a letter or
    digit, not ``latest`` and not one of our temporary names; UsageError otherwise (so ``--run ../../x``
    can never reach a folder outside ``ART/runs/``)."""
    if (
        not isinstance(name, str)
        or not _RUN_NAME.fullmatch(name)
        or name in (LATEST, BEST)
        or leftover_owner(name) is not None
    ):
        raise UsageError(
            f"--run {name!r}: a run name is 1-100 letters, digits and - _ . (starting with a letter or"
            f" digit), and not {LATEST!r} or {BEST!r}"
        )
    return name


@contextmanager
def run_lock(art: Path, name: str) -> Iterator[Path]:
    """One writer per run: hold ``runs/.NAME.lock`` (BusyError at once if another process does), remove
    what killed runs left (``NAME.tmp-PID``, ``NAME.old-PID``, temporary checkpoints); yield the run
    folder."""
    runs = runs_dir(art)
    run_dir = runs / check_run_name(name)
    with exclusive_lock(runs / f".{name}.lock", run_dir, "train"):
        sweep_leftovers(runs, (f"{name}.tmp-", f"{name}.old-", f".{LATEST}.tmp-"))
        sweep_leftovers(run_dir)
        yield run_dir


def resolve_run(art: Path, name: str | None) -> Path:
    """The folder of run ``name`` (None: the one ``runs/latest`` names); ArtifactError if absent."""
    runs = runs_dir(art)
    if name == BEST:  # the winner of `kuaicore tune`
        best = runs / BEST
        if not best.is_file():
            raise ArtifactError(f"{runs}: no runs/{BEST} (run `kuaicore tune {art}` first)")
        name = best.read_text(encoding="utf-8").strip()
    if name is None or name == LATEST:  # `--run latest` means what no --run means
        latest = runs / LATEST
        if not latest.is_file():
            raise ArtifactError(
                f"{runs}: no trained run (run `kuaicore train {art}` first, or pass --run NAME)"
            )
        name = latest.read_text(encoding="utf-8").strip()
    check_run_name(name)
    path = runs / name
    if not path.is_dir():
        known = (
            sorted(p.name for p in runs.iterdir() if p.is_dir() and ".tmp-" not in p.name)
            if runs.is_dir()
            else []
        )
        raise ArtifactError(f"--run {name}: no such run in {runs} (known: {', '.join(known) or 'none'})")
    return path


def list_runs(art: Path) -> list[str]:
    """Names of the complete runs in ART, sorted."""
    runs = runs_dir(art)
    if not runs.is_dir():
        return []
    return sorted(
        p.name for p in runs.iterdir() if p.is_dir() and ".tmp-" not in p.name and ".old-" not in p.name
    )


@dataclass(frozen=True)
class RunOutputs:
    """What a run offers evaluation: embeddings or per-eval-row scores; optional watch-ratio predictions."""

    name: str
    path: Path
    config: dict[str, Any]
    user_emb: np.ndarray | None
    item_emb: np.ndarray | None
    eval_scores: np.ndarray | None
    eval_pred: np.ndarray | None
    heldout_user_emb: np.ndarray | None = None
    heldout_item_emb: np.ndarray | None = None

    @property
    def has_embeddings(self) -> bool:
        return self.user_emb is not None and self.item_emb is not None

    def heldout(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The embeddings a test on the validation rows ranks with: the fit that never saw them
        (``heldout_*_emb.npy`` where the run was refitted on them, else the run's own)."""
        if self.heldout_user_emb is not None and self.heldout_item_emb is not None:
            return self.heldout_user_emb, self.heldout_item_emb
        return self.user_emb, self.item_emb


def _maybe(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"{path}: unreadable ({err})") from err
    return check_finite(path, arr)


def load_run(run_dir: Path) -> RunOutputs:
    """Load a run's outputs; ArtifactError if it has neither embeddings nor eval scores."""
    cfg_path = run_dir / "config.json"
    config = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
    out = RunOutputs(
        name=run_dir.name,
        path=run_dir,
        config=config,
        user_emb=_maybe(run_dir / "user_emb.npy"),
        item_emb=_maybe(run_dir / "item_emb.npy"),
        eval_scores=_maybe(run_dir / "eval_scores.npy"),
        eval_pred=_maybe(run_dir / "eval_pred.npy"),
        heldout_user_emb=_maybe(run_dir / "heldout_user_emb.npy"),
        heldout_item_emb=_maybe(run_dir / "heldout_item_emb.npy"),
    )
    if not out.has_embeddings and out.eval_scores is None:
        raise ArtifactError(f"{run_dir}: holds neither user_emb.npy + item_emb.npy nor eval_scores.npy")
    return out


RUN_SCHEMA = 1  # the version of config.json's layout (docs/ARTIFACTS.md)


@dataclass(frozen=True)
class RunRecord:
    """What config.json records of a run, the same keys for every model (docs/ARTIFACTS.md): the model's
    name (registry name or FILE.py:NAME), the TrainConfig, the resolved ``--option`` values (None: the model
    has none), what its score means, and model-specific ``info``."""

    model: str
    train: dict[str, Any]
    options: dict[str, Any] | None
    score: str
    info: dict[str, Any]

    def as_json(self, run: str, outputs: list[str]) -> dict[str, Any]:
        from kuaicore.config import jsonable

        return {
            "schema": RUN_SCHEMA,
            "run": run,
            "model": self.model,
            "train": jsonable(self.train),
            "options": jsonable(self.options),
            "score": self.score,
            "outputs": outputs,
            "info": jsonable(self.info),
        }


def write_run(
    run_dir: Path,
    arrays: dict[str, np.ndarray],
    record: RunRecord,
    log: list[dict[str, Any]],
    params: dict[str, np.ndarray] | None = None,
) -> Path:
    """The one run writer: atomically (re)place ``run_dir`` with a finished run and point ``runs/latest``
    at it.

    ``arrays`` are saved as ``NAME.npy`` (user_emb, item_emb, eval_scores, eval_pred); ``params`` as
    params.npz; ``record`` as config.json; ``log`` as train_log.jsonl. Written
    into ``runs/NAME.tmp-PID`` first, then swapped in by renames (kuaicore.atomic.atomic_folder), so a
    reader sees the old run or the new one; a ``ckpt.npz`` of the old folder (resume state) is carried over.
    """
    import shutil

    for name, arr in arrays.items():
        if np.asarray(arr).dtype.kind == "f" and not np.isfinite(arr).all():
            raise ArtifactError(
                f"{run_dir.name}: {name} holds NaN or inf (the model diverged: try a lower --lr);"
                " nothing written"
            )
    outputs = sorted(f"{name}.npy" for name in arrays) + (["params.npz"] if params is not None else [])
    config = record.as_json(run_dir.name, outputs)
    with atomic_folder(run_dir) as tmp:
        _write_run_files(tmp, arrays, config, log, params)
        ckpt = run_dir / "ckpt.npz"
        if ckpt.is_file():  # a hard link (or copy): a kill during the swap never loses the resume state
            try:
                os.link(ckpt, tmp / "ckpt.npz")
            except OSError:
                shutil.copy2(ckpt, tmp / "ckpt.npz")
    runs = run_dir.parent
    with atomic_file(runs / LATEST) as latest_tmp:
        latest_tmp.write_text(run_dir.name + "\n", encoding="utf-8")
    return run_dir


def _write_run_files(
    folder: Path,
    arrays: dict[str, np.ndarray],
    config: dict[str, Any],
    log: list[dict[str, Any]],
    params: dict[str, np.ndarray] | None,
) -> None:
    for name, arr in arrays.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(arr))
    if params is not None:
        with open(folder / "params.npz", "wb") as fh:
            np.savez(fh, **params)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "train_log.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in log))
