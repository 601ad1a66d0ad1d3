-- int_row_counts: the row counts the manifest reports: rows read, duplicates dropped, rows per split, rows
-- of big_matrix in evaluation pairs dropped, rows with a missing timestamp, rows whose watch_ratio the cap clips.
-- inputs: stg_big_matrix, stg_small_matrix, int_big_rows, int_labeled
-- grain: one row
-- params: cap
CREATE TABLE int_row_counts AS
SELECT (SELECT count(*) FROM stg_big_matrix) AS big_rows_in,
       (SELECT count(*) FROM stg_big_matrix) - (SELECT count(*) FROM int_big_rows) - (
           SELECT count(*) FROM (
               SELECT DISTINCT b.* FROM stg_big_matrix AS b
               SEMI JOIN stg_small_matrix AS s ON s.user_id = b.user_id AND s.video_id = b.video_id
           ) AS leaked
       ) AS big_duplicates_dropped,
       (SELECT count(*) FROM (
           SELECT DISTINCT b.* FROM stg_big_matrix AS b
           SEMI JOIN stg_small_matrix AS s ON s.user_id = b.user_id AND s.video_id = b.video_id
       ) AS leaked) AS big_rows_dropped_eval_pairs,
       (SELECT count(*) FROM stg_small_matrix) AS small_rows_in,
       count(*) FILTER (WHERE split = 'train') AS train_rows,
       count(*) FILTER (WHERE split = 'valid') AS valid_rows,
       count(*) FILTER (WHERE split = 'eval') AS eval_rows,
       count(*) FILTER (WHERE split <> 'eval' AND timestamp IS NULL) AS big_rows_missing_time,
       count(*) FILTER (WHERE split = 'eval' AND timestamp IS NULL) AS eval_rows_missing_time,
       count(*) FILTER (WHERE split = 'train' AND watch_ratio > $cap) AS train_rows_capped,
       count(*) FILTER (WHERE split = 'valid' AND watch_ratio > $cap) AS valid_rows_capped,
       count(*) FILTER (WHERE split = 'eval' AND watch_ratio > $cap) AS eval_rows_capped
FROM int_labeled
