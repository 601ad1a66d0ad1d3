"""Benchmark the classic baselines (popularity, tag-cosine, linear ridge, implicit ALS) at KuaiRec scale.

    python benchmarks/bench_models.py --scale full    # 7,176 x 10,728, 12.5M rows (the big matrix's size)
    python benchmarks/bench_models.py --scale small   # quick

The data are generated here (no other stage needed): per-user row counts from a log-normal scaled to the
total, each user's videos drawn without replacement with Zipf popularity (Gumbel top-k), capped watch
ratios from a log-normal, and random z-scored user/item features with a tag multi-hot of ~1.2 tags per
video. Each model runs in its own child process so that "peak RSS MB" is that model's own high-water mark
(data included; "data MB" is the resident size once the data are built). Baselines, in the same child: ALS
against a plain NumPy loop over users solving the same normal equations (``np.linalg.solve``, timed on
``--baseline-users`` users; "vs baseline" compares users per second of the same half-step; half-step times
are the best of ``--repeat``), and the linear model's sparse normal equations against the row-batch
accumulation (``--baseline-rows`` rows; rows per second). The ``interactions`` stage writes the pairs as a
shuffled ``train.parquet`` and times :func:`kuaicore.models.interactions.load_interactions` reading it back
(its peak RSS is sampled during the read only). The ``als-vs-implicit`` stage (first, its own table) runs
kuaicore's ALS and `implicit`'s side by side (benchmarks/_peer_als.py; needs ``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402

SCALES = {"full": (7_176, 10_728, 12_530_806), "small": (1_000, 2_000, 250_000)}
N_TAGS, D_USER, D_ITEM = 31, 180, 100
MODELS = ("als-vs-implicit", "interactions", "popularity", "tag-cosine", "linear", "als")


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; NaN elsewhere)."""
    from kuaicore.procstatus import status_kib

    kib = status_kib("VmRSS")
    return kib * 1024 / 1e6 if kib is not None else float("nan")


