"""`kuaicore compare`: train what is missing, evaluate every model with one protocol, one table.

Each missing model is trained in a child process through the Python API (kuaicore.training.child), so that
its wall time and peak RSS are its own; runs already in ``ART/runs/`` are reused. The models are compare's
names of the registry (kuaicore.models.registry) or a user's ``FILE.py:NAME``; the training seed may differ
from the evaluation seed. All runs are then evaluated in one pass with the same reference rows, bootstrap seed
and users (kuaicore.evaluation), so a row of the comparison equals what `kuaicore evaluate` prints for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kuaicore.config import EvalConfig, TrainConfig
from kuaicore.errors import KuaiError, UsageError
from kuaicore.progress import log


@dataclass(frozen=True)
class TrainCost:
    """Wall seconds and peak RSS of the child that trained a run (None when the run was reused)."""

    seconds: float | None
    peak_rss_mb: float | None


def parse_models(text: str | None) -> list[str]:
    """The --models list (comma-separated): compare's names of the registry (kuaicore.models.registry:
    ``MODEL`` or ``MODEL-LOSS``) or a user's ``FILE.py:NAME``; UsageError naming an unknown model."""
    from kuaicore.models.registry import compare_names, split_compare_name

    if not text:
        return list(compare_names())
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise UsageError(f"--models: empty list (choose from {', '.join(compare_names())})")
    for name in names:
        split_compare_name(name)
    return names


def train_config(art: Path, model: str, seed: int, options: dict[str, Any] | None = None) -> TrainConfig:
    """The TrainConfig of compare's ``model`` (e.g. ``two-tower-mse``) with the training ``seed``, run under
    the name `kuaicore train` gives it by default, so that runs trained by hand or by the demo are reused."""
    from kuaicore.models.registry import split_compare_name
    from kuaicore.runs import default_run_name

    unknown = sorted(set(options or {}) - set(TrainConfig.__dataclass_fields__) - {"art"})
    if unknown or "art" in (options or {}):
        raise UsageError(f"train_options: {(unknown or ['art'])[0]!r} is not a training option (TrainConfig)")
    base, loss = split_compare_name(model)
    fields = {"loss": loss} if loss is not None else {}
    cfg = TrainConfig(art=Path(art), model=base, seed=seed, **fields, **(options or {}))
    return replace(cfg, run=default_run_name(base, cfg.loss, seed))


def _complete(run_dir: Path) -> bool:
    return (run_dir / "user_emb.npy").is_file() or (run_dir / "eval_scores.npy").is_file()


def train_child(cfg: TrainConfig) -> TrainCost:
    """Train ``cfg`` in a child process through the Python API (kuaicore.training.child, the TrainConfig as
    JSON on its stdin); its wall time and peak RSS."""
    from kuaicore.config import to_jsonable

    cmd = [sys.executable, "-m", "kuaicore.training.child"]
    log(f"  training {cfg.model} -> runs/{cfg.run}")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(to_jsonable(cfg)).encode())
    proc.stdin.close()
    peak_mb = wait_with_peak_rss(proc)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise KuaiError(f"training runs/{cfg.run} failed (exit {proc.returncode}); see its messages above")
    return TrainCost(seconds, peak_mb)


def wait_with_peak_rss(proc: subprocess.Popen, interval: float = 0.05) -> float:
    """Wait for the child ``proc`` (its ``returncode`` is set); return its peak RSS in MB.

    Linux keeps the parent's RSS high-water mark across fork + exec in the child's ``ru_maxrss``, so a big
    parent (the demo) would be charged to every child. The child's own ``VmHWM`` (from /proc, reset by exec)
    is sampled while it runs instead; where /proc is missing, ``ru_maxrss`` is the fallback."""
    from kuaicore.procstatus import status_kib

    pid = proc.pid
    peak_kb = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        peak_kb = max(peak_kb, status_kib("VmHWM", pid) or 0)
        time.sleep(interval)
    if peak_kb == 0:
        peak_kb = usage.ru_maxrss  # KiB on Linux
    proc.returncode = os.waitstatus_to_exitcode(status)
    return peak_kb / 1024.0


