"""Atomic checkpoints (``runs/NAME/ckpt.npz``): parameters, optimiser state, best parameters, data position.

The file is a plain ``.npz`` (no pickle): pytree leaves under ``params/i``, ``opt/i``, ``best/i`` in
``jax.tree`` flattening order, and the loop's state (epoch, batch within the epoch, global step, RNG key data,
best epoch, log, the config that matters for exact resume) as a JSON string under ``state``. Loading needs
the trees' structure, which comes from a fresh ``init`` of the same config. Writes go to a temporary file in
the same folder and ``os.replace`` it, so a kill never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from kuaicore.atomic import atomic_file
from kuaicore.errors import ArtifactError


def _leaves(prefix: str, tree: Any) -> dict[str, np.ndarray]:
    return {f"{prefix}/{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(tree))}


def save_checkpoint(path: Path, params: Any, opt_state: Any, best: Any | None, state: dict[str, Any]) -> None:
    """Write the checkpoint atomically (temporary file + os.replace)."""
    arrays = {**_leaves("params", params), **_leaves("opt", opt_state), "state": np.array(json.dumps(state))}
    if best is not None:
        arrays.update(_leaves("best", best))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:  # removed again if the disk is full
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())


def _restore(path: Path, npz: Any, prefix: str, like: Any) -> Any:
    leaves, treedef = jax.tree.flatten(like)
    out = []
    for i, ref in enumerate(leaves):
        key = f"{prefix}/{i}"
        if key not in npz.files:
            raise ArtifactError(f"{path}: missing {key}; the checkpoint was written by a different model")
        arr = npz[key]
        if arr.shape != np.shape(ref) or arr.dtype != np.asarray(ref).dtype:
            want = f"{np.shape(ref)} {np.asarray(ref).dtype}"
            raise ArtifactError(
                f"{path}: {key} has shape {arr.shape} {arr.dtype}, expected {want}; "
                "was it written with other options?"
            )
        out.append(arr)
    return jax.tree.unflatten(treedef, out)


def load_checkpoint(
    path: Path, params_like: Any, opt_like: Any
) -> tuple[Any, Any, Any | None, dict[str, Any]]:
    """(params, opt_state, best params or None, state) as host arrays shaped like the given trees."""
    if not path.is_file():
        raise ArtifactError(f"{path}: no checkpoint to resume from")
    try:
        with np.load(path, allow_pickle=False) as npz:
            state = json.loads(str(npz["state"]))
            params = _restore(path, npz, "params", params_like)
            opt_state = _restore(path, npz, "opt", opt_like)
            best = _restore(path, npz, "best", params_like) if "best/0" in npz.files else None
    except (OSError, ValueError, KeyError) as err:
        raise ArtifactError(f"{path}: unreadable checkpoint ({err})") from err
    return params, opt_state, best, state
