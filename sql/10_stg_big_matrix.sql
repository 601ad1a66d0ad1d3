-- stg_big_matrix: big_matrix.csv typed, exact duplicate rows collapsed into one with copies = how many times
-- the row occurs (re-watches, the same pair at another time, stay separate rows). The time column is not
-- kept: it is the UTC+8 text of timestamp (the same instant), so rows equal in every other column are equal
-- in it too; leaving its text out of the grouping key makes this step three times faster.
-- inputs: big_matrix.csv
-- grain: one row per distinct raw row
-- params: path, columns
-- source: big_matrix
CREATE TABLE stg_big_matrix AS
SELECT user_id, video_id, play_duration, video_duration, date, timestamp, watch_ratio, count(*) AS copies
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true)
GROUP BY user_id, video_id, play_duration, video_duration, date, timestamp, watch_ratio
