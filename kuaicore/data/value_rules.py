"""One rule for the values of the KuaiRec files, per file and column, enforced where the data is read.

Both readers of the raw files enforce it with the same SQL, in the pass that already reads each file:
``kuaicore validate`` (its statistics pass) and ``kuaicore build-features`` (the staging queries
``sql/1*_stg_*.sql``, with or without ``--validate``). Each file gets a DuckDB macro
``check_values_<file>(row)`` (:func:`install`) that is TRUE for a good row and raises DuckDB's ``error()``
for a bad one; the staging queries and validate filter their read with it (``WHERE check_values_x(r)``).
The row is passed whole and hashed, so every column is converted (type- and UTF-8-checked), whichever
columns the query keeps.

Errors (``DataError``, exit 2, one line naming the file, row, line and column; nothing is written):
- a value that does not parse as its column's type, a row with too few or too many fields, an unclosed
  quote (DuckDB's strict read, described by :mod:`kuaicore.data.csv_errors`);
- an empty cell in a required column (``force_not_null``: see :func:`kuaicore.data.readers.not_null_columns`;
  big_matrix: every column, time included; small_matrix: every column but time/date/timestamp, which are
  empty together on 3.9% of the real rows and kept; item_daily_features: only its keys are required);
- the per-column rules of :func:`rules_for`: non-finite numbers (``nan``, ``inf``) anywhere, and numbers
  beyond the float32 range (3.4e38, the artifacts' type); a negative watch_ratio or timestamp; a negative
  play_duration; a video_duration <= 0; negative ids; an empty text cell in a required column; malformed
  list cells (an unclosed ``[1, 2``, non-integers); tag ids outside 0..30; friend ids that are negative or
  beyond 64 bits; item_daily_features' collect_* counts outside 0..1e9 and play_progress outside 0..1e5
  (the features sum them exactly, as DECIMAL);
- a key on two rows of a file with one row per key (:data:`UNIQUE_KEYS`: user_features, item_categories,
  social_network and the caption file by their first column, item_daily_features by (video_id, date));
- text that is not UTF-8; a header-only file (a header and no data rows), required or optional (an absent
  optional file is only a warning).

Counted and dropped rows (manifest ``row_counts``; validate's report): big_matrix rows equal in every column
to an earlier row (exact duplicates: 7.7% of the real file), and big_matrix rows whose (user_id, video_id)
pair is also in small_matrix (the real files share none; build-features drops them after the split and
validate warns). No other row is dropped: a row that breaks a rule stops both commands.

DuckDB's ``error()`` cannot know the row's line, so its text carries the row's leading fields as written
(:data:`KEYS`); :mod:`kuaicore.data.value_errors` turns it into the one-line ``DataError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuaicore.data.lists import INT_LIST_PATTERN, TAG_LIST_PATTERN
from kuaicore.data.readers import not_null_columns, quote_ident
from kuaicore.schema import BIG_MATRIX, FILES, N_TAGS, SMALL_MATRIX, KuaiFile

MARK = "kuaicore value rule"
"""Start of the text of every ``error()`` a rule raises (fields after it are separated by ``SEP``)."""
SEP = "\x1f"  # ASCII unit separator: never in a KuaiRec field that a key or a rule message holds

_INT64_MAX = 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38
"""Every number of a DOUBLE column must be within the 32-bit float range: the artifacts store float32."""
FLOAT32_WHAT = "is beyond the float32 range (3.4e38)"


@dataclass(frozen=True)
class ValueRule:
    """One rule: ``bad`` is a SQL condition on the cell ``{v}`` (never NULL there), TRUE for an error;
    ``what`` completes the message "``column 'value' what``" (``show_value=False``: "``column what``")."""

    column: str
    bad: str
    what: str
    show_value: bool = True


def _list_items_outside(lo: int, hi: int) -> str:
    """SQL: TRUE if a well-formed integer list ``{v}`` (``[1, 2]``) holds an item outside lo..hi."""
    items = "string_split(substr({v}, 2, length({v}) - 2), ',')"
    inside = f"coalesce(TRY_CAST(trim(x) AS BIGINT) BETWEEN {int(lo)} AND {int(hi)}, false)"
    return f"({{v}} <> '[]' AND NOT list_bool_and(list_transform({items}, lambda x: {inside})))"


def _interaction_rules() -> dict[str, tuple[ValueRule, ...]]:
    finite_nonneg = "(NOT isfinite({v}) OR {v} < 0)"
    return {
        "user_id": (ValueRule("user_id", "{v} < 0", "is negative"),),
        "video_id": (ValueRule("video_id", "{v} < 0", "is negative"),),
        "play_duration": (ValueRule("play_duration", "{v} < 0", "is negative"),),
        "video_duration": (ValueRule("video_duration", "{v} <= 0", "is not > 0"),),
        "timestamp": (ValueRule("timestamp", finite_nonneg, "is not a finite number >= 0"),),
        "watch_ratio": (ValueRule("watch_ratio", finite_nonneg, "is not a finite number >= 0"),),
    }


def _finite_within(column: str, lo: float, hi: float) -> tuple[ValueRule, ...]:
    text = f"{lo:g}.." + f"{hi:.0e}".replace("e+0", "e").replace("e+", "e")  # 0..1e9
    return (
        ValueRule(column, "NOT isfinite({v})", "is not a finite number"),
        ValueRule(column, f"NOT ({{v}} BETWEEN {float(lo)!r} AND {float(hi)!r})", f"is outside {text}"),
    )


def _sql_text(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


_EXPLICIT: dict[str, dict[str, tuple[ValueRule, ...]]] = {
    "big_matrix": _interaction_rules(),
    "small_matrix": _interaction_rules(),
    "item_categories": {
        "video_id": (ValueRule("video_id", "{v} < 0", "is negative"),),
        "feat": (
            ValueRule(
                "feat",
                f"NOT regexp_full_match({{v}}, {_sql_text(INT_LIST_PATTERN)})",
                "is not a list like [1, 2]",
            ),
            ValueRule("feat", _list_items_outside(0, N_TAGS - 1), f"holds a tag id outside 0..{N_TAGS - 1}"),
        ),
    },
    "social_network": {
        "user_id": (ValueRule("user_id", "{v} < 0", "is negative"),),
        "friend_list": (
            ValueRule(
                "friend_list",
                f"NOT regexp_full_match({{v}}, {_sql_text(INT_LIST_PATTERN)})",
                "is not a list like [1, 2]",
            ),
            ValueRule(
                "friend_list",
                _list_items_outside(0, _INT64_MAX),
                "holds a user id that is negative or beyond 64 bits",
            ),
        ),
    },
    "user_features": {"user_id": (ValueRule("user_id", "{v} < 0", "is negative"),)},
    "kuairec_caption_category": {
        "video_id": (ValueRule("video_id", "{v} < 0", "is negative"),),
        "topic_tag": (
            ValueRule(
                "topic_tag",
                f"NOT regexp_full_match({{v}}, {_sql_text(TAG_LIST_PATTERN)})",
                "is not a list like [a,b]",
            ),
        ),
    },
    "item_daily_features": {
        "video_id": (ValueRule("video_id", "{v} < 0", "is negative"),),
        # feat_item_daily sums and averages these exactly, as DECIMAL(18, 3) and DECIMAL(18, 12): bounded so
        # that a video's total fits (real values: counts in the thousands, progress a fraction near 1)
        **{
            c: _finite_within(c, 0, 1e9)
            for c in ("collect_cnt", "collect_user_num", "cancel_collect_cnt", "cancel_collect_user_num")
        },  # fmt: skip
        "play_progress": _finite_within("play_progress", 0, 1e5),
    },
}

KEYS: dict[str, tuple[str, ...]] = {
    BIG_MATRIX.name: ("user_id", "video_id", "play_duration", "video_duration", "time"),
    SMALL_MATRIX.name: ("user_id", "video_id", "play_duration", "video_duration", "time"),
    "item_daily_features": ("video_id", "date"),
}
"""The leading columns that locate a row in the file (default: the first column alone)."""


def keys_for(kfile: KuaiFile) -> tuple[str, ...]:
    """The leading columns written into a rule's error to find the row's line."""
    return KEYS.get(kfile.name, (kfile.columns[0].name,))


def rules_for(kfile: KuaiFile) -> tuple[ValueRule, ...]:
    """Every rule of ``kfile``, in column order: an empty required text cell; then the column's own rules
    (:data:`_EXPLICIT`), or for a DOUBLE column without its own rules, "is not a finite number"."""
    required = set(not_null_columns(kfile))
    explicit = _EXPLICIT.get(kfile.name, {})
    out: list[ValueRule] = []
    for col in kfile.columns:
        if col.duckdb_type == "VARCHAR" and col.name in required:
            out.append(ValueRule(col.name, "{v} = ''", "is empty", show_value=False))
        if col.name in explicit:
            out.extend(explicit[col.name])
        elif col.duckdb_type == "DOUBLE":
            out.append(ValueRule(col.name, "NOT isfinite({v})", "is not a finite number"))
        if col.duckdb_type == "DOUBLE":
            out.append(ValueRule(col.name, f"abs({{v}}) > {FLOAT32_MAX!r}", FLOAT32_WHAT))
    return tuple(out)


def macro_name(kfile: KuaiFile) -> str:
    """The name of ``kfile``'s check macro, as the staging queries call it."""
    return f"check_values_{kfile.name}"


