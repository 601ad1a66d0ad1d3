-- int_interactions: deduplicated big_matrix rows with dense indices and their split (train or valid).
-- inputs: int_big_rows, int_user_split, int_users, int_items
-- grain: one row per int_big_rows row
-- params: none
CREATE TABLE int_interactions AS
SELECT b.row_id, u.user_idx, i.item_idx, b.user_id, b.video_id, b.video_duration, b.timestamp, b.watch_ratio,
       CASE WHEN b.row_id - s.first_row >= s.n_rows - s.n_valid THEN 'valid' ELSE 'train' END AS split
FROM int_big_rows AS b
JOIN int_user_split AS s ON s.user_id = b.user_id
JOIN int_users AS u ON u.user_id = b.user_id
JOIN int_items AS i ON i.video_id = b.video_id
