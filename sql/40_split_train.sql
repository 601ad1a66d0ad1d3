-- train.parquet: the training rows, pre-shuffled by a seeded hash of (user_idx, pos, seed) (ties by user_idx,
-- pos, so the order does not depend on threads), in row groups of row_group_size rows. label_debiased follows
-- int_debias_rule; label is label_wr or label_debiased as label_rule says.
-- inputs: int_interactions, int_duration_thresholds
-- grain: one row per training interaction
-- params: out, seed, row_group_size, label_rule
COPY (
    SELECT user_idx, item_idx, user_id, video_id, watch_ratio, target,
           CASE WHEN $label_rule = 'debiased' THEN label_debiased ELSE label_wr END AS label, label_debiased,
           timestamp
    FROM (
        SELECT r.user_idx, r.item_idx, r.user_id, r.video_id, CAST(r.watch_ratio AS FLOAT) AS watch_ratio,
               r.target, r.label_wr, r.timestamp, r.pos,
               debiased_label(r.watch_ratio, t.threshold) AS label_debiased
        FROM int_interactions AS r
        LEFT JOIN int_duration_thresholds AS t ON t.video_duration IS NOT DISTINCT FROM r.video_duration
        WHERE NOT r.is_valid
    ) AS labeled
    ORDER BY hash(user_idx, pos, $seed), user_idx, pos
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
