"""Bounded top-K selection: a size-K min-heap over (score, item) pairs, shared by the top-K kernels.

Order used everywhere: a higher score ranks first; equal scores rank by ascending item index (item_idx
order is ascending video_id order). The heap root is the *worst* kept pair, so a new pair enters only if it
beats the root. NaN and -inf scores never enter, so they are never returned.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _worse(s1, i1, s2, i2):
    """True if (s1, i1) ranks after (s2, i2)."""
    return s1 < s2 or (s1 == s2 and i1 > i2)


@njit(cache=True)
def _sift_up(hs, hi, pos):
    while pos > 0:
        parent = (pos - 1) >> 1
        if _worse(hs[pos], hi[pos], hs[parent], hi[parent]):
            hs[pos], hs[parent] = hs[parent], hs[pos]
            hi[pos], hi[parent] = hi[parent], hi[pos]
            pos = parent
        else:
            break


@njit(cache=True)
def _sift_down(hs, hi, size, pos):
    while True:
        left = 2 * pos + 1
        if left >= size:
            break
        child = left
        right = left + 1
        if right < size and _worse(hs[right], hi[right], hs[left], hi[left]):
            child = right
        if _worse(hs[child], hi[child], hs[pos], hi[pos]):
            hs[pos], hs[child] = hs[child], hs[pos]
            hi[pos], hi[child] = hi[child], hi[pos]
            pos = child
        else:
            break


@njit(cache=True)
def heap_offer(hs, hi, size, k, score, item):
    """Offer (score, item) to a heap holding ``size`` of at most ``k`` pairs; returns the new size."""
    if not score > -np.inf:  # NaN or -inf: never selected
        return size
    if size < k:
        hs[size] = score
        hi[size] = item
        _sift_up(hs, hi, size)
        return size + 1
    if _worse(hs[0], hi[0], score, item):
        hs[0] = score
        hi[0] = item
        _sift_down(hs, hi, size, 0)
    return size


@njit(cache=True)
def heap_drain(hs, hi, size, out_items, out_scores):
    """Write the heap's pairs best-first into ``out_*`` (length k), padding the tail with -1 / -inf."""
    for pos in range(size, out_items.shape[0]):
        out_items[pos] = -1
        out_scores[pos] = -np.inf
    while size > 0:
        size -= 1
        out_items[size] = hi[0]
        out_scores[size] = hs[0]
        hs[0] = hs[size]
        hi[0] = hi[size]
        _sift_down(hs, hi, size, 0)


# --- buffered selection: append candidates, compact to the best k when the buffer fills ---
#
# Offering to a heap costs a sift of log2(k) levels of unpredictable branches per accepted pair; appending
# to a buffer costs a store. ``buffer_compact`` keeps the k best pairs of a full buffer (quickselect,
# O(capacity)) and returns the k-th best score as the new entry threshold: every later item has a higher
# index, so one that only ties the threshold ranks after all k kept pairs and may be skipped (``score >
# threshold`` is exact).


@njit(cache=True, inline="always")
def _swap(bs, bi, a, b):
    bs[a], bs[b] = bs[b], bs[a]
    bi[a], bi[b] = bi[b], bi[a]


@njit(cache=True)
def buffer_compact(bs, bi, size, k):
    """Move the ``k`` best of ``size`` (> k) pairs into ``[0, k)``, the k-th best at ``k - 1``; return
    its score."""
    lo, hi = 0, size - 1
    target = k - 1
    while lo < hi:
        mid = (lo + hi) >> 1  # median of three as pivot, moved to hi
        if _worse(bs[lo], bi[lo], bs[mid], bi[mid]):
            _swap(bs, bi, lo, mid)
        if _worse(bs[lo], bi[lo], bs[hi], bi[hi]):
            _swap(bs, bi, lo, hi)
        if _worse(bs[hi], bi[hi], bs[mid], bi[mid]):
            _swap(bs, bi, mid, hi)
        ps, pi = bs[hi], bi[hi]
        store = lo
        for j in range(lo, hi):
            if _worse(ps, pi, bs[j], bi[j]):  # pair j ranks before the pivot
                _swap(bs, bi, j, store)
                store += 1
        _swap(bs, bi, store, hi)
        if store == target:
            break
        if store < target:
            lo = store + 1
        else:
            hi = store - 1
    return bs[target]


@njit(cache=True)
def buffer_drain(bs, bi, size, k, hs, hi, out_items, out_scores):
    """Write the best ``k`` of the buffer's ``size`` pairs best-first into ``out_*`` (heap sort through
    ``hs``/``hi``, length k: the same order as :func:`heap_drain`), padding with -1 / -inf."""
    if size > k:
        buffer_compact(bs, bi, size, k)
        size = k
    n = 0
    for p in range(size):
        n = heap_offer(hs, hi, n, k, bs[p], bi[p])
    heap_drain(hs, hi, n, out_items, out_scores)
