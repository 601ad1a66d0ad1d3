"""`build_features`: validate DATA, run sql/*.sql under DuckDB limits, write ART atomically + manifest."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import layout
from kuaicore.atomic import atomic_folder
from kuaicore.config import FeatureConfig, to_jsonable
from kuaicore.data.paths import resolve_data_dir
from kuaicore.errors import InternalError, UsageError
from kuaicore.failures import disk_full_error, free_bytes, human_bytes, is_disk_full
from kuaicore.features import artifacts
from kuaicore.features.assemble import item_block, user_block
from kuaicore.features.matrices import standardize
from kuaicore.features.runner import open_database, run_sql_files
from kuaicore.features.sqlfiles import load_sql_files
from kuaicore.options import SEED_MAX, finite, memory_limit_bytes
from kuaicore.progress import log
from kuaicore.schema import FILES

PARQUETS = (layout.TRAIN, layout.VALID, layout.EVAL, layout.ITEMS)
LABEL_RULES = ("wr", "debiased")


def check_config(config: FeatureConfig) -> None:
    """Reject options out of range with a message naming the option."""
    if not 0.0 <= config.valid_fraction < 1.0:
        raise UsageError(f"--valid-fraction {config.valid_fraction}: must be in [0, 1)")
    if not (finite(config.watch_ratio_cap) and config.watch_ratio_cap > 0):
        raise UsageError(f"--watch-ratio-cap {config.watch_ratio_cap}: must be a finite number > 0")
    if not 0 <= config.seed <= SEED_MAX:
        raise UsageError(f"--seed {config.seed}: must be in 0..{SEED_MAX}")
    memory_limit_bytes(config.memory_limit)
    if config.label_rule not in LABEL_RULES:
        raise UsageError(f"--label-rule {config.label_rule}: must be one of {', '.join(LABEL_RULES)}")
    if not 0.0 < config.debiased_percentile < 1.0:
        raise UsageError(f"--debiased-percentile {config.debiased_percentile}: must be in (0, 1)")
    if config.duration_buckets < 1:
        raise UsageError(f"--duration-buckets {config.duration_buckets}: must be >= 1")
    if config.threads is not None and config.threads < 1:
        raise UsageError(f"--threads {config.threads}: must be >= 1")
    if config.row_group_size < 1:
        raise UsageError(f"row_group_size {config.row_group_size}: must be >= 1")


def source_files(data_dir: Path) -> dict[str, Path | None]:
    """Each KuaiRec file's path in ``data_dir`` by name, None where it is absent."""
    return {f.name: (data_dir / f.filename if (data_dir / f.filename).is_file() else None) for f in FILES}


def sql_values(config: FeatureConfig) -> dict[str, Any]:
    """The values the SQL files bind (each file takes the ones its ``-- params:`` header names; ``out``, the
    file a COPY writes, is added per file)."""
    return {
        "seed": int(config.seed),
        "cap": float(config.watch_ratio_cap),
        "like_threshold": float(config.like_threshold),
        "valid_fraction": float(config.valid_fraction),
        "percentile": float(config.debiased_percentile),
        "buckets": int(config.duration_buckets),
        "prior": float(config.taste_prior),
        "label_rule": config.label_rule,
        "row_group_size": int(config.row_group_size),
    }


def _validate(data: Path, data_dir: Path, full: bool, memory_limit: str, threads: int | None) -> None:
    """Files, headers and line ends always (no scan); the full `kuaicore validate` scan when ``full``.

    Without the scan, a malformed value still stops the build: the staging queries read every column with
    its type, and their errors name the file and row as validate's do."""
    from kuaicore.data.validate import check_structure, validate_dataset

    if full:
        validate_dataset(data, memory_limit=memory_limit, threads=threads)
    else:
        check_structure(data_dir)


def _fetch(con: Any, table: str) -> dict[str, np.ndarray]:
    """A small result table (a fixed name of ours, never user input) as {column: numpy array}: NULL becomes
    NaN in a numeric column (ints turn float) and None in any other. DuckDB's own NumPy conversion, not
    Arrow's: Arrow's to_numpy imports pandas, half a second of every build."""
    return {name: _unmasked(col) for name, col in con.sql(f"SELECT * FROM {table}").fetchnumpy().items()}


