-- int_row_counts: the row counts the manifest reports: big_matrix rows read, exact duplicates dropped, rows
-- dropped because small_matrix holds their pair, rows per split, rows with a missing timestamp, rows whose
-- watch_ratio the cap clips.
-- inputs: stg_big_matrix, stg_small_matrix, int_interactions, int_eval
-- grain: one row
-- params: cap
CREATE TABLE int_row_counts AS
WITH big AS (
    SELECT sum(copies) AS rows_in, sum(copies - 1) AS duplicates FROM stg_big_matrix
), leaked AS (
    SELECT count(*) AS n FROM stg_big_matrix AS b
    SEMI JOIN stg_small_matrix AS s ON s.user_id = b.user_id AND s.video_id = b.video_id
), inter AS (
    SELECT count(*) FILTER (WHERE split = 'train') AS train_rows,
           count(*) FILTER (WHERE split = 'valid') AS valid_rows,
           count(*) FILTER (WHERE timestamp IS NULL) AS big_rows_missing_time,
           count(*) FILTER (WHERE split = 'train' AND watch_ratio > $cap) AS train_rows_capped,
           count(*) FILTER (WHERE split = 'valid' AND watch_ratio > $cap) AS valid_rows_capped
    FROM int_interactions
), ev AS (
    SELECT count(*) AS eval_rows,
           count(*) FILTER (WHERE timestamp IS NULL) AS eval_rows_missing_time,
           count(*) FILTER (WHERE watch_ratio > $cap) AS eval_rows_capped
    FROM int_eval
)
SELECT CAST(big.rows_in AS BIGINT) AS big_rows_in,
       CAST(big.duplicates AS BIGINT) AS big_duplicates_dropped,
       leaked.n AS big_rows_dropped_eval_pairs,
       (SELECT count(*) FROM stg_small_matrix) AS small_rows_in,
       inter.*, ev.*
FROM big, leaked, inter, ev