def compare(
    art: Path,
    models: list[str],
    cfg: EvalConfig,
    retrain: bool = False,
    train_options: dict[str, Any] | None = None,
    train_seed: int | None = None,
) -> dict[str, Any]:
    """Train missing runs, evaluate all; the result dict of evaluation plus train cost per model row.

    ``train_options`` are TrainConfig fields given to every model trained (e.g. ``{"epochs": 2}``);
    ``train_seed`` seeds the training runs (None: ``cfg.seed``, the evaluation's seed)."""
    from kuaicore.evaluation.data import read_manifest
    from kuaicore.evaluation.evaluate import evaluate_runs
    from kuaicore.runs import load_run, run_lock, runs_dir, write_json_atomic

    read_manifest(art)
    seed = cfg.seed if train_seed is None else train_seed
    configs = {model: train_config(art, model, seed, train_options) for model in models}
    costs: dict[str, TrainCost] = {}
    runs = []
    for model in models:
        run_dir = runs_dir(art) / str(configs[model].run)
        if not retrain and _complete(run_dir):
            log(f"  reusing {run_dir.name}")
            costs[model] = _recorded_cost(run_dir)
        elif not retrain and (same := same_config_run(art, configs[model])) is not None:
            # e.g. the blend's two-tower part, trained with two-tower-mse's very settings
            log(f"  reusing {same.name} as {run_dir.name} (trained with the same settings)")
            with run_lock(art, run_dir.name):
                copy_run(same, run_dir)
            costs[model] = _recorded_cost(run_dir)
        else:
            costs[model] = train_child(configs[model])
        runs.append(load_run(run_dir))
    result = evaluate_runs(art, runs, cfg)
    model_of_run = {str(configs[model].run): model for model in models}
    for row in result["rows"]:
        model = model_of_run.get(row["name"])
        if model is not None:
            row["model"] = model
            row["train_seconds"] = costs[model].seconds
            row["peak_rss_mb"] = costs[model].peak_rss_mb
    key = f"{'ndcg_graded' if cfg.label == 'graded' else 'ndcg'}@{min(cfg.ks)}"
    models_rows = sorted(
        (r for r in result["rows"] if "model" in r), key=lambda r: -r["metrics"][key]["mean"]
    )
    result["rows"] = models_rows + [r for r in result["rows"] if "model" not in r]
    result["sorted_by"] = key
    if cfg.protocol != "valid":
        result["biased_test"] = biased_test(art, runs, cfg, models_rows, key)
    for row in models_rows:  # remember the cost beside the run, so a later compare that reuses it can show it
        if row["train_seconds"] is not None:
            record_cost(runs_dir(art) / row["name"], TrainCost(row["train_seconds"], row["peak_rss_mb"]))
    write_json_atomic(Path(art) / "compare.json", result)
    if cfg.json_path is not None:
        write_json_atomic(Path(cfg.json_path), result)
    return result


def biased_test(
    art: Path, runs: list[Any], cfg: EvalConfig, model_rows: list[dict[str, Any]], key: str
) -> dict[str, Any]:
    """The same models under the exposure-biased ``valid`` protocol (each user's held-out big_matrix rows):
    their ``key`` metric per run, and Kendall's tau between the model orderings of the two protocols (1: the
    biased test orders the models as the unbiased one does; 0: no agreement)."""
    from dataclasses import replace

    from scipy.stats import kendalltau

    from kuaicore.evaluation.evaluate import evaluate_runs

    ranked = [run for run in runs if run.has_embeddings]  # per-cell scorers only score eval.parquet
    if not ranked:
        return {"protocol": "valid", "metric": key, "runs": {}, "kendall_tau": None}
    valid = evaluate_runs(art, ranked, replace(cfg, protocol="valid", bootstrap=0, json_path=None))
    means = {
        r["name"]: r["metrics"][key]["mean"] for r in valid["rows"] if r["name"] in {x.name for x in ranked}
    }
    both = [r["name"] for r in model_rows if r["name"] in means]
    tau = None
    if len(both) >= 2:
        main = [next(r for r in model_rows if r["name"] == n)["metrics"][key]["mean"] for n in both]
        tau = float(kendalltau(main, [means[n] for n in both]).statistic)
    for row in model_rows:
        row["valid_" + key] = means.get(row["name"])
    return {"protocol": "valid", "metric": key, "runs": means, "kendall_tau": tau, "models_compared": both}


# TrainConfig fields that do not change what a run learns: where the ART is read from, the run's own name,
# and whether it was resumed (a resumed run equals the straight one: tests/test_train_resume.py)
_NOT_SETTINGS = ("art", "run", "resume")


def _settings(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if k not in _NOT_SETTINGS}


