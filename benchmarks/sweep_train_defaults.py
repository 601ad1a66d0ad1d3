"""Choose `kuaicore train`'s default batch size, learning rate, schedule and epochs by measurement.

Runs every candidate on every given ART (synthetic twin worlds) and seed, one process, and prints per run:
the best validation score (ndcg@10 of the evaluation protocol on valid.parquet, what picks the epoch; or the
loop's recall@50 with `--metric recall`) and valid loss (the evaluation block is never read), the cumulative
training seconds (the loop's epoch timers) when that best was reached, and the whole curve. A candidate may
become the default only if it reaches the old default's validation quality in less time in every (world,
seed).

    python benchmarks/sweep_train_defaults.py --art A0 --art A1 --seeds 0 1
    python benchmarks/sweep_train_defaults.py --art A \
        --candidate old:4096:3e-3:0:3 --candidate b:65536:0.01:1:9

A candidate is NAME:BATCH:LR:COSINE(0|1):EPOCHS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_line  # noqa: E402

CANDIDATES = ("old:4096:3e-3:0:3", "b64k:65536:1e-2:1:12", "b256k:262144:2e-2:1:20")


def _parse(text: str) -> tuple[str, dict]:
    name, batch, lr, cosine, epochs = text.split(":")
    return name, {"batch_size": int(batch), "lr": float(lr), "cosine_schedule": cosine == "1",
                  "epochs": int(epochs)}  # fmt: skip


def run_one(art: Path, seed: int, kw: dict, loss: str, metric: str = "valid_ndcg") -> dict:
    """One training run; its validation curve against cumulative training seconds."""
    from kuaicore.training.devices import configure_cpu_devices

    configure_cpu_devices()  # one XLA CPU device per core, as the CLI does (a no-op once jax is imported)
    from kuaicore.config import TrainConfig
    from kuaicore.training.loop import train

    t0 = time.perf_counter()
    summary = train(TrainConfig(art=art, model="two-tower", run="sweep", seed=seed, loss=loss, **kw))
    wall = time.perf_counter() - t0
    log = [json.loads(x) for x in (summary.run_dir / "train_log.jsonl").read_text().splitlines()]
    shutil.rmtree(summary.run_dir, ignore_errors=True)
    t, curve = 0.0, []
    for e in log:
        t += e["seconds"]
        curve.append((round(t, 2), e[metric], e["valid_loss"]))
    return {"curve": curve, "wall": wall}


def time_to(curve: list, target: float) -> float | None:
    """Cumulative training seconds when the validation score first reaches ``target``."""
    return next((t for t, score, _ in curve if score >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--art", type=Path, action="append", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--loss", default="mse")
    parser.add_argument("--candidate", action="append", default=None, help="NAME:BATCH:LR:COSINE:EPOCHS")
    parser.add_argument("--metric", choices=["valid_ndcg", "recall"], default="valid_ndcg")
    args = parser.parse_args()
    candidates = [_parse(c) for c in (args.candidate or CANDIDATES)]
    print(machine_line())
    print(
        f"{'world':<8}{'seed':>5} {'candidate':<10}{'batch':>8}{'lr':>8}{'cos':>4}{'ep':>4}"
        f"{'best score':>12}{'valid loss':>11}{'t best s':>9}{'t total s':>10}{'wall s':>8}"
        f"{'t to old s':>11}"
    )
    for art in args.art:
        for seed in args.seeds:
            old_best = None
            for name, kw in candidates:
                r = run_one(art, seed, kw, args.loss, args.metric)
                curve = r["curve"]
                best = max(curve, key=lambda p: p[1])
                if old_best is None:
                    old_best = best[1]
                reach = time_to(curve, old_best)
                reach_s = f"{reach:.2f}" if reach is not None else "never"
                print(
                    f"{art.name:<8}{seed:>5} {name:<10}{kw['batch_size']:>8}{kw['lr']:>8.0e}"
                    f"{int(kw['cosine_schedule']):>4}{kw['epochs']:>4}{best[1]:>12.4f}"
                    f"{min(p[2] for p in curve):>11.4f}"
                    f"{best[0]:>9.2f}{curve[-1][0]:>10.2f}{r['wall']:>8.1f}{reach_s:>11}",
                    flush=True,
                )
                print("    curve: " + ", ".join(f"{t}s {rc:.4f}" for t, rc, _ in curve), flush=True)


if __name__ == "__main__":
    main()
