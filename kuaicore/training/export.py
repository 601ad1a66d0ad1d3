"""Write a finished run: ``runs/NAME/`` with params.npz, user_emb.npy, item_emb.npy, config.json,
train_log.jsonl and ckpt.npz, then point ``runs/latest`` at it.

Everything is written into ``runs/NAME.tmp-PID`` and swapped in by renames, so a reader sees either the old
run or the complete new one. The checkpoint, rewritten during training in ``runs/NAME/``, is linked into the
new folder so that ``--resume`` still finds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from kuaicore import runs


def flat_params(params: Any) -> dict[str, np.ndarray]:
    """Parameter leaves keyed by their tree path, e.g. ``user/0/w``."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        key = "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        out[key] = np.asarray(leaf)
    return out


def write_run(
    run_dir: Path,
    params: Any,
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    record: runs.RunRecord,
    log: list[dict[str, Any]],
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Atomically (re)place ``run_dir`` with a JAX model's exports (+ ``extra`` arrays as NAME.npy), through
    :func:`kuaicore.runs.write_run` (the one run writer: config.json from ``record``, keeps ckpt.npz,
    updates ``runs/latest``)."""
    arrays = {
        "user_emb": np.ascontiguousarray(user_emb, np.float32),
        "item_emb": np.ascontiguousarray(item_emb, np.float32),
        **(extra or {}),
    }
    return runs.write_run(run_dir, arrays, record, log, params=flat_params(params))
