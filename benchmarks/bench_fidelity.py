"""Fidelity of the synthetic twin: every statistic of ../shared/kuairec/REAL_STATS.md beside the twin's value.

    python benchmarks/bench_fidelity.py --scale full            # writes a twin (seed 0, world mixed), ~2 min
    python benchmarks/bench_fidelity.py --data /tmp/kr/data     # an existing folder
    python benchmarks/bench_fidelity.py --scale small --world popular

Prints one row per statistic: the real value, the twin's, the relative gap, the tolerance of its kind and the
verdict (``ok`` / ``MISS``; ``n/a`` for size-dependent statistics below full scale). Tolerances are explained
in :mod:`kuaicore.data.synth.fidelity`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402

from kuaicore.config import SCALES, WORLDS, SynthConfig  # noqa: E402
from kuaicore.data.synth import write_synthetic  # noqa: E402
from kuaicore.data.synth.fidelity import TOLERANCE, measure  # noqa: E402


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=SCALES, default="full")
    ap.add_argument("--world", choices=WORLDS, default=WORLDS[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=None, help="measure this folder instead of writing a twin")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    tmp = None
    try:
        if args.data is None:
            tmp = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
            with Timer() as t:
                write_synthetic(SynthConfig(out=tmp, scale=args.scale, seed=args.seed, world=args.world))
            print(f"synth --scale {args.scale} --world {args.world} --seed {args.seed}: {t.seconds:.1f} s")
            data = tmp / "data"
        else:
            data = args.data
        full = args.data is not None or args.scale == "full"
        with Timer() as t:
            stats = measure(data, threads=args.threads)
        rows = []
        for s in stats:
            gap = (s.twin - s.real) / s.real if s.kind != "order" and s.real else float("nan")
            verdict = ("ok" if s.ok else "MISS") if (s.scale_free or full) else "n/a"
            tol = "holds" if s.kind == "order" else f"+-{TOLERANCE[s.kind]:.0%}"
            rows.append({"statistic": s.name, "real": _fmt(s.real), "twin": _fmt(s.twin),
                         "gap": "" if gap != gap else f"{gap:+.1%}", "tolerance": f"{s.kind} {tol}",
                         "verdict": verdict})  # fmt: skip
        print(machine_line())
        print_table(rows)
        judged = [r for r in rows if r["verdict"] != "n/a"]
        n_ok = sum(r["verdict"] == "ok" for r in judged)
        print(f"\n{n_ok} of {len(judged)} statistics within tolerance; measured in {t.seconds:.1f} s, "
              f"peak RSS {peak_rss_mb():,.0f} MB")  # fmt: skip
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
