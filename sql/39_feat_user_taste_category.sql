-- feat_user_taste_category: each user's taste per first-level caption category from TRAINING rows, shrunk
-- toward the user's mean target as in feat_user_taste_tag. Pairs not listed have taste = user_mean.
-- inputs: int_interactions, feat_item_category, feat_user_activity
-- grain: one row per (user_idx, cat1) with at least one training view
-- params: prior
CREATE TABLE feat_user_taste_category AS
WITH train AS (
    SELECT user_idx, item_idx, CAST(target AS DECIMAL(18, 6)) AS target
    FROM int_interactions
    WHERE NOT is_valid
), per_cat AS (
    SELECT r.user_idx, c.cat1, count(*) AS n, CAST(sum(r.target) AS DOUBLE) AS sum_target
    FROM train AS r
    JOIN feat_item_category AS c ON c.item_idx = r.item_idx
    WHERE c.cat1 IS NOT NULL
    GROUP BY r.user_idx, c.cat1
)
SELECT p.user_idx, p.cat1, p.n, (p.sum_target + $prior * m.mean_target) / (p.n + $prior) AS taste
FROM per_cat AS p
JOIN feat_user_activity AS m ON m.user_idx = p.user_idx
ORDER BY p.user_idx, p.cat1
