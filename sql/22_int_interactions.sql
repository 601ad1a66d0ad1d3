-- int_interactions: the distinct big_matrix rows (copy_no = 0) that are not small_matrix pairs (no
-- evaluation pair may leak into training), with dense indices, pos from stg_big_matrix (the row's rank
-- among its user's distinct rows by time), is_valid (the split: a user's last
-- floor(valid_fraction * n_rows) distinct rows are validation, the rest training; 1e-9 absorbs float
-- error; the split is made on the user's whole deduplicated history, so a dropped evaluation pair never
-- moves it), target = min(watch_ratio, cap) and label_wr = like_label(watch_ratio, like_threshold).
-- inputs: stg_big_matrix, stg_small_matrix, int_users, int_items
-- grain: one row per distinct big_matrix row
-- params: valid_fraction, cap, like_threshold
CREATE TABLE int_interactions AS
WITH per_user AS (
    SELECT user_id, max(pos) AS n_rows FROM stg_big_matrix GROUP BY user_id
)
SELECT u.user_idx, i.item_idx, b.pos,
       b.pos > p.n_rows - floor($valid_fraction * p.n_rows + 1e-9) AS is_valid,
       b.video_duration, b.timestamp, b.watch_ratio,
       CAST(least(b.watch_ratio, $cap) AS FLOAT) AS target,
       like_label(b.watch_ratio, $like_threshold) AS label_wr
FROM stg_big_matrix AS b
JOIN per_user AS p ON p.user_id = b.user_id
JOIN int_users AS u ON u.user_id = b.user_id
JOIN int_items AS i ON i.video_id = b.video_id
WHERE b.copy_no = 0
  AND NOT EXISTS (SELECT 1 FROM stg_small_matrix AS s WHERE s.user_id = b.user_id AND s.video_id = b.video_id)
