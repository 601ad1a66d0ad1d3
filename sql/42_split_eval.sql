-- eval.parquet: every small_matrix row (timestamp NULL where the file has none), by user_idx then item_idx.
-- inputs: int_labeled
-- grain: one row per small_matrix row
-- params: out, row_group_size
COPY (
    SELECT user_idx, item_idx, user_id, video_id, CAST(watch_ratio AS FLOAT) AS watch_ratio, target, label,
           label_debiased, timestamp
    FROM int_labeled
    WHERE split = 'eval'
    ORDER BY user_idx, item_idx, timestamp NULLS LAST, watch_ratio
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
