"""Pointwise metrics of predicted vs observed watch ratio: MAE/RMSE and thresholded accuracy/precision/recall.

Serial Numba loops (a few million pairs take milliseconds) so that sums are in a fixed order: the same inputs
give the same bytes on any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuaicore.kernels._arrays import KernelInputError


def _pair(pred: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.ascontiguousarray(pred, dtype=np.float64).reshape(-1)
    obs = np.ascontiguousarray(obs, dtype=np.float64).reshape(-1)
    if pred.shape != obs.shape:
        raise KernelInputError(f"pred has {pred.shape[0]} values, obs {obs.shape[0]}")
    return pred, obs


@njit(cache=True)
def _abs_sq_sums(pred, obs):
    abs_sum = 0.0
    sq_sum = 0.0
    for i in range(pred.shape[0]):
        e = pred[i] - obs[i]
        abs_sum += abs(e)
        sq_sum += e * e
    return abs_sum, sq_sum


def regression_metrics(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """``{"mae": mean |pred - obs|, "rmse": sqrt(mean (pred - obs)^2)}``; NaN for empty input."""
    pred, obs = _pair(pred, obs)
    n = pred.shape[0]
    if n == 0:
        return {"mae": float("nan"), "rmse": float("nan")}
    abs_sum, sq_sum = _abs_sq_sums(pred, obs)
    return {"mae": abs_sum / n, "rmse": float(np.sqrt(sq_sum / n))}


@njit(cache=True)
def _confusion(pred, obs, threshold):
    tp = fp = fn = tn = 0
    for i in range(pred.shape[0]):
        p = pred[i] > threshold
        o = obs[i] > threshold
        if p and o:
            tp += 1
        elif p:
            fp += 1
        elif o:
            fn += 1
        else:
            tn += 1
    return tp, fp, fn, tn


def threshold_metrics(pred: np.ndarray, obs: np.ndarray, threshold: float) -> dict[str, float]:
    """Classify both sides by ``> threshold`` (e.g. watch_ratio > 2.0, the "like" rule) and score it.

    Returns ``{"accuracy": (tp+tn)/n, "precision": tp/(tp+fp), "recall": tp/(tp+fn)}``; a ratio whose
    denominator is 0 is 0.0 (no predicted / no actual positives); all NaN for empty input.
    """
    pred, obs = _pair(pred, obs)
    n = pred.shape[0]
    if n == 0:
        return {"accuracy": float("nan"), "precision": float("nan"), "recall": float("nan")}
    tp, fp, fn, tn = _confusion(pred, obs, float(threshold))
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }
