-- int_big_rows: big_matrix without exact duplicate rows (re-watches at other times stay) and without any
-- (user_id, video_id) pair that small_matrix holds (no evaluation pair may leak into training), numbered by
-- row_id = rank by (user_id, timestamp, then every other column as tie-break), so a user's rows are contiguous
-- and in time order.
-- inputs: stg_big_matrix, stg_small_matrix
-- grain: one row per distinct raw row
-- params: none
CREATE TABLE int_big_rows AS
SELECT row_number() OVER (
           ORDER BY user_id, timestamp, video_id, date, play_duration, video_duration, watch_ratio, time
       ) - 1 AS row_id,
       user_id, video_id, play_duration, video_duration, time, date, timestamp, watch_ratio
FROM (SELECT DISTINCT * FROM stg_big_matrix) AS distinct_rows
WHERE NOT EXISTS (
    SELECT 1 FROM stg_small_matrix AS s
    WHERE s.user_id = distinct_rows.user_id AND s.video_id = distinct_rows.video_id
)
