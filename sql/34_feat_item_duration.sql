-- feat_item_duration: each video's duration in ms: the median of item_daily_features.video_duration; when
-- that is missing (no daily row, or all empty), imputed by the median video_duration of the video's
-- interaction rows (big and small matrix), else by the median over videos; duration_missing = 1 when imputed.
-- inputs: int_items, feat_item_daily, int_interactions, stg_small_matrix
-- grain: one row per item_idx
-- params: none
CREATE TABLE feat_item_duration AS
WITH daily AS (
    SELECT i.item_idx, d.daily_duration
    FROM int_items AS i
    LEFT JOIN feat_item_daily AS d ON d.item_idx = i.item_idx
), lacking AS (
    SELECT item_idx FROM daily WHERE daily_duration IS NULL
), seen AS (
    SELECT item_idx, median(video_duration) AS seen_duration
    FROM (SELECT item_idx, video_duration FROM int_interactions SEMI JOIN lacking USING (item_idx)
          UNION ALL
          SELECT i.item_idx, s.video_duration
          FROM stg_small_matrix AS s
          JOIN int_items AS i ON i.video_id = s.video_id
          SEMI JOIN lacking AS l ON l.item_idx = i.item_idx) AS rows
    GROUP BY item_idx
), known AS (
    SELECT d.item_idx, d.daily_duration, s.seen_duration
    FROM daily AS d
    LEFT JOIN seen AS s ON s.item_idx = d.item_idx
)
SELECT item_idx,
       CAST(coalesce(daily_duration, seen_duration,
                     (SELECT median(coalesce(daily_duration, seen_duration)) FROM known), 0) AS DOUBLE)
           AS duration_ms,
       CAST(daily_duration IS NULL AS FLOAT) AS duration_missing
FROM known
ORDER BY item_idx
