"""`kuaicore demo`: the main job end to end, one progress line per stage, and a final summary.

synth (unless --data points at a real KuaiRec folder) -> validate -> build-features -> train (the default
model) -> evaluate -> compare (a fast subset of models) -> report. Everything lands in one folder:
``DIR/data`` (synthetic CSVs), ``DIR/art`` (artifacts and runs), ``DIR/report.html``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kuaicore.config import DemoConfig, EvalConfig, FeatureConfig, SynthConfig, TrainConfig
from kuaicore.progress import log

N_STAGES = 7


def _stage(n: int, title: str, fn: Callable[[], str]) -> None:
    log(f"[{n}/{N_STAGES}] {title} ...")
    start = time.perf_counter()
    detail = fn()
    log(f"[{n}/{N_STAGES}] {title}: {detail} ({time.perf_counter() - start:.1f}s)")


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run every stage; returns the headline numbers and paths for the summary."""
    from kuaicore.comparison import compare
    from kuaicore.data.validate import validate_dataset
    from kuaicore.evaluation.evaluate import evaluate
    from kuaicore.features import build_features
    from kuaicore.report import write_report

    folder = Path(cfg.folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = Path(cfg.data) if cfg.data is not None else folder
    art = folder / "art"
    report = folder / "report.html"
    out: dict[str, Any] = {"folder": str(folder), "art": str(art), "report": str(report)}
    start = time.perf_counter()

    def synth() -> str:
        if cfg.data is not None:
            return f"skipped, using {cfg.data}"
        if (folder / "data").is_dir() and any((folder / "data").iterdir()):
            return f"reusing {folder / 'data'}"
        from kuaicore.data.synth import write_synthetic

        write_synthetic(SynthConfig(out=folder, scale=cfg.scale, seed=cfg.seed))
        return f"--scale {cfg.scale} --seed {cfg.seed} -> {folder / 'data'}"

    def validate() -> str:
        rep = validate_dataset(data).as_dict()
        out["validate"] = rep
        return "ok"

    def features() -> str:
        build_features(FeatureConfig(data=data, out=art, seed=cfg.seed, force=True))
        return f"-> {art}"

    def train() -> str:
        from kuaicore.training.runner import train as train_model

        tcfg = TrainConfig(art=art, seed=cfg.seed)
        if cfg.epochs is not None:
            tcfg = TrainConfig(art=art, seed=cfg.seed, epochs=cfg.epochs)
        summary = train_model(tcfg)
        out["run"] = summary.run_dir.name
        return f"{summary.run_dir.name}, {summary.samples_per_s:,.0f} samples/s"

    def evaluation() -> str:
        result, run_dir = evaluate(EvalConfig(art=art, run=out["run"], seed=cfg.seed))
        out["metrics"] = result
        return f"-> {run_dir / 'metrics.json'}"

    def comparison() -> str:
        from kuaicore.models.registry import demo_names

        models = list(cfg.compare_models if cfg.compare_models is not None else demo_names())
        result = compare(
            art,
            models,
            EvalConfig(art=art, seed=cfg.seed),
            train_options={"epochs": cfg.epochs} if cfg.epochs is not None else None,
        )
        out["compare"] = result
        return f"{len(models)} models -> {art / 'compare.json'}"

    def html() -> str:
        write_report(art, report)
        return f"-> {report}"

    _stage(1, "synth", synth)
    _stage(2, "validate", validate)
    _stage(3, "build-features", features)
    _stage(4, "train", train)
    _stage(5, "evaluate", evaluation)
    _stage(6, "compare", comparison)
    _stage(7, "report", html)
    out["seconds"] = time.perf_counter() - start
    return out


def summary_text(out: dict[str, Any]) -> str:
    """The closing lines: where the report is, and ndcg@10 of the model beside the reference rows."""
    rows = {r["name"]: r for r in out["metrics"]["rows"]}
    model = rows[out["run"]]
    parts = []
    for name in (out["run"], "random", "popularity", "oracle"):
        if name in rows:
            m = rows[name]["metrics"]["ndcg@10"]
            parts.append(f"  {name:<24} ndcg@10 {m['mean']:.4f} [{m['lo']:.4f}, {m['hi']:.4f}]")
    lift = model.get("lift", {}).get("ndcg@10")
    frac = model.get("fraction_of_oracle", {}).get("ndcg@10")
    rel = []
    if lift is not None:
        rel.append(f"{lift:.2f}x random")
    if frac is not None:
        rel.append(f"{frac:.0%} of the oracle")
    best = out["compare"]["rows"][0]
    return "\n".join(
        [
            f"kuaicore demo finished in {out['seconds']:.0f}s",
            f"  report:    {out['report']}",
            f"  artifacts: {out['art']}",
            f"  {out['run']}: {', '.join(rel)}" if rel else f"  {out['run']}",
            *parts,
            f"  best model in the comparison: {best['name']} "
            f"(ndcg@10 {best['metrics']['ndcg@10']['mean']:.4f})",
        ]
    )
