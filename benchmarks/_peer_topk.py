"""kuaicore's ``topk_scores`` against `implicit`'s batch ``recommend``, idle and with one core kept busy.

Same 64-d float32 factors, top-100 for every user over the whole catalog, each user's training items
excluded (``filter_already_liked_items``), equal thread counts (Numba threads, implicit's ``num_threads``,
BLAS limited by threadpoolctl). "1 core busy" runs a spinning process (``while True: pass``) beside the call,
as another job on a shared machine would. Rounds interleave contenders and load so that each sees the same
machine; each cell is the best of ``repeat``, as wall time and as this process's CPU time (the fairer per-core
measure on a shared machine). Outputs are checked equal (scores to 1e-4; items equal but for
float-rounding near-ties). Benchmark-only: `implicit`/`threadpoolctl` come from the ``bench`` extra.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Any

import numpy as np

K = 100
DIM = 64


def make_peer_data(n_users: int, n_items: int, per_user: int, seed: int) -> dict[str, Any]:
    """Gaussian factors and a training CSR with ``per_user`` random items a user (sorted, distinct)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    scale = np.float32(DIM**-0.25)
    user = rng.standard_normal((n_users, DIM), dtype=np.float32) * scale
    item = rng.standard_normal((n_items, DIM), dtype=np.float32) * scale
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.integers(0, n_items, rows.size)
    seen = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n_users, n_items))
    seen.sum_duplicates()
    seen.sort_indices()
    return {"user": user, "item": item, "seen": seen}


class BusyCore:
    """A child process spinning on one core while the block runs."""

    def __enter__(self) -> BusyCore:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)  # let it get scheduled
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def compare_topk(d: dict[str, Any], threads: tuple[int, ...], repeat: int) -> tuple[list[dict], float]:
    """Rows (contender x threads x load) and the share of identical top-100 slots between the two."""
    import numba
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from kuaicore.kernels.topk import topk_scores

    seen = d["seen"]
    indptr, indices = seen.indptr.astype(np.int64), seen.indices.astype(np.int32)
    users = np.arange(d["user"].shape[0])
    models = {}
    for t in threads:
        m = AlternatingLeastSquares(factors=DIM, num_threads=t)
        m.user_factors, m.item_factors = d["user"], d["item"]
        models[t] = m

    def ours(t: int):
        return topk_scores(d["user"], d["item"], K, indptr, indices)

    def theirs(t: int):
        return models[t].recommend(users, seen, N=K, filter_already_liked_items=True)

    contenders = {"kuaicore topk_scores": ours, "implicit recommend": theirs}
    best: dict[tuple, float] = {}
    outs: dict[str, tuple] = {}
    for t in threads:
        numba.set_num_threads(t)
        with threadpool_limits(t):
            for name, fn in contenders.items():
                outs[name] = fn(t)  # compile / warm up
            for _ in range(repeat):
                for load in ("idle", "1 core busy"):
                    for name, fn in contenders.items():
                        with BusyCore() if load != "idle" else contextlib.nullcontext():
                            start, cpu0 = time.perf_counter(), time.process_time()
                            fn(t)
                            sec, cpu = time.perf_counter() - start, time.process_time() - cpu0
                        key = (name, t, load)
                        best[key] = min(best.get(key, np.inf), sec)
                        best[key + ("cpu",)] = min(best.get(key + ("cpu",), np.inf), cpu)
    numba.set_num_threads(max(threads))
    (oi, osc), (ti, tsc) = outs["kuaicore topk_scores"], outs["implicit recommend"]
    np.testing.assert_allclose(osc, tsc, atol=1e-4, err_msg="k-th best scores differ from implicit's")
    exact = np.einsum("ukd,ud->uk", d["item"][oi].astype(np.float64), d["user"].astype(np.float64))
    np.testing.assert_allclose(osc, exact, atol=1e-4, err_msg="our scores are not our items' dot products")
    for u in range(oi.shape[0]):
        assert not np.isin(oi[u], indices[indptr[u] : indptr[u + 1]]).any(), "a training item was returned"
    same = float((oi == ti).mean())
    rows = []
    for t in threads:
        for load in ("idle", "1 core busy"):
            for name in contenders:
                sec, cpu = best[(name, t, load)], best[(name, t, load, "cpu")]
                rows.append({
                    "contender": name, "threads": t, "load": load, "wall s": f"{sec:.3f}",
                    "vs implicit (wall)": f"{best[('implicit recommend', t, load)] / sec:.2f}x",
                    "busy / idle (wall)": f"{sec / best[(name, t, 'idle')]:.2f}x", "CPU s": f"{cpu:.3f}",
                    "vs implicit (CPU)": f"{best[('implicit recommend', t, load, 'cpu')] / cpu:.2f}x",
                })  # fmt: skip
    return rows, same
