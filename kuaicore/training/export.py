"""Write a finished run: ``runs/NAME/`` with params.npz, user_emb.npy, item_emb.npy, config.json,
train_log.jsonl and ckpt.npz, then point ``runs/latest`` at it.

Everything is written into ``runs/NAME.tmp-PID`` and swapped in by renames, so a reader sees either the old
run or the complete new one. The checkpoint, rewritten during training in ``runs/NAME/``, is linked into the
new folder so that ``--resume`` still finds it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np


def flat_params(params: Any) -> dict[str, np.ndarray]:
    """Parameter leaves keyed by their tree path, e.g. ``user/0/w``."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        key = "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        out[key] = np.asarray(leaf)
    return out


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and os.replace."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_run(
    run_dir: Path,
    params: Any,
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    config: dict[str, Any],
    log: list[dict[str, Any]],
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Atomically (re)place ``run_dir`` with the exports (+ ``extra`` arrays as NAME.npy); keeps its ckpt.npz;
    updates ``runs/latest``."""
    runs = run_dir.parent
    runs.mkdir(parents=True, exist_ok=True)
    tmp = runs / f"{run_dir.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with open(tmp / "params.npz", "wb") as fh:
        np.savez(fh, **flat_params(params))
    np.save(tmp / "user_emb.npy", np.ascontiguousarray(user_emb, np.float32))
    np.save(tmp / "item_emb.npy", np.ascontiguousarray(item_emb, np.float32))
    for name, arr in (extra or {}).items():
        np.save(tmp / f"{name}.npy", arr)
    (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (tmp / "train_log.jsonl").write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in log))
    ckpt = run_dir / "ckpt.npz"
    if ckpt.is_file():  # a hard link (or copy): the checkpoint stays in run_dir until the swap
        try:
            os.link(ckpt, tmp / "ckpt.npz")
        except OSError:
            shutil.copy2(ckpt, tmp / "ckpt.npz")
    old = runs / f"{run_dir.name}.old-{os.getpid()}"
    if run_dir.exists():
        os.rename(run_dir, old)
    os.rename(tmp, run_dir)
    if old.exists():
        shutil.rmtree(old)
    write_text_atomic(runs / "latest", run_dir.name + "\n")
    return run_dir
