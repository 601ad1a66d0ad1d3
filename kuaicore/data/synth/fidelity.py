"""How close a KuaiRec folder (the synthetic twin, usually) is to the published statistics of the real files.

:func:`measure` reads the seven CSVs with DuckDB and returns one :class:`Stat` per row of
``../shared/kuairec/REAL_STATS.md`` that a folder can reproduce, with the real value, the folder's value and
a tolerance. Tolerances, and why:

- ``share``/``quantile``/``mean`` (a share of rows, a quantile, a mean): +-10% relative. The twin should
  reproduce what shapes models and costs; 10% is about the spread between the public sources themselves
  (e.g. small-matrix share >= 0.8: 47.4% vs 47.44%, p50 0.769 vs 0.766 after a cap).
- ``tail`` (p99, share > 5, a per-bucket extreme): +-25%: a few thousand rows decide them.
- ``max`` (one user's, one video's or one pair's count): +-35%: a single draw of a heavy tail; the real
  values themselves vary between the files' versions (27,615 raw rows vs 24,173 de-duplicated for one video).
- ``order``: a true/false property (e.g. busiest days Sat > Sun > Fri > Mon) that must hold.

``scale_free`` marks statistics that do not depend on the number of users and videos; the others (counts,
per-video and per-user sizes, maxima) are compared at ``--scale full`` only. A test checks the scale-free ones
at small scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TOLERANCE = {"share": 0.10, "quantile": 0.10, "mean": 0.10, "tail": 0.25, "max": 0.35}
CUT_DATE = 20200830


@dataclass(frozen=True)
class Stat:
    """One statistic: its name, the real value, the folder's value, how it is judged."""

    name: str
    real: float
    twin: float
    kind: str  # share | quantile | mean | tail | max | order
    scale_free: bool

    @property
    def ok(self) -> bool:
        """Within tolerance (relative to the real value), or the order property holds (twin == 1)."""
        if self.kind == "order":
            return self.twin == 1.0
        return abs(self.twin - self.real) <= TOLERANCE[self.kind] * abs(self.real)


_INTERACTIONS_SQL = (
    "SELECT user_id, video_id, play_duration, video_duration, timestamp, date, watch_ratio "
    "FROM read_csv($path, header=true)"
)


