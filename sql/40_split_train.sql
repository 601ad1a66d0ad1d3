-- train.parquet: the training rows, pre-shuffled by a seeded hash of (row_id, seed) (ties by row_id, so the
-- order does not depend on threads), in row groups of `row_group_size` rows.
-- inputs: int_labeled
-- grain: one row per training interaction
-- params: out, seed, row_group_size
COPY (
    SELECT user_idx, item_idx, user_id, video_id, CAST(watch_ratio AS FLOAT) AS watch_ratio, target, label,
           label_debiased, timestamp
    FROM int_labeled
    WHERE split = 'train'
    ORDER BY hash(row_id, $seed), row_id
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
