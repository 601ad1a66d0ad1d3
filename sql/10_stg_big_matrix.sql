-- stg_big_matrix: big_matrix.csv typed as in kuaicore/schema.py, every raw row (duplicates still in).
-- inputs: big_matrix.csv
-- grain: one row per CSV line
-- params: path, columns
-- source: big_matrix
CREATE TABLE stg_big_matrix AS
SELECT user_id, video_id, play_duration, video_duration, time, date, timestamp, watch_ratio
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true)
