"""Input checks and dtype normalisation shared by the kernels' public wrappers (NumPy only, no Numba).

Kernels trust their inputs; the wrappers call these first so that a wrong shape, an out-of-range index or a
bad k is a clear :class:`KernelInputError` instead of a segfault or a silent wrong answer. It is a plain
``ValueError``: the kernels know nothing of the CLI. Checking what a user typed (``--k``, ``--bootstrap``) is
the caller's job, done before a kernel runs; a KernelInputError reaching the CLI is a bug of ours (exit 1).
"""

from __future__ import annotations

import numpy as np


class KernelInputError(ValueError):
    """A kernel was handed arguments it cannot use (shapes, index ranges, k): a caller's bug."""


def check_k(k: int, name: str = "k") -> int:
    """A list length given by the user: a positive integer."""
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise KernelInputError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


def as_matrix(a: np.ndarray, name: str, dtype=np.float32) -> np.ndarray:
    """A C-contiguous 2-D array of ``dtype``."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != 2:
        raise KernelInputError(f"{name} must be 2-D, got shape {a.shape}")
    return a


def as_index(a: np.ndarray, name: str, upper: int, dtype=np.int32) -> np.ndarray:
    """A 1-D array of indices in ``[0, upper)``."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != 1:
        raise KernelInputError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= upper):
        raise KernelInputError(f"{name} holds indices outside [0, {upper})")
    return a


def as_csr(
    indptr: np.ndarray, items: np.ndarray, n_rows: int, n_items: int | None, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """A CSR pair (indptr int64[n_rows+1], items int32[nnz]); ``n_items=None`` skips the item range check."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    if indptr.ndim != 1 or indptr.shape[0] != n_rows + 1:
        raise KernelInputError(f"{name}_indptr must have {n_rows + 1} entries, got shape {indptr.shape}")
    items_arr = np.asarray(items)
    if (
        items_arr.ndim != 1
        or indptr[0] != 0
        or indptr[-1] != items_arr.shape[0]
        or np.any(np.diff(indptr) < 0)
    ):
        raise KernelInputError(f"{name}_indptr is not a valid CSR index for {items_arr.shape[0]} entries")
    if n_items is None:
        items_arr = np.ascontiguousarray(items_arr, dtype=np.int32)
    else:
        items_arr = as_index(items_arr, f"{name}_items", n_items)
    return indptr, items_arr


def empty_csr(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A CSR with ``n_rows`` empty rows."""
    return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
