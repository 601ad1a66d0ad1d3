-- int_eval_pairs: the (user_id, video_id) pairs of big_matrix rows (every copy) that small_matrix also
-- holds; int_interactions leaves them out, so no evaluation pair leaks into training. Empty for the real
-- files (they share no pair), so the anti-join that every reader of that view repeats costs next to nothing.
-- inputs: stg_big_matrix, stg_small_matrix
-- grain: one row per big_matrix row whose pair is in small_matrix
-- params: none
CREATE TABLE int_eval_pairs AS
SELECT b.user_id, b.video_id
FROM stg_big_matrix AS b
SEMI JOIN stg_small_matrix AS s ON s.user_id = b.user_id AND s.video_id = b.video_id
