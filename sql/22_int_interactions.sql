-- int_interactions: the deduplicated big_matrix rows that are not small_matrix pairs (no evaluation pair may
-- leak into training), with dense indices, pos = 1-based rank of the row within its user by timestamp, ties
-- broken by a hash of the row's other columns (deterministic: distinct rows of a user differ in them), the
-- split (a user's last floor(valid_fraction * n_rows) rows are 'valid', the rest 'train'; 1e-9 absorbs float
-- error in the product), target = min(watch_ratio, cap) and label_wr = watch_ratio >= like_threshold.
-- Kept narrow (ids are looked up from int_users/int_items when written) because it is sorted twice.
-- inputs: stg_big_matrix, stg_small_matrix, int_users, int_items
-- grain: one row per distinct big_matrix row
-- params: valid_fraction, cap, like_threshold
CREATE TABLE int_interactions AS
WITH kept AS (
    SELECT b.user_id, b.video_id, b.play_duration, b.video_duration, b.date, b.timestamp, b.watch_ratio
    FROM stg_big_matrix AS b
    ANTI JOIN stg_small_matrix AS s ON s.user_id = b.user_id AND s.video_id = b.video_id
), per_user AS (
    SELECT user_id, count(*) AS n_rows FROM kept GROUP BY user_id
), ranked AS (
    SELECT k.user_id, k.video_id, k.video_duration, k.timestamp, k.watch_ratio, p.n_rows,
           row_number() OVER (
               PARTITION BY k.user_id
               ORDER BY k.timestamp, hash(k.video_id, k.date, k.play_duration, k.video_duration, k.watch_ratio)
           ) AS pos
    FROM kept AS k
    JOIN per_user AS p USING (user_id)
)
SELECT u.user_idx, i.item_idx, CAST(r.pos AS INTEGER) AS pos,
       CASE WHEN r.pos > r.n_rows - floor($valid_fraction * r.n_rows + 1e-9) THEN 'valid' ELSE 'train' END
           AS split,
       r.video_duration, r.timestamp, r.watch_ratio,
       CAST(least(r.watch_ratio, $cap) AS FLOAT) AS target,
       CAST(r.watch_ratio >= $like_threshold AS FLOAT) AS label_wr
FROM ranked AS r
JOIN int_users AS u ON u.user_id = r.user_id
JOIN int_items AS i ON i.video_id = r.video_id
