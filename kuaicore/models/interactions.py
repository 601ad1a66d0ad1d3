"""Load the baselines' training data from ART: the interactions as a scipy CSR user x item matrix.

The only module of the classic baselines that touches files; the models themselves take arrays.
``train.parquet`` is read one row group (or batch) at a time through pyarrow, so the working set beyond
the final CSR arrays is one batch; only ``user_idx``, ``item_idx`` and ``target`` (the capped watch ratio)
are read. Re-watches (several rows for one user-video pair) are aggregated: the matrix holds the *sum* of
their targets and ``counts`` the number of rows, so ``matrix.data / counts`` is the mean and ``counts``
alone is the view count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kuaicore.art import check_finite, layout, read_manifest
from kuaicore.art.scaling import raw_columns
from kuaicore.errors import ArtifactError

TRAIN_COLUMNS = layout.PAIR_TARGET


@dataclass(frozen=True)
class Interactions:
    """Training interactions as CSR: ``matrix[u, i]`` = sum of capped watch ratio over that pair's rows.

    ``counts`` (int32, aligned with ``matrix.data``) is how many training rows each stored pair had;
    ``n_rows`` is the number of training rows read. Column indices are sorted within each row and there are no
    duplicates.
    """

    matrix: sp.csr_matrix
    counts: np.ndarray
    n_rows: int
    target_sq_sum: float = float("nan")  # sum of target^2 over the rows read (for a training RMSE)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def mean_target(self) -> np.ndarray:
        """Mean capped watch ratio of each stored pair (aligned with ``matrix.data``)."""
        return (self.matrix.data / self.counts).astype(np.float32)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(user_idx, item_idx) of every stored pair, in CSR order."""
        users = np.repeat(np.arange(self.shape[0], dtype=np.int32), np.diff(self.matrix.indptr))
        return users, self.matrix.indices.astype(np.int32, copy=False)


