-- int_users: every user id seen in any file, with its dense index user_idx = rank by ascending user_id.
-- inputs: stg_big_matrix, stg_small_matrix, stg_user_features, stg_social_network
-- grain: one row per user_id
-- params: none
CREATE TABLE int_users AS
SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS user_idx, user_id
FROM (
    SELECT user_id FROM stg_big_matrix
    UNION SELECT user_id FROM stg_small_matrix
    UNION SELECT user_id FROM stg_user_features
    UNION SELECT user_id FROM stg_social_network
    UNION SELECT unnest(friend_ids) AS user_id FROM stg_social_network
) AS ids
WHERE user_id IS NOT NULL
ORDER BY user_id
