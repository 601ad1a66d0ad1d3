-- int_user_split: per user, how many of its deduplicated big_matrix rows go to validation:
-- n_valid = floor(valid_fraction * n_rows) (a user with fewer than 1/valid_fraction rows keeps all for training);
-- the validation rows are the user's last n_valid rows by (timestamp, row_id).
-- inputs: int_big_rows
-- grain: one row per user_id
-- params: valid_fraction
CREATE TABLE int_user_split AS
SELECT user_id,
       min(row_id) AS first_row,
       count(*) AS n_rows,
       CAST(floor($valid_fraction * count(*) + 1e-9) AS BIGINT) AS n_valid
FROM int_big_rows
GROUP BY user_id
ORDER BY user_id
