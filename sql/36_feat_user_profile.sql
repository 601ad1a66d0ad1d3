-- feat_user_profile: user_features.csv aligned to user_idx (NULL columns and has_profile = 0 for users absent
-- from it, or for every user when the file is absent).
-- inputs: int_users, stg_user_features
-- grain: one row per user_idx
-- params: none
CREATE TABLE feat_user_profile AS
SELECT u.user_idx, CAST(f.user_id IS NOT NULL AS INTEGER) AS has_profile, f.* EXCLUDE (user_id)
FROM int_users AS u
LEFT JOIN stg_user_features AS f ON f.user_id = u.user_id
ORDER BY u.user_idx