def _unmasked(col: np.ndarray) -> np.ndarray:
    if not isinstance(col, np.ma.MaskedArray):
        return col
    if not np.ma.is_masked(col):
        return np.asarray(col.data)
    numeric = col.dtype.kind in "iuf"
    out = np.array(col.data, dtype=np.float64 if numeric else object)
    out[np.ma.getmaskarray(col)] = np.nan if numeric else None
    return out


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in ("kuaicore", "duckdb", "jax", "numba", "numpy", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# Disk the build needs beside ART, as a multiple of the input CSVs' size: the DuckDB database, its spill
# files and the artifacts together peaked at 0.91x the CSVs at small scale (79 MB for 87 MB of CSV); at full
# scale 0.46x (738 MB for 1.59 GB) since int_interactions is a view (0.64x before; BENCHMARKS.md, issue 17).
DISK_PER_INPUT_BYTE = 1.0


def disk_needed(sources: dict[str, Path | None]) -> int:
    """Bytes the build needs free on ART's file system (see :data:`DISK_PER_INPUT_BYTE`)."""
    return int(DISK_PER_INPUT_BYTE * sum(p.stat().st_size for p in sources.values() if p is not None))


def build_features(config: FeatureConfig) -> Path:
    """Build ART from DATA as described in docs/ARTIFACTS.md; returns the ART path.

    One build per ART at a time (a second exits 2 at once); what killed builds left is removed first;
    a full disk, Ctrl-C or SIGTERM leave nothing behind."""
    check_config(config)
    out = Path(config.out)
    data_dir = resolve_data_dir(Path(config.data))
    artifacts.check_target(out, config.force, data_dir)
    sources = source_files(data_dir)
    need = disk_needed(sources)
    with artifacts.target_lock(out):
        free = free_bytes(out.parent)
        if free is not None and free < need:
            raise disk_full_error(OSError(28, "No space left on device", str(out.parent)), need, free=free)
        try:
            return _build(config, out, data_dir, sources)
        except Exception as err:  # a DuckDB IO error may already be wrapped in an ArtifactError
            if is_disk_full(err):
                raise disk_full_error(err, need, out.parent) from None
            raise


def _build(config: FeatureConfig, out: Path, data_dir: Path, sources: dict[str, Path | None]) -> Path:
    """The build itself, under the target's lock (see :func:`build_features`)."""
    _validate(Path(config.data), data_dir, config.validate, config.memory_limit, config.threads)
    started = time.perf_counter()
    log(f"build-features: {data_dir} -> {out} (memory_limit {config.memory_limit}, threads {config.threads})")
    with atomic_folder(out) as tmp:  # removed on any failure; swapped in whole at the end
        work = tmp / "_work"
        con = open_database(work, config.memory_limit, config.threads)
        try:
            values = sql_values(config)
            files = load_sql_files()
            outputs = {f.name: f.relation for f in files if f.relation.endswith(".parquet")}
            stats = []
            for sql in files:
                vals = dict(values, out=str(tmp / sql.relation))
                stats += run_sql_files(con, [sql], vals, sources, work)
            tables = {name: _fetch(con, name) for name in FEATURE_TABLES}
            counts = {k: int(v[0]) for k, v in _fetch(con, "int_row_counts").items()}
            rule = {k: v[0] for k, v in _fetch(con, "int_debias_rule").items()}
        finally:
            con.close()
        # the scratch database (~0.7 GB at full scale) is unlinked while the matrices are assembled and the
        # files hashed: the last single-core stretch of the build
        with _removed_in_background(work):
            if counts.get("big_rows_dropped_eval_pairs"):
                log(
                    f"warning: dropped {counts['big_rows_dropped_eval_pairs']:,} big_matrix rows whose"
                    " (user_id, video_id) pair is also in small_matrix (the real files share none)"
                )
            manifest = _assemble(tables, tmp, config)
            files = artifacts.file_entries(tmp, [*PARQUETS, *manifest.pop("_npy_files")])
        if set(outputs.values()) != set(PARQUETS):
            raise InternalError(f"sql/ writes {sorted(outputs.values())}, expected {sorted(PARQUETS)}")
        manifest.update(
            {
                "format_version": 1,
                "config": to_jsonable(config),
                "sources": {
                    f.name: (
                        {"path": str(p.resolve()), "bytes": p.stat().st_size, "mtime": p.stat().st_mtime}
                        if (p := sources[f.name]) is not None
                        else None
                    )
                    for f in FILES
                },
                "optional_files_missing": [f.name for f in FILES if sources[f.name] is None],
                "row_counts": counts,
                "watch_ratio_cap": float(config.watch_ratio_cap),
                "like_threshold": float(config.like_threshold),
                "label_rule": {
                    "label": config.label_rule,
                    "wr": f"watch_ratio > {config.like_threshold}",
                    "debiased": {
                        "rule": "watch_ratio > percentile of training views in the video_duration bucket",
                        "percentile": float(config.debiased_percentile),
                        "buckets": int(config.duration_buckets),
                        "bounds_ms": [float(b) for b in rule["bounds"]],
                        "thresholds": {
                            str(b): float(t)
                            for b, t in enumerate(rule["thresholds"])
                            if t is not None and t == t
                        },
                        "training_rows_per_bucket": [int(n) for n in rule["rows_per_bucket"]],
                    },
                },
                "target": f"min(watch_ratio, {config.watch_ratio_cap})",
                "split": {
                    "valid_fraction": float(config.valid_fraction),
                    "rule": "per user, the last floor(valid_fraction * n_rows) deduplicated big_matrix rows "
                    "by (timestamp, video_id, play_duration, video_duration, watch_ratio, date) are "
                    "validation; rows whose pair is in small_matrix are then dropped from both",
                },
                "seeds": {"shuffle": int(config.seed)},
                "versions": _versions(),
                "queries": [
                    {"name": s.name, "output": s.relation, "rows": s.rows, "seconds": round(s.seconds, 4)}
                    for s in stats
                ],
                "seconds_total": round(time.perf_counter() - started, 3),
                "files": files,
            }
        )
        artifacts.write_manifest(tmp, manifest)
        artifacts.check_target(out, config.force, data_dir)  # again, just before the swap
    log(f"build-features: wrote {out} in {time.perf_counter() - started:.1f}s ({human_bytes(_size(out))})")
    return out


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


@contextmanager
def _removed_in_background(folder: Path) -> Iterator[None]:
    """Remove ``folder`` in a thread while the block runs (unlinking releases the GIL); wait for it at the
    end, also when the block raises, so that nothing of it is left when the ART is swapped in or dropped."""
    worker = threading.Thread(target=shutil.rmtree, args=(folder, True), name="rm-scratch")
    worker.start()
    try:
        yield
    finally:
        worker.join()


FEATURE_TABLES = (
    "int_users",
    "int_items",
    "feat_item_tags",
    "feat_item_category",
    "feat_item_daily",
    "feat_item_duration",
    "feat_item_train_stats",
    "feat_item_author_music",
    "feat_user_profile",
    "feat_user_taste_tag",
    "feat_user_taste_category",
    "feat_user_activity",
)
"""The small tables the feature matrices are assembled from, fetched before the database is closed."""


def _assemble(tables: dict[str, dict[str, np.ndarray]], tmp: Path, config: FeatureConfig) -> dict[str, Any]:
    """Build and save the .npy arrays from the fetched :data:`FEATURE_TABLES`; return the features part of
    the manifest."""
    users, items = tables["int_users"], tables["int_items"]
    n_users, n_items = len(users["user_id"]), len(items["video_id"])
    iblock, inotes = item_block(
        n_items,
        tables["feat_item_tags"],
        tables["feat_item_category"],
        tables["feat_item_daily"],
        tables["feat_item_duration"],
        tables["feat_item_train_stats"],
        config.min_category_videos,
    )
    category = tables["feat_item_category"]
    cat1_vocab = sorted({int(c) for c in category["cat1"].tolist() if c is not None and c == c})
    ublock, user_cat, cat_info, unotes = user_block(
        n_users,
        tables["feat_user_profile"],
        tables["feat_user_taste_tag"],
        tables["feat_user_taste_category"],
        cat1_vocab,
        tables["feat_user_activity"],
        config.max_onehot_values,
    )
    x_items, item_stats = standardize(iblock)
    x_users, user_stats = standardize(ublock)
    am = tables["feat_item_author_music"]
    train = tables["feat_item_train_stats"]
    arrays = {
        layout.ITEM_FEATURES: x_items,
        layout.USER_FEATURES: x_users,
        layout.USER_IDS: users["user_id"].astype(np.int64),
        layout.ITEM_IDS: items["video_id"].astype(np.int64),
        layout.ITEM_AUTHOR: am["author_idx"].astype(np.int32),
        layout.ITEM_MUSIC: am["music_idx"].astype(np.int32),
        layout.USER_CATEGORICAL: user_cat,
        layout.ITEM_TRAIN_COUNTS: train["n_train"].astype(np.int64),
    }
    for name, arr in arrays.items():
        artifacts.save_npy(tmp, name, arr)
    return {
        "_npy_files": list(arrays),
        "n_users": n_users,
        "n_items": n_items,
        "user_feature_names": ublock.names,
        "item_feature_names": iblock.names,
        "user_feature_stats": user_stats,
        "item_feature_stats": item_stats,
        "user_categorical": cat_info,
        "n_authors": int(am["author_idx"].max(initial=0)) + 1,
        "n_music": int(am["music_idx"].max(initial=0)) + 1,
        "omitted_features": {**inotes, **unotes},
    }
