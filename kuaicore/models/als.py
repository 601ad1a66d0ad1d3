"""ALS baseline: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) over a scipy CSR matrix.

Every observed (user, video) pair has preference p = 1 and confidence ``c = 1 + alpha * r``
(``confidence="linear"``) or ``c = 1 + alpha * log(1 + r / eps)`` (``"log"``), where ``r`` is the pair's
capped watch ratio *summed* over re-watches (watching again is more evidence, not less); unobserved pairs
have p = 0 and c = 1. The loss

    L = sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (sum_u |x_u|^2 + sum_i |y_i|^2)

is minimised by alternating exact row solves (``solver="cholesky"``) or warm-started conjugate-gradient
steps (``solver="cg"``, the default, as in `implicit`), both in the Numba kernels of
:mod:`kuaicore.kernels.als`; each half-step lowers L, which ``info["objective"]`` records per iteration.
``user_emb = X``, ``item_emb = Y``. :func:`half_step_numpy` is the plain NumPy solver of the same
equations (loop over rows, ``np.linalg.solve``): the benchmark's baseline and the tests' reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kuaicore.errors import InternalError, UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.interactions import Interactions

SOLVERS = ("cg", "cholesky")
CONFIDENCES = ("linear", "log")
DTYPES = ("float32", "float64")
ROWS_PER_UNIT = 16  # rows per work unit of a half-step: small enough to balance, large to amortise


@dataclass(frozen=True)
class ALSOptions:
    """Factors, iterations, regularisation, confidence mapping, solver and seed of implicit ALS."""

    factors: int = 64
    iterations: int = 15
    reg: float = 0.1
    alpha: float = 2.0
    confidence: str = "linear"
    eps: float = 1.0
    solver: str = "cg"
    cg_steps: int = 3
    init_scale: float = 0.01
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise UsageError(f"--solver: {self.solver!r} is not one of {', '.join(SOLVERS)}")
        if self.dtype not in DTYPES:
            raise UsageError(f"--dtype: {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.confidence not in CONFIDENCES:
            raise UsageError(f"--confidence: {self.confidence!r} is not one of {', '.join(CONFIDENCES)}")
        for name in ("factors", "iterations", "cg_steps"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(self, name)}")
        for name in ("reg", "alpha"):
            if not getattr(self, name) >= 0:
                raise UsageError(f"--{name}: must be >= 0, got {getattr(self, name)}")
        if not self.eps > 0:
            raise UsageError(f"--eps: must be > 0, got {self.eps}")


def confidence(values: np.ndarray, options: ALSOptions) -> np.ndarray:
    """Confidence (float64) of observed pairs from their summed capped watch ratio."""
    r = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
    if options.confidence == "log":
        return 1.0 + options.alpha * np.log1p(r / options.eps)
    return 1.0 + options.alpha * r


def confidence_matrices(data: Interactions, options: ALSOptions) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(user x item, item x user) CSR matrices of confidences: sorted indices, data in ``options.dtype``
    (computed in float64, then rounded)."""
    conf = confidence(data.matrix.data, options).astype(options.dtype)
    cu = sp.csr_matrix((conf, data.matrix.indices, data.matrix.indptr), data.shape)
    ci = cu.T.tocsr()
    ci.sort_indices()
    return cu, ci


def init_factors(n_users: int, n_items: int, options: ALSOptions) -> tuple[np.ndarray, np.ndarray]:
    """Seeded small Gaussian factors (``options.dtype``, C order): the same seed gives the same bytes, and
    float32 starts are float64's rounded."""
    rng = np.random.default_rng(options.seed)
    x = rng.standard_normal((n_users, options.factors)) * options.init_scale
    y = rng.standard_normal((n_items, options.factors)) * options.init_scale
    return x.astype(options.dtype), y.astype(options.dtype)


