-- eval.parquet: every small_matrix row with dense indices (timestamp NULL where the file has none), by
-- user_idx then item_idx; target = min(watch_ratio, cap), label_wr = watch_ratio > like_threshold;
-- labels as in train.parquet (the debiased rule's thresholds come from training rows). Row groups of
-- DuckDB's default size, as in valid.parquet.
-- inputs: stg_small_matrix, int_users, int_items, int_duration_thresholds
-- grain: one row per small_matrix row
-- params: out, cap, like_threshold, label_rule
COPY (
    SELECT user_idx, item_idx, user_id, video_id, CAST(watch_ratio AS FLOAT) AS watch_ratio, target,
           CASE WHEN $label_rule = 'debiased' THEN label_debiased ELSE label_wr END AS label, label_debiased,
           timestamp
    FROM (
        SELECT u.user_idx, i.item_idx, u.user_id, i.video_id, s.video_duration, s.timestamp, s.watch_ratio,
               CAST(least(s.watch_ratio, $cap) AS FLOAT) AS target,
               like_label(s.watch_ratio, $like_threshold) AS label_wr,
               debiased_label(s.watch_ratio, t.threshold) AS label_debiased
        FROM stg_small_matrix AS s
        JOIN int_users AS u ON u.user_id = s.user_id
        JOIN int_items AS i ON i.video_id = s.video_id
        LEFT JOIN int_duration_thresholds AS t ON t.video_duration IS NOT DISTINCT FROM s.video_duration
    ) AS labeled
    ORDER BY user_idx, item_idx, timestamp NULLS LAST, watch_ratio, video_duration
) TO $out (FORMAT parquet)
