-- stg_small_matrix: small_matrix.csv typed, every row (timestamp NULL where the file has no time); the
-- time/date text columns are not kept (timestamp carries the same instant).
-- inputs: small_matrix.csv
-- grain: one row per CSV line
-- params: path, columns
-- source: small_matrix
CREATE TABLE stg_small_matrix AS
SELECT user_id, video_id, play_duration, video_duration, timestamp, watch_ratio
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true)
