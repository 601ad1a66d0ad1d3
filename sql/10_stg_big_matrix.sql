-- stg_big_matrix: every big_matrix.csv row typed, ranked within its user in one sort by (timestamp,
-- video_id, play_duration, video_duration, watch_ratio, date): pos = 1-based rank of the row among the
-- user's DISTINCT rows (exact duplicates share a pos), copy_no = 0 for the first copy of a row and 1, 2, ...
-- for its exact duplicates (re-watches, the same pair at another time, are distinct rows). Ranking and
-- deduplicating in the same window replaces a hash aggregate over every column plus a second sort. The
-- time column is not kept: it is the UTC+8 text of timestamp (the same instant), so rows equal in every
-- other column are equal in it too.
-- inputs: big_matrix.csv
-- grain: one row per CSV line
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: big_matrix
CREATE TABLE stg_big_matrix AS
SELECT user_id, video_id, video_duration, timestamp, watch_ratio,
       CAST(dense_rank() OVER by_time AS INTEGER) AS pos,
       CAST(row_number() OVER by_time - rank() OVER by_time AS INTEGER) AS copy_no
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_big_matrix(r)
WINDOW by_time AS (
    PARTITION BY user_id
    ORDER BY timestamp, video_id, play_duration, video_duration, watch_ratio, date
)
