-- feat_item_train_stats: per video, from TRAINING rows only: row count, mean target (capped watch ratio) and
-- like rate (share of label_wr); a video without training rows gets count 0 and the global training means.
-- inputs: int_items, int_interactions
-- grain: one row per item_idx
-- params: none
CREATE TABLE feat_item_train_stats AS
WITH per_item AS (
    SELECT item_idx, count(*) AS n_train, sum(CAST(target AS DECIMAL(18, 6))) AS sum_target,
           sum(CAST(label_wr AS BIGINT)) AS n_like
    FROM int_interactions
    WHERE NOT is_valid
    GROUP BY item_idx
), global AS (
    SELECT CAST(sum(sum_target) AS DOUBLE) / nullif(sum(n_train), 0) AS mean_target,
           CAST(sum(n_like) AS DOUBLE) / nullif(sum(n_train), 0) AS like_rate
    FROM per_item
)
SELECT i.item_idx,
       coalesce(p.n_train, 0) AS n_train,
       coalesce(CAST(p.sum_target AS DOUBLE) / p.n_train, g.mean_target, 0) AS mean_target,
       coalesce(CAST(p.n_like AS DOUBLE) / p.n_train, g.like_rate, 0) AS like_rate
FROM int_items AS i
CROSS JOIN global AS g
LEFT JOIN per_item AS p ON p.item_idx = i.item_idx
ORDER BY i.item_idx
