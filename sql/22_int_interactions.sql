-- int_interactions: a view of the distinct big_matrix rows (copy_no = 0) that are not small_matrix pairs
-- (int_eval_pairs: no evaluation pair may leak into training), with dense indices and ids, pos from
-- stg_big_matrix (the row's rank among its user's distinct rows by time), is_valid = pos after the user's
-- last_train_pos (the split, int_users), target = min(watch_ratio, cap) and label_wr =
-- like_label(watch_ratio, like_threshold) (int_interaction_rule). label_wr goes through a CASE only so that
-- DuckDB knows it is never NULL (a cast comparison may be, by its statistics) and train/valid.parquet keep
-- a REQUIRED label column, as when int_interactions was a stored table. A view, not a table: storing a
-- second 11.6M-row table cost more CPU than the joins with three small tables that each reader repeats.
-- inputs: stg_big_matrix, int_users, int_items, int_eval_pairs, int_interaction_rule
-- grain: one row per distinct big_matrix row whose pair small_matrix lacks
-- params: none
CREATE VIEW int_interactions AS
SELECT u.user_idx, i.item_idx, u.user_id, i.video_id, b.pos, b.pos > u.last_train_pos AS is_valid,
       b.video_duration, b.timestamp, b.watch_ratio,
       CAST(least(b.watch_ratio, r.cap) AS FLOAT) AS target,
       CAST(CASE WHEN like_label(b.watch_ratio, r.like_threshold) = 1 THEN 1 ELSE 0 END AS FLOAT) AS label_wr
FROM stg_big_matrix AS b
JOIN int_users AS u ON u.user_id = b.user_id
JOIN int_items AS i ON i.video_id = b.video_id
CROSS JOIN int_interaction_rule AS r
ANTI JOIN int_eval_pairs AS e ON e.user_id = b.user_id AND e.video_id = b.video_id
WHERE b.copy_no = 0
