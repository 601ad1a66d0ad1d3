-- feat_user_activity: per user, from TRAINING rows: row count, mean target, like rate (users without training
-- rows get 0 and the global means); and social degree = friends listed in social_network (0 when absent).
-- inputs: int_users, int_interactions, stg_social_network
-- grain: one row per user_idx
-- params: none
CREATE TABLE feat_user_activity AS
WITH per_user AS (
    SELECT user_idx, count(*) AS n_train, sum(CAST(target AS DECIMAL(18, 6))) AS sum_target,
           sum(CAST(label_wr AS BIGINT)) AS n_like
    FROM int_interactions
    WHERE NOT is_valid
    GROUP BY user_idx
), global AS (
    SELECT CAST(sum(sum_target) AS DOUBLE) / nullif(sum(n_train), 0) AS mean_target,
           CAST(sum(n_like) AS DOUBLE) / nullif(sum(n_train), 0) AS like_rate
    FROM per_user
)
SELECT u.user_idx,
       coalesce(p.n_train, 0) AS n_train,
       coalesce(CAST(p.sum_target AS DOUBLE) / p.n_train, g.mean_target, 0) AS mean_target,
       coalesce(CAST(p.n_like AS DOUBLE) / p.n_train, g.like_rate, 0) AS like_rate,
       coalesce(len(s.friend_ids), 0) AS social_degree,
       CAST(s.user_id IS NOT NULL AS INTEGER) AS in_social_network
FROM int_users AS u
CROSS JOIN global AS g
LEFT JOIN per_user AS p ON p.user_idx = u.user_idx
LEFT JOIN stg_social_network AS s ON s.user_id = u.user_id
ORDER BY u.user_idx