def half_step(
    m: sp.csr_matrix, y: np.ndarray, x: np.ndarray, options: ALSOptions, exact: bool | None = None
) -> None:
    """Update ``x`` in place (Numba kernel): rows of ``m`` against fixed ``y``.

    ``exact`` overrides ``options.solver`` (True: Cholesky, False: ``options.cg_steps`` CG steps). ``x``,
    ``y`` and ``m.data`` share one dtype (float32 or float64), which CG runs in.
    """
    from numba import get_num_threads

    from kuaicore.kernels.als import als_half_step

    exact = options.solver == "cholesky" if exact is None else exact
    if not x.dtype == y.dtype == m.data.dtype:
        raise InternalError(f"ALS dtypes differ: x {x.dtype}, y {y.dtype}, confidences {m.data.dtype}")
    gram = y.T @ y
    gram[np.diag_indices_from(gram)] += options.reg
    steps = 0 if exact else options.cg_steps
    args = (m.indptr, m.indices, m.data, y, np.ascontiguousarray(gram), x, steps)
    als_half_step(*args, ROWS_PER_UNIT, get_num_threads())


def half_step_numpy(
    m: sp.csr_matrix, y: np.ndarray, x: np.ndarray, reg: float, rows: np.ndarray | None = None
) -> None:
    """The same exact row solve in plain NumPy (loop over rows, ``np.linalg.solve``): the benchmark baseline.

    ``rows`` restricts the update to those rows (to time a subset at full scale).
    """
    d = y.shape[1]
    base = y.T @ y + reg * np.eye(d)
    for u in range(m.shape[0]) if rows is None else rows:
        lo, hi = m.indptr[u], m.indptr[u + 1]
        yu = y[m.indices[lo:hi]]
        c = m.data[lo:hi]
        a = base + (yu.T * (c - 1.0)) @ yu
        x[u] = np.linalg.solve(a, yu.T @ c)


def objective(cu: sp.csr_matrix, x: np.ndarray, y: np.ndarray, reg: float) -> float:
    """The loss L above (all pairs, deterministic)."""
    from kuaicore.kernels.als import als_objective

    return als_objective(cu.indptr, cu.indices, cu.data, x, y, float(reg))


def fit(
    data: Interactions,
    options: ALSOptions = ALSOptions(),
    on_iteration: Callable[[int, float, float], None] | None = None,
    track_objective: bool = True,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train implicit ALS; returns ``(user_emb f32[n_users,f], item_emb f32[n_items,f], info)``.

    ``info["objective"]``: the loss after each iteration (when ``track_objective``); ``info["seconds"]``: wall
    seconds of each iteration (both half-steps, objective excluded). ``on_iteration(it, loss, seconds)`` is
    called after each iteration (loss is NaN when not tracked), e.g. to log progress. ``start``: the
    starting (user, item) factors instead of :func:`init_factors` (copied; e.g. to compare with another
    library from the same start).
    """
    n_users, n_items = data.shape
    cu, ci = confidence_matrices(data, options)
    if start is None:
        x, y = init_factors(n_users, n_items, options)
    else:
        x, y = (np.array(a, dtype=options.dtype, order="C") for a in start)
    if x.shape != (n_users, options.factors) or y.shape != (n_items, options.factors):
        raise InternalError(
            f"start factors have shapes {x.shape}, {y.shape}; expected {options.factors} columns"
        )
    losses: list[float] = []
    seconds: list[float] = []
    for it in range(options.iterations):
        start = time.perf_counter()
        half_step(cu, y, x, options)
        half_step(ci, x, y, options)
        seconds.append(time.perf_counter() - start)
        loss = objective(cu, x, y, options.reg) if track_objective else float("nan")
        if track_objective:
            losses.append(loss)
        if on_iteration is not None:
            on_iteration(it, loss, seconds[-1])
    info = {
        "solver": options.solver,
        "factors": options.factors,
        "iterations": options.iterations,
        "reg": options.reg,
        "alpha": options.alpha,
        "confidence": options.confidence,
        "rewatch_aggregate": "sum",
        "dtype": options.dtype,
        "objective": losses,
        "seconds": seconds,
    }
    return x.astype(np.float32), y.astype(np.float32), info


def fit_art(data: ModelData, options: ALSOptions) -> Fitted:
    """The fit contract (kuaicore.models.contract): implicit ALS of ART's training rows."""

    def progress(it: int, loss: float, secs: float) -> None:
        data.log(f"  als iteration {it + 1}/{options.iterations}: objective {loss:.6g}, {secs:.2f}s")

    u, v, info = fit(data.interactions, options, on_iteration=progress)
    return Fitted(u, v, info=info)
