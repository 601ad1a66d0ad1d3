-- valid.parquet: each user's last valid_fraction of deduplicated big_matrix rows, by user then time; labels
-- as in train.parquet. Row groups of DuckDB's default size (122,880 rows): only train.parquet's groups are
-- units of the training shuffle, and smaller groups write faster (each writer thread buffers less).
-- inputs: int_interactions, int_duration_thresholds
-- grain: one row per validation interaction
-- params: out, label_rule
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
        WHERE r.is_valid
    ) AS labeled
    ORDER BY user_idx, pos
) TO $out (FORMAT parquet)
