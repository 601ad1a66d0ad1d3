"""Benchmark `kuaicore train`: the per-row path (today's before issue 15) against the entity-level,
device-resident path, beside a DuckDB count-only scan of the CSVs, all in one run on the synthetic twin.

Stages (each in its own subprocess, so each peak RSS is its own):
- count-only: DuckDB ``count(*)`` over every CSV of the data folder (the floor of anything that reads them).
- per-row (old default): streamed batches, both towers run once per row, batch 4,096, lr 3e-3, constant,
  3 epochs: the training of `kuaicore train` before issue 15.
- entity, device (candidate): rows resident on the devices, each tower once per entity per step, an epoch
  as one jitted loop; the candidate default batch, lr and schedule (--new).
- entity, device (Nk), 1 epoch: the speed runs (--speed-batches);
- entity, streamed: the streamed path (for data that does not fit the device) at the first speed batch.
"s/epoch" and "rows/s" are the loop's own epoch timers (no compilation, no validation). The quality curve is
the validation score after each epoch against cumulative training seconds: ndcg@10 of the evaluation protocol
on valid.parquet (what picks the epoch, `--metric valid_ndcg`, the default) or the loop's recall@50 (`--metric
recall`); "time to quality" is when the candidate first reaches the per-row run's best validation score (and
98% of it).

    python benchmarks/bench_train.py                      # full scale: synth + build-features first (~1 min)
    python benchmarks/bench_train.py --scale small        # quick
    python benchmarks/bench_train.py --data D --art A     # reuse a synthetic twin and its ART
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_line, peak_rss_mb  # noqa: E402

OLD = {"batch_size": 4096, "lr": 3e-3, "cosine_schedule": False, "epochs": 3, "towers": "rows",
       "data_on_device": "stream"}  # fmt: skip


def _parse_run(text: str) -> dict:
    batch, lr, cosine, epochs = text.split(":")
    return {
        "batch_size": int(batch),
        "lr": float(lr),
        "cosine_schedule": cosine == "1",
        "epochs": int(epochs),
    }


def child_scan(data: Path) -> dict:
    from bench_features import scan_csvs

    t0 = time.perf_counter()
    rows = scan_csvs(data, "1GB", None, every_value=False)["rows"]
    secs = time.perf_counter() - t0
    return {"seconds": secs, "rows": sum(rows.values()), "peak_rss_mb": peak_rss_mb(include_children=False)}


def child_train(art: Path, kw: dict) -> dict:
    """A `kuaicore train` run with ``kw`` on top of the defaults; its epoch log, wall time and peak RSS."""
    from kuaicore.training.devices import configure_cpu_devices

    configure_cpu_devices()  # one XLA CPU device per core, as the CLI does (before jax is imported)
    from kuaicore.config import TrainConfig
    from kuaicore.training.loop import train

    t0 = time.perf_counter()
    summary = train(TrainConfig(art=art, model="two-tower", run="bench", seed=0, **kw))
    wall = time.perf_counter() - t0
    log = [json.loads(line) for line in (summary.run_dir / "train_log.jsonl").read_text().splitlines()]
    config = json.loads((summary.run_dir / "config.json").read_text())
    return {
        "log": log,
        "wall_s": wall,
        "peak_rss_mb": peak_rss_mb(include_children=False),
        "data": config["info"]["data"],
        "batch": config["info"]["effective_batch_size"],
        "devices": config["info"]["devices"],
    }


def _child(mode: str, path: Path, kw: dict, env_extra: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--art", str(path), "--kw", json.dumps(kw)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **env_extra})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{mode} run failed")
    sys.stderr.write("".join(f"  [{mode}] {line}\n" for line in proc.stderr.splitlines()[-3:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _prepare(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path]:
    data, art = args.data, args.art
    kuaicore = [sys.executable, "-m", "kuaicore.cli"]
    if data is None:
        data = tmp / "data"
        subprocess.run([*kuaicore, "synth", str(data), "--scale", args.scale, "--seed", "0"], check=True,
                       capture_output=True)  # fmt: skip
    if art is None or not (art / "manifest.json").is_file():
        art = art or tmp / "art"
        subprocess.run([*kuaicore, "build-features", str(data), "--out", str(art), "--force"], check=True,
                       capture_output=True)  # fmt: skip
    return data, art


def _epoch_stats(result: dict, metric: str) -> tuple[float, float, float]:
    """(seconds per epoch, rows/s, best validation score by ``metric``)."""
    log = result["log"]
    secs = sum(e["seconds"] for e in log) / len(log)
    rate = sum(e["samples_per_s"] * e["seconds"] for e in log) / sum(e["seconds"] for e in log)
    return secs, rate, max(e[metric] for e in log)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--data", type=Path, default=None, help="CSV folder of a synthetic twin (else synth)")
    parser.add_argument(
        "--art", type=Path, default=None, help="its ART (else build-features into a temp dir)"
    )
    parser.add_argument("--loss", default="mse", choices=["mse", "bce", "softmax"])
    parser.add_argument(
        "--new", default="65536:6e-3:0:3", help="the candidate default run: BATCH:LR:COSINE(0|1):EPOCHS"
    )
    parser.add_argument(
        "--speed-batches",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[262_144, 1_048_576],
        help="batches of the 1-epoch speed runs (device; the first also streamed)",
    )
    parser.add_argument("--skip-old", action="store_true", help="skip the (slow) per-row run")
    parser.add_argument(
        "--old-epochs", type=int, default=3, help="epochs of the per-row run (1: its speed only, no curve)"
    )
    parser.add_argument(
        "--metric",
        choices=["valid_ndcg", "recall"],
        default="valid_ndcg",
        help="validation score of the quality curve: the protocol's ndcg@10 on valid.parquet (what picks"
        " the epoch) or the loop's recall@50",
    )
    parser.add_argument("--child", choices=["scan", "train"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--kw", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = child_scan if args.child == "scan" else child_train
        print(json.dumps(fn(args.art, **({"kw": json.loads(args.kw)} if args.child == "train" else {}))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        t0 = time.perf_counter()
        data, art = _prepare(args, tmp)
        print(f"# data {data}, ART {art} ready in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        new = _parse_run(args.new)
        base = {"loss": args.loss, "valid_users": 1000}
        scan = _child("scan", data, {}, {})
        runs = {}
        if not args.skip_old:
            runs["per-row (old default)"] = _child("train", art, base | OLD | {"epochs": args.old_epochs}, {})
        runs["entity, device (candidate)"] = _child("train", art, base | new, {})
        for batch in args.speed_batches:
            one = base | new | {"batch_size": batch, "epochs": 1}
            runs[f"entity, device ({batch // 1024}k)"] = _child("train", art, one, {})
        stream = base | new | {"batch_size": args.speed_batches[0], "epochs": 1, "data_on_device": "stream"}
        runs[f"entity, streamed ({args.speed_batches[0] // 1024}k)"] = _child("train", art, stream, {})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    first = next(iter(runs.values()))
    n_rows = round(first["log"][0]["samples_per_s"] * first["log"][0]["seconds"])
    print(machine_line())
    print(
        f"# bench_train: {n_rows:,} training rows, loss {args.loss}, devices {first['devices']},"
        f" scale {args.scale}; count-only scan {scan['seconds']:.2f}s ({scan['rows']:,} CSV rows)"
    )
    metric, label = args.metric, {"valid_ndcg": "valid ndcg@10", "recall": "recall@50"}[args.metric]
    print(
        f"{'stage':<30}{'batch':>9}{'epochs':>7}{'s/epoch':>9}{'rows/s':>13}{'peak RSS MB':>13}"
        f"{'x scan':>8}{'vs per-row':>11}{'best ' + label:>19}"
    )
    print(
        f"{'count-only scan (DuckDB)':<30}{'':>9}{'':>7}{scan['seconds']:>9.2f}{'':>13}"
        f"{scan['peak_rss_mb']:>13.0f}{1.0:>8.2f}"
    )
    old = runs.get("per-row (old default)")
    old_secs = _epoch_stats(old, metric)[0] if old else None
    for name, r in runs.items():
        secs, rate, best = _epoch_stats(r, metric)
        speed = f"{old_secs / secs:.1f}x" if old_secs else "-"
        print(
            f"{name:<30}{r['batch']:>9,}{len(r['log']):>7}{secs:>9.2f}{rate:>13,.0f}{r['peak_rss_mb']:>13.0f}"
            f"{secs / scan['seconds']:>8.2f}{speed:>11}{best:>19.4f}"
        )
    print(f"# quality vs time: cumulative training seconds -> validation {label} (valid loss) per epoch")
    for name, r in runs.items():
        t, points = 0.0, []
        for e in r["log"]:
            t += e["seconds"]
            points.append(f"{t:.1f}s {e[metric]:.4f} ({e['valid_loss']:.4f})")
        print(f"#   {name}: " + ", ".join(points))
    if "per-row (old default)" in runs:
        old = runs["per-row (old default)"]["log"]
        best = max(e[metric] for e in old)
        for share in (1.0, 0.98):
            target = share * best
            t_old = _time_to(old, target, metric)
            t_new = _time_to(runs["entity, device (candidate)"]["log"], target, metric)
            shown = f"{t_new:.1f}s ({t_old / t_new:.1f}x shorter)" if t_new else "not reached"
            print(
                f"# time to {share:.0%} of the old default's best validation {label} ({target:.4f}):"
                f" old {t_old:.1f}s, candidate {shown}"
            )


def _time_to(log: list[dict], target: float, metric: str) -> float | None:
    """Cumulative training seconds when the validation score ``metric`` first reaches ``target``."""
    t = 0.0
    for e in log:
        t += e["seconds"]
        if e[metric] >= target:
            return t
    return None


if __name__ == "__main__":
    main()