def same_config_run(art: Path, cfg: TrainConfig) -> Path | None:
    """A complete run of ART, under another name, that was trained with ``cfg``'s settings (the TrainConfig
    recorded in its config.json equals ``cfg``'s but for :data:`_NOT_SETTINGS`, automatic epochs made
    concrete as the loop records them); the first by name, or None. Training is deterministic for a seed,
    so training ``cfg`` again would give the same run."""
    from kuaicore.art.stream import n_rows
    from kuaicore.atomic import leftover_owner
    from kuaicore.config import to_jsonable
    from kuaicore.runs import runs_dir
    from kuaicore.training.budget import resolve_epochs

    runs = runs_dir(art)
    if not runs.is_dir():
        return None
    names = (p for p in runs.iterdir() if p.is_dir() and p.name != cfg.run and leftover_owner(p.name) is None)
    rows = None  # training rows, read once, for the loop's automatic epochs
    for run_dir in sorted(names):
        try:
            recorded = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        train = recorded.get("train") if isinstance(recorded, dict) else None
        if not isinstance(train, dict) or not _complete(run_dir):
            continue
        batch = (recorded.get("info") or {}).get("effective_batch_size")
        wanted = cfg
        if cfg.epochs == 0 and isinstance(batch, int) and train.get("epochs") != 0:  # the loop's auto epochs
            rows = n_rows(Path(art) / "train.parquet") if rows is None else rows
            wanted = resolve_epochs(cfg, rows, batch)
        if _settings(train) == _settings(to_jsonable(wanted)):
            return run_dir
    return None


def copy_run(source: Path, run_dir: Path) -> Path:
    """Copy the run folder ``source`` to ``run_dir`` (atomically: a temporary folder renamed), its
    config.json naming the new run; ``runs/latest`` is left alone."""
    import shutil

    from kuaicore.atomic import atomic_folder

    with atomic_folder(run_dir) as tmp:
        for path in sorted(source.iterdir()):
            if path.is_file():
                shutil.copy2(path, tmp / path.name)
        config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        config["run"] = run_dir.name
        config["train"]["run"] = run_dir.name
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        (tmp / "config.json").write_text(text, encoding="utf-8")
    return run_dir


def record_cost(run_dir: Path, cost: TrainCost) -> None:
    """Keep ``cost`` beside the run (``train_cost.json``), for a later compare that reuses the run."""
    from kuaicore.atomic import write_json_atomic

    write_json_atomic(run_dir / "train_cost.json", {"seconds": cost.seconds, "peak_rss_mb": cost.peak_rss_mb})


def _recorded_cost(run_dir: Path) -> TrainCost:

    path = run_dir / "train_cost.json"
    if not path.is_file():
        return TrainCost(None, None)
    data = json.loads(path.read_text(encoding="utf-8"))
    return TrainCost(data.get("seconds"), data.get("peak_rss_mb"))


def format_compare(result: dict[str, Any], k: int, headline: str = "ndcg") -> str:
    """The comparison table at cut-off k: metrics, CI, lift, fraction of oracle, train time, peak RSS."""
    from kuaicore.evaluation.summary import format_table

    table = format_table(result, k, headline).splitlines()
    biased = result.get("biased_test")
    valid_key = f"valid_{headline}@{k}"
    show_valid = biased is not None and biased.get("metric") == f"{headline}@{k}"
    extra_head = ["train s", "peak RSS MB", *([f"{headline}@{k} valid"] if show_valid else [])]
    widths = [7, 11, *([len(extra_head[-1])] if show_valid else [])]
    out = [
        table[0] + "  " + "  ".join(h.rjust(w) for h, w in zip(extra_head, widths, strict=True)),
        table[1] + "  " + "  ".join("-" * w for w in widths),
    ]
    for line, row in zip(table[2:], result["rows"], strict=True):
        secs, rss = row.get("train_seconds"), row.get("peak_rss_mb")
        cells = [f"{secs:.1f}" if secs is not None else "-", f"{rss:.0f}" if rss is not None else "-"]
        if show_valid:
            value = row.get(valid_key)
            cells.append(f"{value:.4f}" if value is not None else "-")
        out.append(line + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    if show_valid and biased.get("kendall_tau") is not None:
        n = len(biased["models_compared"])
        out.append(
            f"\nKendall tau between the model orderings of the {result['protocol']} protocol and the"
            f" exposure-biased valid protocol ({headline}@{k}, {n} models): {biased['kendall_tau']:+.3f}"
            " (1 = the same order)"
        )
    return "\n".join(out)
