"""The ART folder written by `kuaicore build-features` (docs/ARTIFACTS.md): its manifest, read in one place.

Every stage after build-features (training, baselines, evaluation, report) opens ART through
:func:`read_manifest`, so a folder that is not an ART gets the same clear message everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.errors import ArtifactError


def read_manifest(art: Path, required: tuple[str, ...] = ("n_users", "n_items")) -> dict[str, Any]:
    """``ART/manifest.json`` as a dict; ArtifactError naming the folder or file when ART is missing, the
    manifest is absent or not a JSON object, or it lacks one of the ``required`` keys."""
    art = Path(art)
    if not art.is_dir():
        raise ArtifactError(f"{art}: no such artifact folder (make one with `kuaicore build-features DATA"
                            f" --out {art}`)")  # fmt: skip
    path = art / "manifest.json"
    if not path.is_file():
        raise ArtifactError(f"{path}: missing; {art} is not an ART written by `kuaicore build-features`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: not a JSON object")
    missing = [k for k in required if k not in manifest]
    if missing:
        raise ArtifactError(f"{path}: missing key(s) {', '.join(missing)}")
    return manifest


def eval_pairs(art: Path) -> tuple[np.ndarray, np.ndarray]:
    """(user_idx, item_idx) int32 of every row of ``ART/eval.parquet``, in file order: the rows a run's
    ``eval_pred.npy`` / ``eval_scores.npy`` are aligned with."""
    import pyarrow.parquet as pq

    path = Path(art) / "eval.parquet"
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (run `kuaicore build-features` again)")
    table = pq.read_table(path, columns=["user_idx", "item_idx"])
    return tuple(table.column(c).to_numpy().astype(np.int32) for c in ("user_idx", "item_idx"))
