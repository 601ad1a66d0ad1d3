-- feat_user_taste_tag: each user's taste per tag from TRAINING rows: mean target over the user's views of
-- videos with that tag, shrunk toward the user's mean target (user_mean = feat_user_activity.mean_target)
-- by a prior of `prior` views: taste = (sum_target + prior * user_mean) / (n + prior). Pairs not listed have
-- taste = user_mean.
-- inputs: int_interactions, feat_item_tags, feat_user_activity
-- grain: one row per (user_idx, tag) with at least one training view
-- params: prior
CREATE TABLE feat_user_taste_tag AS
WITH train AS (
    SELECT user_idx, item_idx, CAST(target AS DECIMAL(18, 6)) AS target
    FROM int_interactions
    WHERE NOT is_valid
), per_tag AS (
    SELECT r.user_idx, t.tag, count(*) AS n, CAST(sum(r.target) AS DOUBLE) AS sum_target
    FROM train AS r
    JOIN feat_item_tags AS t ON t.item_idx = r.item_idx
    GROUP BY r.user_idx, t.tag
)
SELECT p.user_idx, p.tag, p.n, (p.sum_target + $prior * m.mean_target) / (p.n + $prior) AS taste
FROM per_tag AS p
JOIN feat_user_activity AS m ON m.user_idx = p.user_idx
ORDER BY p.user_idx, p.tag
