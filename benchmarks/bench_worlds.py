"""Which model wins in which world: `kuaicore compare` of every model on every synthetic world.

    python benchmarks/bench_worlds.py                          # small scale, seeds 0-2 (~20 min on 2 cores)
    python benchmarks/bench_worlds.py --users 600 --seeds 0,1  # a reduced run on a busy machine
    python benchmarks/bench_worlds.py --models hybrid,mf --keep /tmp/worlds   # keep data, ARTs and runs
    python benchmarks/bench_worlds.py --models hybrid,mf,FILE.py:NAME --keep /tmp/worlds --baseline hybrid

For each world (mixed, collaborative, content, mixed-taste, popular) and seed: ``kuaicore synth --world W
--seed S``, ``build-features --seed S`` and ``compare --seed S`` (every model, small protocol, relevant =
watch_ratio > 2.0), run as a user runs them (the CLI, in child processes). Prints one table: world x model,
ndcg@10 as the mean over seeds with a 95% t-interval over seeds (one seed: the bootstrap CI over users of
that seed), and each model's rank within its world. The point is the rank *changes* between worlds: the real
data is one world we cannot see.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, print_table  # noqa: E402

from kuaicore.config import WORLDS  # noqa: E402

T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}  # t quantiles (0.975) by degrees of freedom


def _run(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "kuaicore.cli", *args], check=True, stdout=subprocess.DEVNULL)


def one(world: str, seed: int, root: Path, scale: str, users: int | None, extra: list[str]) -> dict:
    data, art = root / f"{world}-{seed}", root / f"{world}-{seed}-art"
    sizes = ["--users", str(users)] if users else []
    if not (art / "manifest.json").is_file():  # a kept ART (--keep) is reused, with its runs
        _run(["synth", str(data), "--scale", scale, "--seed", str(seed), "--world", world, *sizes])
        _run(["build-features", str(data), "--out", str(art), "--seed", str(seed)])
    out = root / f"{world}-{seed}.json"
    _run(["compare", str(art), "--seed", str(seed), "--k", "10", "--json", str(out), *extra])
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    # a model row has "model"; the reference rows (random, popularity, most-viewed, oracle) only a name
    small = {r.get("model", f"{r['name']} (ref)"): r["metrics"]["ndcg@10"] for r in rows}
    valid = {
        r["model"]: r["valid_ndcg@10"] for r in rows if "model" in r and r.get("valid_ndcg@10") is not None
    }
    return small, valid


def collect(worlds: list[str], seeds: list[int], run) -> tuple[dict, dict]:
    """``run(world, seed)`` -> (block metric by model, valid ndcg@10 by model) for every world and seed,
    gathered as {world: {model: [one value per seed]}} for each of the two."""
    block: dict[str, dict[str, list]] = {}
    valid: dict[str, dict[str, list]] = {}
    for world in worlds:
        for seed in seeds:
            for gathered, by_model in zip((block, valid), run(world, seed), strict=True):
                for model, value in by_model.items():
                    gathered.setdefault(world, {}).setdefault(model, []).append(value)
    return block, valid


def summarise(values: list[dict]) -> tuple[float, float, float]:
    means = [v["mean"] for v in values]
    m = sum(means) / len(means)
    if len(means) == 1:
        return m, values[0].get("lo", m), values[0].get("hi", m)
    sd = math.sqrt(sum((x - m) ** 2 for x in means) / (len(means) - 1))
    half = T95.get(len(means) - 1, 1.96) * sd / math.sqrt(len(means))
    return m, m - half, m + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--users", type=int, default=None, help="fewer users than the scale (a reduced run)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--worlds", default=",".join(WORLDS))
    ap.add_argument("--models", default=None, help="compare --models (default: all)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--baseline", default=None, help="also print each model's paired difference to it")
    ap.add_argument("--keep", type=Path, default=None, help="keep data/ARTs/runs here and reuse them")
    args = ap.parse_args()
    extra = (["--models", args.models] if args.models else []) + (
        ["--epochs", str(args.epochs)] if args.epochs else []
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-worlds-") as tmp, Timer() as t:
        root = args.keep or Path(tmp)
        # valid: the exposure-biased valid protocol, what picks defaults
        results, valid = collect(
            args.worlds.split(","), seeds, lambda w, s: one(w, s, root, args.scale, args.users, extra)
        )
    rows = []
    for world, by_model in results.items():
        stats = {m: summarise(v) for m, v in by_model.items()}
        refs = ("oracle (ref)", "random (ref)")
        order = sorted((m for m in stats if m not in refs), key=lambda m: -stats[m][0])
        for m in [refs[0], *order, refs[1]]:
            if m in stats:
                mean, lo, hi = stats[m]
                rank = order.index(m) + 1 if m in order else ""
                rows.append({"world": world, "model": m, "rank": rank, "ndcg@10": mean,
                             "95% CI": f"[{lo:.3f}, {hi:.3f}]", "of oracle": mean / stats[refs[0]][0]
                             if refs[0] in stats else float("nan")})  # fmt: skip
    print(machine_line())
    size = f"--scale {args.scale}" + (f" --users {args.users}" if args.users else "")
    print(f"synth {size}, seeds {args.seeds}, {t.seconds:.0f} s in all")
    print_table(rows)
    print("\nvalid protocol (held-out big_matrix rows; what chooses defaults), ndcg@10, mean over seeds:")
    names = sorted({m for by in valid.values() for m in by})
    print_table(
        [
            {
                "model": m,
                **{w: sum(by[m]) / len(by[m]) if m in by else float("nan") for w, by in valid.items()},
            }
            for m in names
        ]
    )
    if len(seeds) > 1:
        print("\nvalid protocol, mean [95% t-interval over seeds]:")
        print_table([{"model": m, **{w: _interval(by.get(m)) for w, by in valid.items()}} for m in names])
    if args.baseline and len(seeds) > 1:
        base = args.baseline
        block = {w: {m: [v["mean"] for v in vals] for m, vals in by.items()} for w, by in results.items()}
        for title, by_world in (("valid protocol", valid), ("evaluation block (small protocol)", block)):
            print(f"\n{title}, paired by seed: model - {base}, mean [95% t-interval over seeds]:")
            models = sorted({m for by in by_world.values() for m in by} - {base})
            print_table(
                [
                    {
                        "model": m,
                        **{
                            w: _interval(paired_differences(by.get(m), by.get(base)))
                            for w, by in by_world.items()
                        },
                    }
                    for m in models
                ]
            )


def paired_differences(values: list[float] | None, base: list[float] | None) -> list[float] | None:
    """Per-seed differences ``values - base`` (None unless both have every seed)."""
    if not values or not base or len(values) != len(base):
        return None
    return [a - b for a, b in zip(values, base, strict=True)]


def _interval(values: list[float] | None) -> str:
    """``mean [lo, hi]`` of per-seed values (a t-interval over seeds), or "-" when there are none."""
    if not values:
        return "-"
    m, lo, hi = summarise([{"mean": v} for v in values])
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


if __name__ == "__main__":
    main()
