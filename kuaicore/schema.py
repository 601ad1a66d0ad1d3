"""The seven KuaiRec 2.0 files: names, columns in order, DuckDB types, and which are required.

This is the single source of truth for the raw layout (see ../shared/kuairec/SCHEMA.md). Readers, the
validator, the synthetic writers and the staging SQL all follow it.
Types are the real ones: ``date`` is an integer in big_matrix but a float (``20200705.0``) in small_matrix;
integer columns that hold empty cells (user_features onehot_feat4, 12-17) stay BIGINT with NULLs.
The interaction files' integer columns (ids, durations in ms, big_matrix's date) are read as 32-bit INTEGER:
every real value fits (SCHEMA.md maxima: play_duration 999,639 ms), and the narrower values make the
build's parse, sort and joins of 17M rows faster; a larger value is an error naming its row. The id maps
and the Parquet artifacts keep 64-bit ids.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sentinels the real files use for "missing" (besides the empty field).
CATEGORY_MISSING_ID = -124
TEXT_MISSING = "UNKNOWN"
N_TAGS = 31  # item_categories.feat ids are 0..30


@dataclass(frozen=True)
class Column:
    """One CSV column: its header name and the DuckDB type it is read as."""

    name: str
    duckdb_type: str
    nullable: bool = False


@dataclass(frozen=True)
class KuaiFile:
    """One KuaiRec CSV file: file name, ordered columns, whether kuaicore needs it."""

    name: str
    columns: tuple[Column, ...]
    required: bool
    # Only '\n' ends a row: the caption file has bare '\r' inside unquoted fields.
    newline: str = "\n"

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> str:
        """The header line exactly as the real file writes it."""
        return ",".join(c.name for c in self.columns)

    def duckdb_columns(self) -> dict[str, str]:
        """The ``columns=`` argument of DuckDB's read_csv (insertion-ordered)."""
        return {c.name: c.duckdb_type for c in self.columns}


def _cols(spec: str, nullable: frozenset[str] = frozenset()) -> tuple[Column, ...]:
    out = []
    for part in spec.split(","):
        name, typ = part.strip().split(":")
        out.append(Column(name, typ, name in nullable))
    return tuple(out)


_INTERACTION = (
    "user_id:INTEGER, video_id:INTEGER, play_duration:INTEGER, video_duration:INTEGER, time:VARCHAR,"
    " date:{date}, timestamp:DOUBLE, watch_ratio:DOUBLE"
)

BIG_MATRIX = KuaiFile("big_matrix", _cols(_INTERACTION.format(date="INTEGER")), required=True)
SMALL_MATRIX = KuaiFile(
    "small_matrix",
    _cols(_INTERACTION.format(date="DOUBLE"), frozenset({"time", "date", "timestamp"})),
    required=True,
)
ITEM_CATEGORIES = KuaiFile("item_categories", _cols("video_id:BIGINT, feat:VARCHAR"), required=True)
SOCIAL_NETWORK = KuaiFile("social_network", _cols("user_id:BIGINT, friend_list:VARCHAR"), required=False)

_ONEHOT_NULLABLE = frozenset({"onehot_feat4", *(f"onehot_feat{i}" for i in range(12, 18))})
USER_FEATURES = KuaiFile(
    "user_features",
    _cols(
        "user_id:BIGINT, user_active_degree:VARCHAR, is_lowactive_period:BIGINT, is_live_streamer:BIGINT,"
        " is_video_author:BIGINT, follow_user_num:BIGINT, follow_user_num_range:VARCHAR,"
        " fans_user_num:BIGINT,"
        " fans_user_num_range:VARCHAR, friend_user_num:BIGINT, friend_user_num_range:VARCHAR,"
        " register_days:BIGINT, register_days_range:VARCHAR, "
        + ", ".join(f"onehot_feat{i}:BIGINT" for i in range(18)),
        _ONEHOT_NULLABLE,
    ),
    required=False,
)

CAPTION_CATEGORY = KuaiFile(
    "kuairec_caption_category",
    _cols(
        "video_id:BIGINT, manual_cover_text:VARCHAR, caption:VARCHAR, topic_tag:VARCHAR,"
        " first_level_category_id:BIGINT, first_level_category_name:VARCHAR,"
        " second_level_category_id:BIGINT, second_level_category_name:VARCHAR,"
        " third_level_category_id:BIGINT, third_level_category_name:VARCHAR",
        frozenset({"caption", "manual_cover_text", "topic_tag"}),
    ),
    required=False,
)

# Daily counters; collect_* are empty on early dates and written as floats ("0.0") later.
_DAILY_COUNTS = [
    "show_cnt",
    "show_user_num",
    "play_cnt",
    "play_user_num",
    "play_duration",
    "complete_play_cnt",
    "complete_play_user_num",
    "valid_play_cnt",
    "valid_play_user_num",
    "long_time_play_cnt",
    "long_time_play_user_num",
    "short_time_play_cnt",
    "short_time_play_user_num",
]
_DAILY_COUNTS_2 = [
    "comment_stay_duration",
    "like_cnt",
    "like_user_num",
    "click_like_cnt",
    "double_click_cnt",
    "cancel_like_cnt",
    "cancel_like_user_num",
    "comment_cnt",
    "comment_user_num",
    "direct_comment_cnt",
    "reply_comment_cnt",
    "delete_comment_cnt",
    "delete_comment_user_num",
    "comment_like_cnt",
    "comment_like_user_num",
    "follow_cnt",
    "follow_user_num",
    "cancel_follow_cnt",
    "cancel_follow_user_num",
    "share_cnt",
    "share_user_num",
    "download_cnt",
    "download_user_num",
    "report_cnt",
    "report_user_num",
    "reduce_similar_cnt",
    "reduce_similar_user_num",
]
_DAILY_COLLECT = ["collect_cnt", "collect_user_num", "cancel_collect_cnt", "cancel_collect_user_num"]
ITEM_DAILY_FEATURES = KuaiFile(
    "item_daily_features",
    _cols(
        "video_id:BIGINT, date:BIGINT, author_id:BIGINT, video_type:VARCHAR, upload_dt:VARCHAR,"
        " upload_type:VARCHAR, visible_status:VARCHAR, video_duration:DOUBLE, video_width:BIGINT,"
        " video_height:BIGINT, music_id:BIGINT, video_tag_id:BIGINT, video_tag_name:VARCHAR, "
        + ", ".join(f"{c}:BIGINT" for c in _DAILY_COUNTS)
        + ", play_progress:DOUBLE, "
        + ", ".join(f"{c}:BIGINT" for c in _DAILY_COUNTS_2)
        + ", "
        + ", ".join(f"{c}:DOUBLE" for c in _DAILY_COLLECT),
        frozenset({"video_duration", *_DAILY_COLLECT}),
    ),
    required=False,
)

FILES: tuple[KuaiFile, ...] = (
    BIG_MATRIX,
    SMALL_MATRIX,
    ITEM_CATEGORIES,
    USER_FEATURES,
    SOCIAL_NETWORK,
    CAPTION_CATEGORY,
    ITEM_DAILY_FEATURES,
)
FILES_BY_NAME: dict[str, KuaiFile] = {f.name: f for f in FILES}
