-- valid.parquet: each user's last valid_fraction of deduplicated big_matrix rows, by user then time.
-- inputs: int_labeled
-- grain: one row per validation interaction
-- params: out, row_group_size
COPY (
    SELECT user_idx, item_idx, user_id, video_id, CAST(watch_ratio AS FLOAT) AS watch_ratio, target, label,
           label_debiased, timestamp
    FROM int_labeled
    WHERE split = 'valid'
    ORDER BY row_id
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
