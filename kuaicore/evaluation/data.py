"""What evaluation reads from ART, as CSR arrays: each small-matrix user's candidates, relevance and gains.

Rows of ``eval.parquet`` are sorted by (user_idx, item_idx), so one user's candidates are a contiguous slice
and the CSR is the file itself. The full-catalog protocol also needs each user's seen items (train +
valid), read row group by row group and kept only for the evaluated users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from kuaicore.art import layout, read_manifest
from kuaicore.errors import ArtifactError, UsageError
from kuaicore.protocol import liked, pair_means

LABEL_RULES = ("wr", "debiased", "graded")


@dataclass(frozen=True)
class EvalData:
    """The small matrix as CSR over its users (row r = user ``users[r]``), in eval.parquet row order."""

    manifest: dict[str, Any]
    users: np.ndarray  # int32 [n] user_idx of each row
    indptr: np.ndarray  # int64 [n+1]
    items: np.ndarray  # int32 [nnz] candidate item_idx, ascending within a row
    watch_ratio: np.ndarray  # float32 [nnz]
    label_debiased: np.ndarray  # float32 [nnz]
    n_users_total: int
    n_items_total: int

    @property
    def n_rows(self) -> int:
        return int(self.users.shape[0])


def _columns(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (run `kuaicore build-features` again)")
    table = pq.read_table(path, columns=names)
    return {n: table.column(n).to_numpy() for n in names}


def load_eval_data(art: Path) -> EvalData:
    """Read eval.parquet into CSR form; ArtifactError if it is not sorted as build-features writes it."""
    manifest = read_manifest(art)
    cols = _columns(Path(art) / layout.EVAL, ["user_idx", "item_idx", "watch_ratio", "label_debiased"])
    user_idx = cols["user_idx"].astype(np.int32)
    if user_idx.size and np.any(np.diff(user_idx) < 0):
        raise ArtifactError(f"{Path(art) / layout.EVAL}: rows are not sorted by user_idx")
    users, starts = np.unique(user_idx, return_index=True)
    indptr = np.append(starts, user_idx.size).astype(np.int64)
    return EvalData(
        manifest=manifest,
        users=users.astype(np.int32),
        indptr=indptr,
        items=cols["item_idx"].astype(np.int32),
        watch_ratio=cols["watch_ratio"].astype(np.float32),
        label_debiased=cols["label_debiased"].astype(np.float32),
        n_users_total=int(manifest["n_users"]),
        n_items_total=int(manifest["n_items"]),
    )


def load_valid_data(art: Path) -> EvalData:
    """valid.parquet as the candidates of the ``valid`` protocol: each user's held-out big_matrix pairs
    (re-watches of a pair merged: mean watch ratio, debiased label if any row has it), sorted by user then
    item, in the same CSR form as :func:`load_eval_data`."""
    manifest = read_manifest(art)
    cols = _columns(Path(art) / layout.VALID, ["user_idx", "item_idx", "watch_ratio", "label_debiased"])
    users, indptr, items, (wr, debiased) = pair_means(
        cols["user_idx"], cols["item_idx"], cols["watch_ratio"], cols["label_debiased"] > 0.5
    )
    return EvalData(
        manifest=manifest,
        users=users,
        indptr=indptr,
        items=items,
        watch_ratio=wr.astype(np.float32),
        label_debiased=(debiased > 0).astype(np.float32),  # any of the pair's rows
        n_users_total=int(manifest["n_users"]),
        n_items_total=int(manifest["n_items"]),
    )


def relevance(data: EvalData, label: str, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, items) of each row's relevant candidates under the label rule.

    ``wr`` and ``graded``: watch_ratio > threshold (graded differs only in the headline ndcg, which uses
    gains);
    ``debiased``: the duration-debiased label of build-features.
    """
    if label not in LABEL_RULES:
        raise UsageError(f"--label: expected one of {', '.join(LABEL_RULES)}, got {label!r}")
    mask = data.label_debiased > 0.5 if label == "debiased" else liked(data.watch_ratio, threshold)
    return _subset(data.indptr, data.items, mask)


def gains(data: EvalData, cap: float) -> np.ndarray:
    """Graded gain of every candidate: min(watch_ratio, cap), float64, aligned with ``data.items``."""
    return np.minimum(data.watch_ratio.astype(np.float64), cap)


def indptr_from_counts(counts: np.ndarray) -> np.ndarray:
    """CSR row pointers (int64 [n+1]) from the number of entries of each of n rows."""
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _subset(indptr: np.ndarray, items: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    row_of = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    counts = np.bincount(row_of[mask], minlength=indptr.size - 1)
    return indptr_from_counts(counts), items[mask].astype(np.int32)


def seen_items(art: Path, n_users: int, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR over all ``n_users`` of the items each of ``users`` has in train or valid (others get none)."""
    wanted = np.zeros(n_users, dtype=bool)
    wanted[users] = True
    keys = []
    for name in (layout.TRAIN, layout.VALID):
        path = Path(art) / name
        if not path.is_file():
            raise ArtifactError(f"{path}: missing (run `kuaicore build-features` again)")
        pf = pq.ParquetFile(path)
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g, columns=["user_idx", "item_idx"])
            u = t.column("user_idx").to_numpy().astype(np.int64)
            i = t.column("item_idx").to_numpy().astype(np.int64)
            keep = wanted[u]
            keys.append(u[keep] << 32 | i[keep])
    key = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
    # the distinct pairs by a sort, not np.unique: NumPy >= 2.3 finds them with a hash table, 18 s for the
    # 12M pairs of the real files' size against 0.35 s for this (BENCHMARKS.md "recommend --all")
    key = key[np.concatenate(([True], key[1:] != key[:-1]))] if key.size else key
    u = (key >> 32).astype(np.int64)
    return indptr_from_counts(np.bincount(u, minlength=n_users)), (key & 0xFFFFFFFF).astype(np.int32)


def load_truth(art: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """The planted truth of synthetic data (ART/truth.npz, or beside the source CSVs); None for real data."""
    candidates = [Path(art) / "truth.npz"]
    for src in manifest.get("sources", {}).values() if isinstance(manifest.get("sources"), dict) else []:
        if isinstance(src, dict) and "path" in src:
            candidates.append(Path(src["path"]).parent / "truth.npz")
    for path in candidates:
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    return None
