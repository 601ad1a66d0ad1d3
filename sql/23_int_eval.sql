-- int_eval: every small_matrix row with dense indices, target = min(watch_ratio, cap) and
-- label_wr = watch_ratio >= like_threshold (timestamp may be NULL).
-- inputs: stg_small_matrix, int_users, int_items
-- grain: one row per small_matrix row
-- params: cap, like_threshold
CREATE TABLE int_eval AS
SELECT u.user_idx, i.item_idx, s.user_id, s.video_id, s.video_duration, s.timestamp, s.watch_ratio,
       CAST(least(s.watch_ratio, $cap) AS FLOAT) AS target,
       CAST(s.watch_ratio >= $like_threshold AS FLOAT) AS label_wr
FROM stg_small_matrix AS s
JOIN int_users AS u ON u.user_id = s.user_id
JOIN int_items AS i ON i.video_id = s.video_id
