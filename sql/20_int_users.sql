-- int_users: every user id seen in any file, with its dense index user_idx = rank by ascending user_id, and
-- the user's split of big_matrix: last_train_pos = n - floor(valid_fraction * n) where n is the user's
-- number of distinct big_matrix rows (the largest pos), so that rows with pos > last_train_pos (the last
-- floor(valid_fraction * n)) are validation and the rest training; 1e-9 absorbs float error. NULL for a user
-- without big_matrix rows. The split is made on the user's whole deduplicated history, so an evaluation
-- pair that int_interactions drops never moves it.
-- inputs: stg_big_matrix, stg_small_matrix, stg_user_features, stg_social_network
-- grain: one row per user_id
-- params: valid_fraction
CREATE TABLE int_users AS
WITH big AS (
    SELECT user_id, max(pos) AS n_rows FROM stg_big_matrix GROUP BY user_id
)
SELECT CAST(row_number() OVER (ORDER BY ids.user_id) - 1 AS INTEGER) AS user_idx, ids.user_id,
       CAST(big.n_rows - floor($valid_fraction * big.n_rows + 1e-9) AS INTEGER) AS last_train_pos
FROM (
    SELECT user_id FROM big
    UNION SELECT user_id FROM stg_small_matrix
    UNION SELECT user_id FROM stg_user_features
    UNION SELECT user_id FROM stg_social_network
    UNION SELECT unnest(friend_ids) AS user_id FROM stg_social_network
) AS ids
LEFT JOIN big ON big.user_id = ids.user_id
WHERE ids.user_id IS NOT NULL
ORDER BY ids.user_id
