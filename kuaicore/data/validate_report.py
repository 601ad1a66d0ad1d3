"""The result of ``kuaicore validate``: per-file summaries, small/big overlap, warnings; table and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileSummary:
    """What validate found in one file: interaction files fill users..watch_ratio, others distinct_ids."""

    file: str
    present: bool
    required: bool
    rows: int | None = None
    users: int | None = None
    videos: int | None = None
    duplicate_rows: int | None = None
    rows_with_empty_time: int | None = None
    watch_ratio: dict[str, float | None] | None = None
    distinct_ids: int | None = None

    def as_dict(self) -> dict:
        """JSON-safe dict; keys that do not apply to this file are left out."""
        out = {"file": self.file, "present": self.present, "required": self.required}
        for key in ("rows", "users", "videos", "duplicate_rows", "rows_with_empty_time", "distinct_ids"):
            value = getattr(self, key)
            if value is not None:
                out[key] = int(value)
        if self.watch_ratio is not None:
            out["watch_ratio"] = {k: (None if v is None else float(v)) for k, v in self.watch_ratio.items()}
        return out


@dataclass
class ValidationReport:
    """The whole validation: the data folder, one summary per KuaiRec file, the overlap, warnings."""

    data_dir: str
    files: list[FileSummary] = field(default_factory=list)
    overlap_pairs: int | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Record a warning (an absent optional file, ...)."""
        self.warnings.append(message)

    def as_dict(self) -> dict:
        """JSON-safe dict of the report (``ok`` is always true: errors raise instead of reporting)."""
        return {
            "ok": True,
            "data_dir": self.data_dir,
            "files": [f.as_dict() for f in self.files],
            "small_big_overlap_pairs": self.overlap_pairs,
            "warnings": list(self.warnings),
        }

    def format_table(self) -> str:
        """A readable, aligned text table of the report."""
        header = ["file", "rows", "users", "videos", "dup rows", "empty time", "watch_ratio min/median/max"]
        body = [_row(f) for f in self.files]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

        def fmt(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:-1], widths[1:-1], strict=True)]
            return "  ".join([first, *rest, cells[-1]]).rstrip()

        lines = [f"KuaiRec data: {self.data_dir}", fmt(header), fmt(["-" * w for w in widths])]
        lines += [fmt(r) for r in body]
        if self.overlap_pairs is not None:
            lines.append(f"small/big overlap: {self.overlap_pairs:,} (user_id, video_id) pairs")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append("ok")
        return "\n".join(lines)


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _row(f: FileSummary) -> list[str]:
    if not f.present:
        return [f.file, "absent", "", "", "", "", "(optional)"]
    ratio = ""
    if f.watch_ratio is not None:
        ratio = " / ".join(_g(f.watch_ratio[k]) for k in ("min", "median", "max"))
    users = f.users
    videos = f.videos
    if f.distinct_ids is not None:  # user_features/social_network key on users, the others on videos
        if f.file in ("user_features.csv", "social_network.csv"):
            users = f.distinct_ids
        else:
            videos = f.distinct_ids
    return [
        f.file,
        _n(f.rows),
        _n(users),
        _n(videos),
        _n(f.duplicate_rows),
        _n(f.rows_with_empty_time),
        ratio,
    ]