# (name, real value, kind, scale_free, SQL over the prepared tables returning one number)
_QUERIES: tuple[tuple[str, float, str, bool, str], ...] = (
    ("big rows", 12_530_806, "share", False, "SELECT count(*) FROM big"),
    ("big density (rows / cells)", 0.1628, "share", True,
     "SELECT count(*) / (count(DISTINCT user_id) * (SELECT count(*) FROM cats)) FROM big"),
    ("unique-pair density", 0.1338, "share", True,
     "SELECT (SELECT count(*) FROM pairs) / (count(DISTINCT user_id) * (SELECT count(*) FROM cats)) "
     "FROM big"),
    ("exact duplicate share of rows", 965_819 / 12_530_806, "share", True,
     "SELECT 1 - (SELECT count(*) FROM dedup) / count(*) FROM big"),
    ("re-watch share of de-duplicated rows", 0.109, "share", True,
     "SELECT 1 - (SELECT count(*) FROM pairs) / count(*) FROM dedup"),
    ("most rows for one pair", 2224, "max", False, "SELECT max(n) FROM pairs"),
    ("watch_ratio mean", 0.9445, "mean", True, "SELECT avg(watch_ratio) FROM big"),
    ("watch_ratio p25", 0.315, "quantile", True, "SELECT quantile_cont(watch_ratio, 0.25) FROM big"),
    ("watch_ratio p50", 0.723, "quantile", True, "SELECT quantile_cont(watch_ratio, 0.5) FROM big"),
    ("watch_ratio p75", 1.178, "quantile", True, "SELECT quantile_cont(watch_ratio, 0.75) FROM big"),
    ("watch_ratio p99", 4.79, "tail", True, "SELECT quantile_cont(watch_ratio, 0.99) FROM big"),
    ("share watch_ratio >= 0.8", 0.4535, "share", True, "SELECT avg((watch_ratio >= 0.8)::INT) FROM big"),
    ("share watch_ratio >= 1", 0.3382, "share", True, "SELECT avg((watch_ratio >= 1)::INT) FROM big"),
    ("share watch_ratio >= 2", 0.075, "share", True, "SELECT avg((watch_ratio >= 2)::INT) FROM big"),
    ("share watch_ratio < 0.1", 0.089, "share", True, "SELECT avg((watch_ratio < 0.1)::INT) FROM big"),
    ("share watch_ratio > 5", 0.0092, "tail", True, "SELECT avg((watch_ratio > 5)::INT) FROM big"),
    ("play_duration median (ms)", 7277, "quantile", True, "SELECT median(play_duration) FROM big"),
    ("play_duration mean (ms)", 9027, "mean", True, "SELECT avg(play_duration) FROM big"),
    ("video_duration per row mean (ms)", 14_622, "mean", True, "SELECT avg(video_duration) FROM big"),
    ("video_duration per row p50 (ms)", 9636, "quantile", True, "SELECT median(video_duration) FROM big"),
    ("rows per user p25", 883, "quantile", False, "SELECT quantile_cont(n, 0.25) FROM per_user"),
    ("rows per user p50", 1846, "quantile", False, "SELECT median(n) FROM per_user"),
    ("rows per user p75", 2461, "quantile", False, "SELECT quantile_cont(n, 0.75) FROM per_user"),
    ("rows per user max", 16_015, "max", False, "SELECT max(n) FROM per_user"),
    ("rows per user: median / mean", 1846.5 / 1746.21, "mean", True,
     "SELECT median(n) / avg(n) FROM per_user"),
    ("rows per video (dedup) p50", 228, "quantile", False, "SELECT median(n) FROM per_video"),
    ("rows per video (dedup) max", 24_173, "max", False, "SELECT max(n) FROM per_video"),
    ("rows per video (dedup): mean / p50", 1078.02 / 228, "quantile", True,
     "SELECT avg(n) / median(n) FROM per_video"),
    ("median views before 08-30: small-block videos", 2384, "quantile", False,
     "SELECT median(n) FROM train_views WHERE in_small"),
    ("median views before 08-30: other videos", 74, "quantile", False,
     "SELECT median(n) FROM train_views WHERE NOT in_small"),
    ("rows per user-day mean", 66.5, "mean", False, "SELECT avg(n) FROM user_days"),
    ("rows per user-day p50", 42, "quantile", False, "SELECT median(n) FROM user_days"),
    ("share of rows on/after 08-30", 0.159, "share", True, f"SELECT avg((date >= {CUT_DATE})::INT) FROM big"),
    ("videos shown from 08-30", 5476, "share", False, "SELECT count(*) FROM late_videos"),
    ("of them never shown before", 1482, "share", False, "SELECT count(*) FROM late_videos WHERE is_new"),
    ("share of 08-30+ rows on those new videos", 0.125, "share", True,
     f"SELECT avg(is_new::INT) FROM big JOIN late_videos USING (video_id) WHERE date >= {CUT_DATE}"),
    ("under 0.1% of big rows dated before the upload day", 1, "order", True,
     "SELECT (avg((b.date < u.upload)::INT) < 0.001)::INT FROM big b JOIN uploads u USING (video_id)"),
    ("busiest days Sat > Sun > Fri > Mon", 1, "order", True,
     "SELECT (list(dow ORDER BY n DESC)[1:4] = [6, 0, 5, 1])::INT FROM "
     "(SELECT dayofweek(strptime(date::VARCHAR, '%Y%m%d')) AS dow, count(*) AS n FROM big GROUP BY 1)"),
    ("small: observed share of cells", 4_676_570 / 4_694_397, "share", True,
     "SELECT count(*) / (count(DISTINCT user_id) * count(DISTINCT video_id)) FROM small"),
    ("small: rows with empty time", 0.0389, "share", True, "SELECT avg((timestamp IS NULL)::INT) FROM small"),
    ("small: watch_ratio mean", 0.907, "mean", True, "SELECT avg(watch_ratio) FROM small"),
    ("small: watch_ratio p50", 0.769, "quantile", True, "SELECT median(watch_ratio) FROM small"),
    ("small: watch_ratio p99", 3.585, "tail", True, "SELECT quantile_cont(watch_ratio, 0.99) FROM small"),
    ("small: share >= 0.8", 0.474, "share", True, "SELECT avg((watch_ratio >= 0.8)::INT) FROM small"),
    ("small: share >= 1", 0.324, "share", True, "SELECT avg((watch_ratio >= 1)::INT) FROM small"),
    ("small (<= 5): p25", 0.466, "quantile", True,
     "SELECT quantile_cont(watch_ratio, 0.25) FROM small WHERE watch_ratio <= 5"),
    ("small (<= 5): p75", 1.114, "quantile", True,
     "SELECT quantile_cont(watch_ratio, 0.75) FROM small WHERE watch_ratio <= 5"),
    ("length-bucket label: positives in big before 08-30", 0.200, "share", True,
     "SELECT avg(pos::INT) FROM labelled WHERE part = 'before'"),
    ("length-bucket label: positives in big after 08-30", 0.211, "share", True,
     "SELECT avg(pos::INT) FROM labelled WHERE part = 'after'"),
    ("length-bucket label: positives in small", 0.157, "share", True,
     "SELECT avg(pos::INT) FROM labelled WHERE part = 'small'"),
    ("length-bucket label in small: lowest bucket rate", 0.157, "tail", True,
     "SELECT min(r) FROM (SELECT avg(pos::INT) AS r FROM labelled WHERE part = 'small' GROUP BY bucket)"),
    ("length-bucket label in small: highest bucket rate", 0.157, "tail", True,
     "SELECT max(r) FROM (SELECT avg(pos::INT) AS r FROM labelled WHERE part = 'small' GROUP BY bucket)"),
    ("watch_ratio >= 2 in the shortest length decile", 0.62, "tail", True,
     "SELECT avg((watch_ratio >= 2)::INT) FROM big_dec WHERE dec = 1"),
    ("watch_ratio >= 2 in the longest length decile", 0.005, "tail", True,
     "SELECT avg((watch_ratio >= 2)::INT) FROM big_dec WHERE dec = 10"),
    ("videos with 1 tag", 8970 / 10728, "share", True, "SELECT avg((len(tags) = 1)::INT) FROM cats"),
    ("videos with 2 tags", 1562 / 10728, "share", True, "SELECT avg((len(tags) = 2)::INT) FROM cats"),
    ("users full_active", 6092 / 7176, "share", True,
     "SELECT avg((user_active_degree = 'full_active')::INT) FROM users"),
    ("users high_active", 938 / 7176, "share", True,
     "SELECT avg((user_active_degree = 'high_active')::INT) FROM users"),
    ("follow_user_num mean", 197.3, "mean", True, "SELECT avg(follow_user_num) FROM users"),
    ("follow_user_num median", 33, "quantile", True, "SELECT median(follow_user_num) FROM users"),
    ("register_days median", 225, "quantile", True, "SELECT median(register_days) FROM users"),
    *(
        (f"onehot_feat{k}: share of the most common value", v, "share", True,
         f"SELECT max(n) / sum(n) FROM (SELECT count(*) AS n FROM users GROUP BY onehot_feat{k})")
        for k, v in ((0, 0.608), (2, 0.275), (4, 0.467), (5, 0.998))
    ),
    ("item_daily rows", 343_341, "share", False, "SELECT count(*) FROM daily"),
    ("item_daily play_cnt mean", 94_188, "mean", False, "SELECT avg(play_cnt) FROM daily"),
    ("item_daily play_cnt p50", 628, "quantile", False, "SELECT median(play_cnt) FROM daily"),
    ("item_daily play_cnt p75", 20_671, "tail", False, "SELECT quantile_cont(play_cnt, 0.75) FROM daily"),
    ("item_daily play_cnt max", 41_167_950, "max", False, "SELECT max(play_cnt) FROM daily"),
    ("item_daily like_cnt mean", 2781, "mean", False, "SELECT avg(like_cnt) FROM daily"),
    ("item_daily comment_cnt mean", 130.5, "mean", False, "SELECT avg(comment_cnt) FROM daily"),
    ("item_daily share_cnt mean", 80.4, "mean", False, "SELECT avg(share_cnt) FROM daily"),
)  # fmt: skip


