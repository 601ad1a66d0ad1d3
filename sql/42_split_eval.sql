-- eval.parquet: every small_matrix row (timestamp NULL where the file has none), by user_idx then item_idx;
-- labels as in train.parquet (the debiased rule's thresholds come from training rows).
-- inputs: int_eval, int_debias_rule
-- grain: one row per small_matrix row
-- params: out, row_group_size, label_rule
COPY (
    SELECT user_idx, item_idx, user_id, video_id, CAST(watch_ratio AS FLOAT) AS watch_ratio, target,
           CASE WHEN $label_rule = 'debiased' THEN label_debiased ELSE label_wr END AS label, label_debiased,
           timestamp
    FROM (
        SELECT r.*,
               debiased_label(r.watch_ratio, r.video_duration, d.bounds, d.thresholds) AS label_debiased
        FROM int_eval AS r, int_debias_rule AS d
    ) AS labeled
    ORDER BY user_idx, item_idx, timestamp NULLS LAST, watch_ratio, video_duration
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
