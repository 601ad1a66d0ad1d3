-- int_row_counts: the row counts the manifest reports: big_matrix rows read, exact duplicates dropped, rows
-- dropped because small_matrix holds their pair (the distinct rows that did not reach int_interactions),
-- rows per split, rows with a missing timestamp, rows whose watch_ratio the cap clips.
-- inputs: stg_big_matrix, stg_small_matrix, int_interactions
-- grain: one row
-- params: cap
CREATE TABLE int_row_counts AS
WITH big AS (
    SELECT count(*) AS rows_in, count(*) FILTER (WHERE copy_no > 0) AS duplicates FROM stg_big_matrix
), inter AS (
    SELECT count(*) AS kept,
           count(*) FILTER (WHERE NOT is_valid) AS train_rows,
           count(*) FILTER (WHERE is_valid) AS valid_rows,
           count(*) FILTER (WHERE timestamp IS NULL) AS big_rows_missing_time,
           count(*) FILTER (WHERE NOT is_valid AND watch_ratio > $cap) AS train_rows_capped,
           count(*) FILTER (WHERE is_valid AND watch_ratio > $cap) AS valid_rows_capped
    FROM int_interactions
), ev AS (
    SELECT count(*) AS eval_rows,
           count(*) FILTER (WHERE timestamp IS NULL) AS eval_rows_missing_time,
           count(*) FILTER (WHERE watch_ratio > $cap) AS eval_rows_capped
    FROM stg_small_matrix
)
SELECT big.rows_in AS big_rows_in,
       big.duplicates AS big_duplicates_dropped,
       big.rows_in - big.duplicates - inter.kept AS big_rows_dropped_eval_pairs,
       ev.eval_rows AS small_rows_in,
       inter.train_rows, inter.valid_rows, inter.big_rows_missing_time, inter.train_rows_capped,
       inter.valid_rows_capped, ev.*
FROM big, inter, ev
