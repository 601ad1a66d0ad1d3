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
