"""The ART folder written by `kuaicore build-features` (docs/ARTIFACTS.md), known in one package.

``layout`` names its files; :func:`open_art` (``open``) gives a typed object with a loader per part;
``scaling`` undoes the standardisation of the features; ``stream`` reads its Parquet tables in shuffled
minibatches. Every stage after build-features (training, baselines, evaluation, report) opens ART through
:func:`read_manifest`, so a folder that is not an ART gets the same clear message everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import layout
from kuaicore.art.open import Art, open_art
from kuaicore.errors import ArtifactError

__all__ = [
    "Art",
    "check_finite",
    "eval_pairs",
    "open_art",
    "read_manifest",
    "valid_candidates",
    "verify_checksums",
]


def read_manifest(art: Path, required: tuple[str, ...] = ("n_users", "n_items")) -> dict[str, Any]:
    """``ART/manifest.json`` as a dict; ArtifactError naming the folder or file when ART is missing, the
    manifest is absent or not a JSON object, or it lacks one of the ``required`` keys."""
    art = Path(art)
    if not art.is_dir():
        raise ArtifactError(f"{art}: no such artifact folder (make one with `kuaicore build-features DATA"
                            f" --out {art}`)")  # fmt: skip
    path = art / layout.MANIFEST
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
    check_file_sizes(art, manifest)
    return manifest


def check_file_sizes(art: Path, manifest: dict[str, Any]) -> None:
    """ArtifactError naming the file if one the manifest lists is missing or has another size than it
    recorded (a truncated copy, a file changed by hand): a cheap check (one ``stat`` per file) made on every
    load. ``kuaicore validate ART`` also compares the checksums (:func:`verify_checksums`)."""
    for name, entry in _listed_files(art, manifest).items():
        path = Path(art) / name
        if not path.is_file():
            raise ArtifactError(f"{path}: missing, but manifest.json lists it (rebuild with build-features)")
        size = path.stat().st_size
        if isinstance(entry, dict) and "bytes" in entry and size != entry["bytes"]:
            raise ArtifactError(
                f"{path}: {size:,} bytes, but manifest.json recorded {entry['bytes']:,} (truncated or changed"
                " since build-features; rebuild ART)"
            )


def _listed_files(art: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    files = manifest.get("files", {})
    if not isinstance(files, dict) or any("/" in n or n.startswith(".") for n in files):
        raise ArtifactError(f"{Path(art) / layout.MANIFEST}: 'files' is not a list of ART's own files")
    return files


def verify_checksums(art: Path) -> dict[str, str]:
    """Compare every file the manifest lists with its recorded SHA-256: {file: 'ok'}; ArtifactError naming
    the first file that differs or is missing."""
    from kuaicore.features.artifacts import sha256

    manifest = read_manifest(art)
    result = {}
    for name, entry in _listed_files(art, manifest).items():
        want = entry.get("sha256") if isinstance(entry, dict) else None
        if want is not None and sha256(Path(art) / name) != want:
            raise ArtifactError(
                f"{Path(art) / name}: checksum differs from manifest.json's (the file changed since"
                " build-features; rebuild ART)"
            )
        result[name] = "ok" if want is not None else "no checksum recorded"
    return result


def check_finite(path: Path, array: np.ndarray) -> np.ndarray:
    """``array`` if it holds no NaN/inf (any non-float array passes); ArtifactError naming ``path`` else."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ArtifactError(f"{path}: {bad:,} NaN or inf value(s); refusing to use it (rebuild or retrain)")
    return array


def eval_pairs(art: Path) -> tuple[np.ndarray, np.ndarray]:
    """(user_idx, item_idx) int32 of every row of ``ART/eval.parquet``, in file order: the rows a run's
    ``eval_pred.npy`` / ``eval_scores.npy`` are aligned with."""
    import pyarrow.parquet as pq

    path = Path(art) / layout.EVAL
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (run `kuaicore build-features` again)")
    table = pq.read_table(path, columns=["user_idx", "item_idx"])
    return tuple(table.column(c).to_numpy().astype(np.int32) for c in ("user_idx", "item_idx"))


def valid_candidates(art: Path) -> Any:
    """valid.parquet as the candidates of the evaluation protocol (kuaicore.protocol.Candidates): each
    user's held-out pairs, re-watches merged by their mean watch ratio."""
    import pyarrow.parquet as pq

    from kuaicore.protocol import candidates_from_rows

    path = Path(art) / layout.VALID
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (run `kuaicore build-features` again)")
    table = pq.read_table(path, columns=["user_idx", "item_idx", "watch_ratio"])
    return candidates_from_rows(
        *(table.column(c).to_numpy() for c in ("user_idx", "item_idx", "watch_ratio"))
    )
