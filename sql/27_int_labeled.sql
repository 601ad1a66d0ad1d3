-- int_labeled: every output interaction (big train/valid rows and all small_matrix rows as eval) with its
-- target = min(watch_ratio, cap), label_wr = watch_ratio >= like_threshold, label_debiased (duration bucket
-- threshold), and label = the one the label_rule picks ('wr' or 'debiased').
-- inputs: int_interactions, stg_small_matrix, int_users, int_items, int_duration_bounds, int_debias_thresholds
-- grain: one row per interaction row
-- params: cap, like_threshold, label_rule
CREATE TABLE int_labeled AS
WITH all_rows AS (
    SELECT row_id, user_idx, item_idx, user_id, video_id, video_duration, timestamp, watch_ratio, split
    FROM int_interactions
    UNION ALL
    SELECT NULL AS row_id, u.user_idx, i.item_idx, s.user_id, s.video_id, s.video_duration, s.timestamp,
           s.watch_ratio, 'eval' AS split
    FROM stg_small_matrix AS s
    JOIN int_users AS u ON u.user_id = s.user_id
    JOIN int_items AS i ON i.video_id = s.video_id
), bucketed AS (
    SELECT a.*, len(list_filter(d.bounds, lambda q: q < a.video_duration)) AS bucket
    FROM all_rows AS a, int_duration_bounds AS d
), labeled AS (
    SELECT b.*,
           CAST(least(b.watch_ratio, $cap) AS FLOAT) AS target,
           CAST(b.watch_ratio >= $like_threshold AS FLOAT) AS label_wr,
           CAST(coalesce(b.watch_ratio > t.threshold, false) AS FLOAT) AS label_debiased
    FROM bucketed AS b
    LEFT JOIN int_debias_thresholds AS t ON t.bucket = b.bucket
)
SELECT row_id, user_idx, item_idx, user_id, video_id, watch_ratio, target, label_wr, label_debiased,
       CASE WHEN $label_rule = 'debiased' THEN label_debiased ELSE label_wr END AS label,
       timestamp, split
FROM labeled
