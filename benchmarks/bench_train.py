"""Benchmark `kuaicore train`: (a) the streamed pipeline (Parquet row groups -> shuffle buffer -> background
prefetch -> sharded jitted step) against (b) the same number of jitted steps on batches already in device
memory. Prints samples/s, wall seconds and peak RSS of each, and their ratio (the streaming overhead).

The data are synthetic but full-scale: a train.parquet of 12.5M rows (KuaiRec's big_matrix size) in row
groups of 1M rows with random user/item indices, targets and labels, and feature matrices of realistic widths
(7,176 x 100 user, 10,728 x 150 item). Each mode runs in its own subprocess so that its peak RSS is its own.

    python benchmarks/bench_train.py                    # full scale (12.5M rows), batch 8192, loss mse
    python benchmarks/bench_train.py --scale small      # 1M rows, quick
    python benchmarks/bench_train.py --loss softmax --batch-size 8192
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import peak_rss_mb  # noqa: E402

ROWS = {"full": 12_530_806, "small": 1_000_000}
N_USERS, N_ITEMS, F_USER, F_ITEM = 7_176, 10_728, 100, 150


def write_synthetic_art(art: Path, rows: int, seed: int = 0) -> None:
    """train.parquet (rows), valid.parquet (1% of rows), features, item tables and a manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    art.mkdir(parents=True, exist_ok=True)
    item_pop = rng.permutation((np.arange(N_ITEMS) + 20.0) ** -1.0)  # long tail, no single dominant item
    item_p = item_pop / item_pop.sum()
    counts = np.zeros(N_ITEMS, np.int64)
    for name, n in (("train", rows), ("valid", max(rows // 100, 1000))):
        writer = None
        for start in range(0, n, 1_000_000):
            m = min(1_000_000, n - start)
            items = rng.choice(N_ITEMS, m, p=item_p).astype(np.int32)
            if name == "train":
                counts += np.bincount(items, minlength=N_ITEMS)
            wr = rng.gamma(1.2, 0.8, m).astype(np.float32)
            table = pa.table({"user_idx": rng.integers(0, N_USERS, m, dtype=np.int32), "item_idx": items,
                              "watch_ratio": wr, "target": np.minimum(wr, 5.0),
                              "label": (wr >= 2.0).astype(np.float32)})
            writer = writer or pq.ParquetWriter(art / f"{name}.parquet", table.schema)
            writer.write_table(table, row_group_size=1_000_000)
        writer.close()
    np.save(art / "user_features.npy", rng.normal(size=(N_USERS, F_USER)).astype(np.float32))
    np.save(art / "item_features.npy", rng.normal(size=(N_ITEMS, F_ITEM)).astype(np.float32))
    np.save(art / "item_author_idx.npy", rng.integers(0, 5000, N_ITEMS).astype(np.int32))
    np.save(art / "item_train_counts.npy", counts)
    manifest = {"n_users": N_USERS, "n_items": N_ITEMS, "watch_ratio_cap": 5.0, "like_threshold": 2.0,
                "user_feature_names": [f"u{i}" for i in range(F_USER)],
                "item_feature_names": [f"i{i}" for i in range(F_ITEM)], "label_rule": "watch_ratio >= 2.0"}
    (art / "manifest.json").write_text(json.dumps(manifest))


def _peak_rss_mb() -> float:
    """This process's own peak RSS in MiB (the unit of this benchmark's recorded tables), from the shared
    :func:`_measure.peak_rss_mb` (VmHWM: ru_maxrss also counts the parent's RSS at fork)."""
    return peak_rss_mb(include_children=False) * 1e6 / 2**20


def child_stream(art: Path, cfg_kw: dict) -> dict:
    """One epoch of the real training loop; its own timer excludes compilation and validation."""
    from kuaicore.config import TrainConfig
    from kuaicore.training.loop import train

    t0 = time.perf_counter()
    summary = train(TrainConfig(art=art, epochs=1, run="bench", valid_users=200, **cfg_kw))
    wall = time.perf_counter() - t0
    log = json.loads((summary.run_dir / "train_log.jsonl").read_text().splitlines()[-1])
    return {"mode": "streamed", "epoch_s": log["seconds"], "samples_per_s": log["samples_per_s"],
            "cpu_s": log["cpu_seconds"],
            "wall_s": wall, "peak_rss_mb": _peak_rss_mb(), "steps": summary.steps}


def child_memory(art: Path, cfg_kw: dict) -> dict:
    """The same number of jitted steps over batches put on the device beforehand (no input pipeline)."""
    import jax
    import pyarrow.parquet as pq

    from kuaicore.config import TrainConfig
    from kuaicore.data.stream import n_batches
    from kuaicore.training import step as st
    from kuaicore.training.artifacts import TRAIN_COLUMNS, load_training_data
    from kuaicore.training.loop import compiled_functions

    t_all = time.perf_counter()
    cfg = TrainConfig(art=art, epochs=1, **cfg_kw)
    data = load_training_data(art)
    mesh = st.make_mesh()
    bs = st.effective_batch_size(cfg.batch_size, mesh.size)
    steps = n_batches(data.train_path, bs)
    fns = compiled_functions(cfg, data, mesh, steps)
    rep, put = st.replicated(mesh), st.batch_putter(mesh)
    params = jax.device_put(fns.init(jax.random.key(0)), rep)
    opt_state = jax.device_put(fns.opt_init(params), rep)
    tables = st.device_tables(data, mesh)
    step = fns.step_for(bs, params, opt_state, tables, put)
    table = pq.read_table(data.train_path, columns=list(TRAIN_COLUMNS))
    cols = {c: table.column(c).to_numpy() for c in TRAIN_COLUMNS}
    del table
    n = len(cols["user_idx"])
    batches = []
    for i in range(steps):
        b = {c: np.zeros(bs, v.dtype) for c, v in cols.items()}
        m = min(bs, n - i * bs)
        for c, v in cols.items():
            b[c][:m] = v[i * bs:i * bs + m]
        b["mask"] = (np.arange(bs) < m).astype(np.float32)
        batches.append(put(b)[0])
    del cols
    acc = jax.device_put(np.zeros(2, np.float32), rep)
    jax.block_until_ready(batches)
    t0, cpu0 = time.perf_counter(), time.process_time()
    sync = st.needs_step_sync(mesh)  # as the training loop does (several CPU devices)
    for b in batches:
        params, opt_state, _, acc = step(params, opt_state, tables, b, acc)
        if sync:
            acc.block_until_ready()
    jax.block_until_ready(params)
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"mode": "in-memory", "epoch_s": secs, "samples_per_s": n / secs, "cpu_s": cpu,
            "wall_s": time.perf_counter() - t_all, "peak_rss_mb": _peak_rss_mb(), "steps": steps,
            "devices": st.describe_devices(mesh)}


def _run_child(mode: str, art: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--art", str(art), "--loss", args.loss,
           "--batch-size", str(args.batch_size)]
    env = dict(os.environ)
    if args.cpu_devices:
        flag = f"--xla_force_host_platform_device_count={args.cpu_devices}"
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flag}".strip()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{mode} run failed")
    sys.stderr.write("".join(f"  [{mode}] {line}\n" for line in proc.stderr.splitlines()[-4:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(ROWS), default="full")
    parser.add_argument("--rows", type=int, default=None, help="override the number of training rows")
    parser.add_argument("--loss", default="mse", choices=["mse", "bce", "softmax"])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--art", type=Path, default=None, help="reuse (or keep) the synthetic ART here")
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into N XLA devices (data-parallel over cores); 0 = XLA default")
    parser.add_argument("--child", choices=["stream", "memory"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cfg_kw = {"loss": args.loss, "batch_size": args.batch_size}
    if args.child:
        fn = child_stream if args.child == "stream" else child_memory
        print(json.dumps(fn(args.art, cfg_kw)))
        return
    tmp = None
    art = args.art
    if art is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench_train_"))
        art = tmp / "ART"
    rows = args.rows or ROWS[args.scale]
    if not (art / "manifest.json").is_file():
        t0 = time.perf_counter()
        write_synthetic_art(art, rows)
        secs = time.perf_counter() - t0
        print(f"# wrote synthetic ART ({rows:,} training rows) in {secs:.1f}s", file=sys.stderr)
    try:
        results = [_run_child("memory", art, args), _run_child("stream", art, args)]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    base, devices = results[0]["samples_per_s"], results[0]["devices"]
    print(f"# bench_train: {rows:,} rows, loss {args.loss}, batch {args.batch_size}, devices {devices}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, {time.strftime('%Y-%m-%d')}")
    print(f"{'stage':<20}{'epoch s':>9}{'CPU s':>8}{'wall s':>9}{'peak RSS MB':>13}{'rows/s':>12}{'ratio':>7}"
          f"{'CPU ratio':>11}")
    for r in results:
        print(f"{'train/' + r['mode']:<20}{r['epoch_s']:>9.2f}{r['cpu_s']:>8.2f}{r['wall_s']:>9.2f}"
              f"{r['peak_rss_mb']:>13.0f}{r['samples_per_s']:>12,.0f}{r['samples_per_s'] / base:>7.2f}"
              f"{r['cpu_s'] / results[0]['cpu_s']:>11.2f}")
    overhead = 1 - results[1]["samples_per_s"] / base
    cpu_overhead = results[1]["cpu_s"] / results[0]["cpu_s"] - 1
    print(f"# streaming overhead vs in-memory: {overhead:.1%} in rows/s, {cpu_overhead:.1%} in CPU time"
          f" (target <= 20%); "
          f"streamed epoch {results[1]['epoch_s']:.1f}s (target <= 40s); "
          f"peak RSS {results[1]['peak_rss_mb']:.0f} MB (target <= 3000)")


if __name__ == "__main__":
    main()