def macro_sql(kfile: KuaiFile) -> str:
    """``CREATE OR REPLACE TEMP MACRO check_values_<file>(r)``: TRUE, or ``error()`` at the first broken rule.

    Built from the schema and :func:`rules_for` only (no user input). DuckDB's CASE tests a row's later
    conditions only while the earlier ones are false, so a rule may assume the ones before it hold. A good
    row gives ``hash(r) IS NOT NULL`` (always TRUE), which makes the read convert every column of the file.
    """
    key = " || ',' || ".join(f"coalesce(CAST(r.{quote_ident(k)} AS VARCHAR), '')" for k in keys_for(kfile))
    whens = []
    for rule in rules_for(kfile):
        cell = f"r.{quote_ident(rule.column)}"
        head = SEP.join([MARK, kfile.name, rule.column, rule.what, "1" if rule.show_value else "0"])
        text = f"{_sql_text(head + SEP)} || {key} || ',' || {_sql_text(SEP)} || CAST({cell} AS VARCHAR)"
        whens.append(f"WHEN {rule.bad.format(v=cell)} THEN error({text})")
    # hash(r) references every column, so DuckDB converts (type- and UTF-8-checks) each one, as validate's
    # GROUP BY over every column does; a column only r.x refers to would be the only one read.
    every = "hash(r) IS NOT NULL"
    body = f"CASE {' '.join(whens)} ELSE {every} END" if whens else every
    return f"CREATE OR REPLACE TEMP MACRO {macro_name(kfile)}(r) AS {body}"


def install(con: Any, files: tuple[KuaiFile, ...] = FILES) -> None:
    """Create the check macros of ``files`` on the DuckDB connection ``con`` (temporary: not stored)."""
    for kfile in files:
        con.execute(macro_sql(kfile))


UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "item_categories": ("video_id",),
    "user_features": ("user_id",),
    "social_network": ("user_id",),
    "kuairec_caption_category": ("video_id",),
    "item_daily_features": ("video_id", "date"),
}
"""Files with one row per key (leading columns): a second row with the same key is an error."""