def make_data(scale: str, seed: int = 0):
    """Interactions CSR (Zipf item popularity) plus features and tags, deterministic in ``seed``."""
    import scipy.sparse as sp

    from kuaicore.models.interactions import Interactions

    n_users, n_items, target_rows = SCALES[scale]
    rng = np.random.default_rng(seed)
    per_user = rng.lognormal(0.0, 0.8, n_users)
    per_user = np.clip(np.round(per_user / per_user.sum() * target_rows), 20, int(0.9 * n_items)).astype(
        np.int64
    )
    log_p = -0.8 * np.log(np.arange(1, n_items + 1) + 10.0)
    log_p = log_p[rng.permutation(n_items)]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(per_user, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    for lo in range(0, n_users, 256):
        hi = min(lo + 256, n_users)
        keys = log_p + rng.gumbel(size=(hi - lo, n_items))
        order = np.argsort(-keys, axis=1)
        for r in range(hi - lo):
            u = lo + r
            indices[indptr[u] : indptr[u + 1]] = np.sort(order[r, : per_user[u]])
    target = np.minimum(rng.lognormal(-0.2, 0.6, indices.size), 5.0).astype(np.float32)
    matrix = sp.csr_matrix((target, indices, indptr), shape=(n_users, n_items))
    data = Interactions(matrix, np.ones(indices.size, np.int32), indices.size, float(np.sum(target**2.0)))
    tags = np.zeros((n_items, N_TAGS))
    tags[np.arange(n_items), rng.integers(0, N_TAGS, n_items)] = 1.0
    extra = np.flatnonzero(rng.random(n_items) < 0.17)
    tags[extra, rng.integers(0, N_TAGS, extra.size)] = 1.0
    user_features = rng.standard_normal((n_users, D_USER)).astype(np.float32)
    item_features = np.hstack(
        [(tags - tags.mean(0)) / tags.std(0), rng.standard_normal((n_items, D_ITEM - N_TAGS))]
    )
    names = [f"tag_{t:02d}" for t in range(N_TAGS)] + [f"x{j}" for j in range(D_ITEM - N_TAGS)]
    taste = 1.0 + 0.3 * rng.standard_normal((n_users, N_TAGS))
    return data, user_features, item_features.astype(np.float32), names, tags, taste


def _row(model: str, stage: str, seconds: float, rows: int, data_mb: float, **extra) -> dict:
    return {
        "model": model,
        "stage": stage,
        "wall s": seconds,
        "peak RSS MB": peak_rss_mb(include_children=False),
        "data MB": data_mb,
        "rows/s": rows / seconds if seconds > 0 else float("nan"),
        "vs baseline": extra.get("ratio"),
    }


def bench_one(model: str, scale: str, args: argparse.Namespace) -> list[dict]:
    """Run one model's stages (and its baseline) in this process; one result dict per stage."""
    from kuaicore.models import als, linear, popularity, tag_cosine

    data, uf, itf, names, tags, taste = make_data(scale)
    nnz = data.matrix.nnz
    base = rss_mb()
    rows: list[dict] = []
    if model == "als-vs-implicit":
        from _peer_als import compare_als

        threads = tuple(int(t) for t in args.threads.split(","))
        return compare_als(data, args.factors, args.iterations, args.repeat, threads)
    if model == "interactions":
        rows.append(bench_load(data))
    elif model == "popularity":
        for variant in ("views", "mean-wr"):
            with Timer() as t:
                popularity.fit(data, popularity.PopularityOptions(variant))
            rows.append(_row(model, f"fit {variant}", t.seconds, nnz, base))
    elif model == "tag-cosine":
        with Timer() as t:
            tag_cosine.fit(data, itf, names)
        rows.append(_row(model, "fit (tags)", t.seconds, nnz, base))
    elif model == "linear":
        with Timer() as t:
            linear.fit(data, uf, itf, tags, taste)
        fast = nnz / t.seconds
        u, i = data.pairs()
        sub = np.random.default_rng(1).choice(nnz, min(args.baseline_rows, nnz), replace=False)
        batch = [(u[sub], i[sub], data.matrix.data[sub])]
        with Timer() as tb:
            linear.normal_equations_streamed(batch, uf, itf, tags, taste)
        slow = len(sub) / tb.seconds
        rows.append(
            _row(
                model,
                f"fit (sparse normal eq., D={1 + D_USER + D_ITEM + N_TAGS})",
                t.seconds,
                nnz,
                base,
                ratio=fast / slow,
            )
        )
        rows.append(_row(model, f"baseline: row batches ({len(sub):,} rows)", tb.seconds, len(sub), base))
    elif model == "als":
        f = args.factors
        for solver, iters in (("cg", args.iterations), ("cholesky", 1)):
            opts = als.ALSOptions(factors=f, iterations=iters, solver=solver)
            als.fit(_warm(data), opts, track_objective=False)  # compile outside the timing
            _, _, info = als.fit(data, opts, track_objective=False)
            per_it = float(np.median(info["seconds"]))
            rows.append(_row(model, f"{solver} f={f}: per iteration (median of {iters})", per_it, nnz, base))
        # the same exact user half-step: Numba kernel over all users vs NumPy loop over a subset
        opts = als.ALSOptions(factors=f, solver="cholesky")
        cu, _ = als.confidence_matrices(data, opts)
        x, y = als.init_factors(*data.shape, opts)
        y += np.random.default_rng(2).normal(0, 0.1, y.shape)
        users = np.random.default_rng(3).choice(data.shape[0], min(args.baseline_users, data.shape[0]), False)
        sub_rows = int(np.diff(cu.indptr)[users].sum())
        # best of --repeat runs, each from the same start (from the exact solution CG would stop at once)
        tk, tn, tc = best_of(
            args.repeat,
            lambda: als.half_step(cu, y, x.copy(), opts),
            lambda: als.half_step_numpy(cu, y, x.copy(), opts.reg, rows=users),
            lambda: als.half_step(cu, y, x.copy(), als.ALSOptions(factors=f, solver="cg")),
        )
        numba_rate, numpy_rate = data.shape[0] / tk.seconds, len(users) / tn.seconds
        rows.append(
            _row(
                model, "user half-step, Numba Cholesky", tk.seconds, nnz, base, ratio=numba_rate / numpy_rate
            )
        )
        rows.append(
            _row(
                model,
                "user half-step, Numba CG (3 steps)",
                tc.seconds,
                nnz,
                base,
                ratio=data.shape[0] / tc.seconds / numpy_rate,
            )
        )
        rows.append(
            _row(model, f"baseline: NumPy solve loop ({len(users)} users)", tn.seconds, sub_rows, base)
        )
    return rows


def bench_load(data) -> dict:
    """Write the pairs as a shuffled train.parquet (1M-row groups) and time reading it back into CSR."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from kuaicore.models.interactions import load_interactions

    u, i = data.pairs()
    order = np.random.default_rng(4).permutation(u.size)
    table = pa.table({"user_idx": u[order], "item_idx": i[order], "target": data.matrix.data[order]})
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(table, Path(tmp) / "train.parquet", row_group_size=1_000_000)
        Path(tmp, "manifest.json").write_text(
            json.dumps({"n_users": data.shape[0], "n_items": data.shape[1]})
        )
        del table, order, u, i
        base = rss_mb()
        with RssSampler() as peak, Timer() as t:
            loaded = load_interactions(Path(tmp))
    assert loaded.matrix.nnz == data.matrix.nnz
    row = _row("interactions", "train.parquet -> CSR (1M-row batches)", t.seconds, loaded.n_rows, base)
    row["peak RSS MB"] = peak.mb  # sampled during the load: the process peak includes writing the file
    return row


class RssSampler:
    """Highest VmRSS seen by a background thread polling every 5 ms while the block runs (``.mb``)."""

    def __enter__(self) -> RssSampler:
        import threading

        self.mb, self._stop = rss_mb(), threading.Event()

        def poll() -> None:
            while not self._stop.wait(0.005):
                self.mb = max(self.mb, rss_mb())

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, rss_mb())


def best_of(repeat: int, *fns) -> list[Timer]:
    """The fastest of ``repeat`` timed calls of each of ``fns``, interleaved round by round so that a
    contender and its baseline see the same load on a shared machine (the minimum is the least noisy)."""
    best: list = [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            with Timer() as t:
                fn()
            if best[k] is None or t.seconds < best[k].seconds:
                best[k] = t
    return best


def _warm(data):
    """A small slice of the data, to compile the Numba kernels before timing (cache=True keeps them)."""
    from kuaicore.models.interactions import Interactions

    m = data.matrix[:50]
    return Interactions(m.tocsr(), np.ones(m.nnz, np.int32), m.nnz)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=tuple(SCALES), default="full")
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS)
    )
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--baseline-users", type=int, default=300)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="ALS timings (and vs implicit): best of N")
    parser.add_argument("--threads", default="1,2", help="als-vs-implicit: thread counts to compare at")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: one model, JSON rows on stdout
    args = parser.parse_args()
    if args.only:
        print(json.dumps(bench_one(args.only, args.scale, args)))
        return
    n_users, n_items, n_rows = SCALES[args.scale]
    print(machine_line())
    print(f"data: {n_users:,} users x {n_items:,} videos, ~{n_rows:,} rows (Zipf), scale={args.scale}")
    rows: list[dict] = []
    peer_rows: list[dict] = []
    for model in args.models.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--only",
            model,
            "--scale",
            args.scale,
            "--factors",
            str(args.factors),
            "--iterations",
            str(args.iterations),
            "--baseline-users",
            str(args.baseline_users),
            "--baseline-rows",
            str(args.baseline_rows),
            "--repeat",
            str(args.repeat),
            "--threads",
            args.threads,
        ]
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        (peer_rows if model == "als-vs-implicit" else rows).extend(got)
        print(f"  {model}: child done in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    if peer_rows:
        head = f"ALS vs implicit: f={args.factors}, 3 CG steps, reg 0.1, {args.iterations} iterations from "
        print(
            head + f"one start, best of {args.repeat} interleaved rounds; loss: kuaicore's float64 objective"
        )
        print_table(peer_rows)
        print()
    if rows:
        print_table(rows)


if __name__ == "__main__":
    main()