def _prepare(con, folder: Path) -> None:
    """Load the files (paths bound as parameters) and derive the helper relations the queries read."""

    def load(sql: str, name: str) -> None:
        con.execute(sql, {"path": str(folder / f"{name}.csv")})

    load(f"CREATE TABLE big AS {_INTERACTIONS_SQL}", "big_matrix")
    load(f"CREATE TABLE small AS {_INTERACTIONS_SQL}", "small_matrix")
    load(
        "CREATE TABLE cats AS SELECT video_id, string_split(trim(feat, '[]'), ', ') AS tags "
        "FROM read_csv($path, header=true)",
        "item_categories",
    )
    load("CREATE TABLE users AS SELECT * FROM read_csv($path, header=true)", "user_features")
    load(
        "CREATE TABLE daily AS SELECT video_id, upload_dt, play_cnt, like_cnt, comment_cnt, share_cnt "
        "FROM read_csv($path, header=true)",
        "item_daily_features",
    )
    views = [
        "CREATE VIEW dedup AS SELECT DISTINCT * FROM big",
        "CREATE TABLE pairs AS SELECT user_id, video_id, count(*) AS n FROM dedup GROUP BY ALL",
        "CREATE VIEW per_user AS SELECT user_id, count(*) AS n FROM big GROUP BY ALL",
        "CREATE VIEW per_video AS SELECT video_id, count(*) AS n FROM dedup GROUP BY ALL",
        "CREATE VIEW user_days AS SELECT user_id, date, count(*) AS n FROM big GROUP BY ALL",
        "CREATE TABLE small_videos AS SELECT DISTINCT video_id FROM small",
        "CREATE VIEW train_views AS SELECT c.video_id, count(b.video_id) AS n, "
        "c.video_id IN (SELECT video_id FROM small_videos) AS in_small "
        f"FROM cats c LEFT JOIN (SELECT video_id FROM big WHERE date < {CUT_DATE}) b USING (video_id) "
        "GROUP BY ALL",
        "CREATE TABLE late_videos AS SELECT video_id, video_id NOT IN "
        f"(SELECT video_id FROM big WHERE date < {CUT_DATE}) AS is_new "
        f"FROM big WHERE date >= {CUT_DATE} GROUP BY ALL",
        "CREATE VIEW uploads AS SELECT video_id, "
        "CAST(strftime(min(upload_dt)::DATE, '%Y%m%d') AS BIGINT) AS upload FROM daily GROUP BY ALL",
        "CREATE TABLE big_dec AS SELECT watch_ratio, ntile(10) OVER (ORDER BY video_duration) AS dec "
        "FROM big",
        # the length-bucket label of source D: 80th percentile of watch_ratio per duration decile,
        # cut-offs from big before 08-30, applied to big before/after and to small
        f"CREATE TABLE edges AS SELECT quantile_cont(video_duration, [0.1 * i FOR i IN range(1, 10)]) AS e "
        f"FROM big WHERE date < {CUT_DATE}",
        "CREATE TABLE tagged AS SELECT 'before' AS part, video_duration, watch_ratio FROM big "
        f"WHERE date < {CUT_DATE} UNION ALL SELECT 'after', video_duration, watch_ratio FROM big "
        f"WHERE date >= {CUT_DATE} UNION ALL SELECT 'small', video_duration, watch_ratio FROM small",
        "CREATE TABLE tagged_b AS SELECT part, watch_ratio, "
        "len(list_filter((SELECT e FROM edges), lambda x: x < video_duration)) AS bucket FROM tagged",
        "CREATE TABLE cutoffs AS SELECT bucket, quantile_cont(watch_ratio, 0.8) AS c FROM tagged_b "
        "WHERE part = 'before' GROUP BY ALL",
        "CREATE VIEW labelled AS SELECT part, bucket, watch_ratio > c AS pos "
        "FROM tagged_b JOIN cutoffs USING (bucket)",
    ]
    for sql in views:
        con.execute(sql)


def measure(folder: Path, threads: int | None = None, memory_limit: str = "2GB") -> list[Stat]:
    """Every statistic of :data:`_QUERIES` over the KuaiRec CSVs in ``folder`` (the twin's ``data/``)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar_print = false")  # DuckDB's bar goes to stdout; ours to stderr
    con.execute("SET memory_limit = $m", {"m": memory_limit})
    if threads:
        con.execute("SET threads = $t", {"t": int(threads)})
    _prepare(con, Path(folder))
    stats = []
    for name, real, kind, free, sql in _QUERIES:
        value = con.execute(sql).fetchone()[0]
        stats.append(Stat(name, float(real), float("nan") if value is None else float(value), kind, free))
    con.close()
    return stats