def load_matrix(art: Path, name: str) -> np.ndarray:
    """``ART/NAME.npy`` (e.g. ``item_features``) loaded without pickle; ArtifactError when absent."""
    path = Path(art) / f"{name}.npy"
    if not path.is_file():
        raise ArtifactError(f"{path}: not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"{path}: not a plain .npy array ({err})") from None
    return check_finite(path, array)


def columns_with_prefix(names: list[str], prefixes: tuple[str, ...]) -> np.ndarray:
    """Indices (int64, ascending) of the feature ``names`` starting with any of ``prefixes``."""
    return np.array([j for j, n in enumerate(names) if n.startswith(prefixes)], dtype=np.int64)


@dataclass(frozen=True)
class FeatureSet:
    """The feature arrays the content and linear baselines use, read from ART.

    ``user_features``/``item_features``: the (z-scored, float32) matrices as stored; ``item_tags``: the tag
    multi-hot (0/1, float64 [n_items, T], columns named ``tag_*``, unscaled); ``user_taste``: the users'
    per-tag taste columns (``taste_tag_*``, unscaled, float64 [n_users, T], same tag order) or ``None`` when
    the ART has none (then :func:`kuaicore.models.linear.user_tag_taste` computes them from training rows).
    """

    user_features: np.ndarray
    item_features: np.ndarray
    user_feature_names: list[str]
    item_feature_names: list[str]
    item_feature_stats: list[dict] | None
    item_tags: np.ndarray
    user_taste: np.ndarray | None


def load_features(art: Path, tag_prefix: str = "tag_", taste_prefix: str = "taste_tag_") -> FeatureSet:
    """Read ``user_features.npy``, ``item_features.npy`` and the manifest's names and scaling statistics."""
    art = Path(art)
    manifest = read_manifest(art)
    users, items = load_matrix(art, "user_features"), load_matrix(art, "item_features")
    unames = list(manifest.get("user_feature_names", []))
    inames = list(manifest.get("item_feature_names", []))
    for what, mat, names in (("user", users, unames), ("item", items, inames)):
        if mat.ndim != 2 or mat.shape[1] != len(names) or mat.shape[0] != manifest.get(f"n_{what}s"):
            raise ArtifactError(
                f"{art / f'{what}_features.npy'}: shape {mat.shape} disagrees with manifest.json "
                f"(n_{what}s={manifest.get(f'n_{what}s')}, {len(names)} {what}_feature_names)"
            )
    istats, ustats = manifest.get("item_feature_stats"), manifest.get("user_feature_stats")
    tag_cols = columns_with_prefix(inames, (tag_prefix,))
    if tag_cols.size == 0:
        raise ArtifactError(
            f"{art / layout.MANIFEST}: no item feature named {tag_prefix}* (the tag multi-hot)"
        )
    taste_by_suffix = {n[len(taste_prefix) :]: j for j, n in enumerate(unames) if n.startswith(taste_prefix)}
    suffixes = [inames[j][len(tag_prefix) :] for j in tag_cols]
    taste = None
    if taste_by_suffix and all(s in taste_by_suffix for s in suffixes):
        taste = raw_columns(users, np.array([taste_by_suffix[s] for s in suffixes]), ustats)
    return FeatureSet(users, items, unames, inames, istats, raw_columns(items, tag_cols, istats), taste)


def iter_pair_batches(
    path: Path, batch_rows: int = 1_000_000, columns: tuple[str, ...] = TRAIN_COLUMNS
) -> Iterator[tuple[np.ndarray, ...]]:
    """Stream ``columns`` of an interaction Parquet file as NumPy arrays, ``batch_rows`` rows at a time."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: not found (run `kuaicore build-features` first)")
    pf = pq.ParquetFile(path)
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise ArtifactError(f"{path}: missing column(s) {', '.join(missing)}")
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(columns)):
        yield tuple(batch.column(c).to_numpy(zero_copy_only=False) for c in columns)


def build_csr(
    users: np.ndarray, items: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> tuple[sp.csr_matrix, np.ndarray]:
    """CSR of ``values`` summed per (user, item) pair, plus the per-pair row counts (pure, deterministic).

    scipy's COO -> CSR conversion and in-place duplicate summing (C++) keep the extra memory to the CSR arrays
    themselves; the count matrix is built only when some pair repeats (``train.parquet`` is deduplicated, so
    usually it is all ones). Explicit zeros (a watch ratio of 0) stay stored.
    """
    users = np.asarray(users, dtype=np.int32)
    items = np.asarray(items, dtype=np.int32)
    matrix = sp.csr_matrix((np.asarray(values, dtype=np.float32), (users, items)), shape=shape)
    matrix.sum_duplicates()
    if matrix.nnz == len(users):
        return matrix, np.ones(matrix.nnz, dtype=np.int32)
    counts = sp.csr_matrix((np.ones(len(users), dtype=np.int32), (users, items)), shape=shape)
    counts.sum_duplicates()
    return matrix, counts.data.astype(np.int32, copy=False)


def load_interactions(
    art: Path, split: str | tuple[str, ...] = "train", batch_rows: int = 1_000_000
) -> Interactions:
    """Read ``ART/{split}.parquet`` into :class:`Interactions` (shape ``n_users x n_items`` of the manifest);
    ``split`` may name several splits, read as one set of rows (``("train", "valid")``: what a model refitted
    after validation trains on).

    Memory: 12 bytes per row for the three columns plus one Parquet batch; indices are checked against the
    manifest's ``n_users``/``n_items`` and a bad row is reported with its position in the file.
    """
    import pyarrow.parquet as pq

    art = Path(art)
    manifest = read_manifest(art)
    try:
        shape = (int(manifest["n_users"]), int(manifest["n_items"]))
    except KeyError as err:
        raise ArtifactError(f"{art / layout.MANIFEST}: missing key {err}") from None
    paths = [layout.split_path(art, name) for name in ((split,) if isinstance(split, str) else split)]
    for path in paths:
        if not path.is_file():
            raise ArtifactError(f"{path}: not found (run `kuaicore build-features` first)")
    n = sum(pq.ParquetFile(path).metadata.num_rows for path in paths)
    users = np.empty(n, dtype=np.int32)
    items = np.empty(n, dtype=np.int32)
    values = np.empty(n, dtype=np.float32)
    pos = 0
    sq_sum = 0.0
    for path in paths:
        first = pos  # where this file's rows start
        for u, i, y in iter_pair_batches(path, batch_rows):
            m = len(u)
            for arr, lim, col in ((u, shape[0], "user_idx"), (i, shape[1], "item_idx")):
                bad = np.flatnonzero((arr < 0) | (arr >= lim))
                if bad.size:
                    row = pos - first + int(bad[0])
                    raise ArtifactError(f"{path}: row {row}: {col}={int(arr[bad[0]])} outside [0, {lim})")
            bad = np.flatnonzero(~np.isfinite(y))
            if bad.size:
                raise ArtifactError(f"{path}: row {pos - first + int(bad[0])}: target is not a finite number")
            users[pos : pos + m], items[pos : pos + m], values[pos : pos + m] = u, i, y
            sq_sum += float(np.dot(y.astype(np.float64), y.astype(np.float64)))
            pos += m
    matrix, counts = build_csr(users, items, values, shape)
    return Interactions(matrix=matrix, counts=counts, n_rows=n, target_sq_sum=sq_sum)
