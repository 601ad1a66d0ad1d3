-- feat_item_duration: each video's duration in ms: the median of item_daily_features.video_duration; when
-- that is missing (no daily row, or all empty), imputed by the median video_duration of the video's
-- interaction rows, else by the median over videos; duration_missing = 1 when imputed.
-- inputs: int_items, feat_item_daily, int_big_rows, stg_small_matrix
-- grain: one row per item_idx
-- params: none
CREATE TABLE feat_item_duration AS
WITH seen AS (
    SELECT video_id, median(video_duration) AS seen_duration
    FROM (SELECT video_id, video_duration FROM int_big_rows
          UNION ALL SELECT video_id, video_duration FROM stg_small_matrix) AS rows
    GROUP BY video_id
), known AS (
    SELECT i.item_idx, d.daily_duration, s.seen_duration
    FROM int_items AS i
    LEFT JOIN feat_item_daily AS d ON d.item_idx = i.item_idx
    LEFT JOIN seen AS s ON s.video_id = i.video_id
)
SELECT item_idx,
       CAST(coalesce(daily_duration, seen_duration,
                     (SELECT median(coalesce(daily_duration, seen_duration)) FROM known), 0) AS DOUBLE)
           AS duration_ms,
       CAST(daily_duration IS NULL AS FLOAT) AS duration_missing
FROM known
ORDER BY item_idx
