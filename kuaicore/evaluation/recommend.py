"""`kuaicore recommend`: top-K videos for one user (by dataset id) or for every user, from a run's embeddings.

Videos the user already has in train or valid are excluded. For display, titles come from
``ART/items.parquet`` (tags, first-level category, caption) when build-features wrote one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kuaicore.art import layout
from kuaicore.atomic import atomic_file
from kuaicore.errors import ArtifactError, UsageError
from kuaicore.evaluation.data import read_manifest, seen_items
from kuaicore.kernels.topk import topk_scores
from kuaicore.runs import load_run, resolve_run


@dataclass(frozen=True)
class Recommendations:
    """Top-K lists: row r is user ``user_ids[r]``; ``video_ids``/``scores`` [n, k] (-1 / -inf padding)."""

    run: str
    user_ids: np.ndarray
    video_ids: np.ndarray
    scores: np.ndarray


def recommend(art: Path, run: str | None, k: int, user_id: int | None) -> Recommendations:
    """Top-``k`` unseen videos for ``user_id`` (a dataset id), or for every user when it is None."""
    if k < 1:
        raise UsageError(f"-k: must be >= 1, got {k}")
    manifest = read_manifest(art)
    outputs = load_run(resolve_run(art, run))
    if not outputs.has_embeddings:
        raise ArtifactError(f"run {outputs.name} has no embeddings: it can only be evaluated, not recommend")
    user_ids = np.load(Path(art) / layout.USER_IDS, allow_pickle=False)
    item_ids = np.load(Path(art) / layout.ITEM_IDS, allow_pickle=False)
    if user_id is None:
        users = np.arange(user_ids.size, dtype=np.int32)
    else:
        pos = np.flatnonzero(user_ids == user_id)
        if pos.size == 0:
            raise UsageError(
                f"--user {user_id}: no such user_id in {art} (ids run {user_ids.min()}..{user_ids.max()})"
            )
        users = pos.astype(np.int32)
    seen = seen_items(art, int(manifest["n_users"]), users)
    items, scores = topk_scores(outputs.user_emb, outputs.item_emb, k, *seen, users=users)
    video_ids = np.where(items >= 0, item_ids[np.maximum(items, 0)], -1)
    return Recommendations(outputs.name, user_ids[users], video_ids, scores)


def write_parquet(recs: Recommendations, out: Path) -> int:
    """Write (user_id, rank, video_id, score) rows, padding dropped, atomically; returns the row count."""
    n, k = recs.video_ids.shape
    ok = recs.video_ids.reshape(-1) >= 0
    table = pa.table(
        {
            "user_id": np.repeat(recs.user_ids.astype(np.int64), k)[ok],
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n)[ok],
            "video_id": recs.video_ids.reshape(-1).astype(np.int64)[ok],
            "score": recs.scores.reshape(-1).astype(np.float32)[ok],
        }
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows


def describe_items(art: Path, video_ids: np.ndarray) -> dict[int, dict[str, str]]:
    """Display fields per video id from ART/items.parquet (empty dict when absent)."""
    path = Path(art) / layout.ITEMS
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    wanted = set(int(v) for v in video_ids.reshape(-1) if v >= 0)
    cols = table.to_pydict()
    return {
        int(v): {
            name: ("" if cols[name][i] is None else str(cols[name][i])) for name in cols if name != "video_id"
        }
        for i, v in enumerate(cols["video_id"])
        if int(v) in wanted
    }


def format_user(recs: Recommendations, art: Path, caption_width: int = 40) -> str:
    """A table of one user's recommendations: rank, video_id, score, tags, category, caption (truncated)."""
    info = describe_items(art, recs.video_ids)
    lines = [
        f"top {recs.video_ids.shape[1]} for user {int(recs.user_ids[0])} (run {recs.run}):",
        f"{'rank':>4}  {'video_id':>8}  {'score':>8}  {'tags':<12}  {'category':<10}  caption",
    ]
    for r, (v, s) in enumerate(zip(recs.video_ids[0], recs.scores[0], strict=True), start=1):
        if v < 0:
            break
        d = info.get(int(v), {})
        caption = d.get("caption", "").replace("\r", " ").replace("\n", " ")
        if len(caption) > caption_width:
            caption = caption[: caption_width - 1] + "…"
        lines.append(
            f"{r:>4}  {int(v):>8}  {float(s):>8.4f}  {d.get('tags', ''):<12}  "
            f"{d.get('category', ''):<10}  {caption}"
        )
    return "\n".join(lines)
