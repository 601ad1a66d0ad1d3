-- stg_small_matrix: small_matrix.csv typed, every row (timestamp NULL where the file has no time); the
-- time/date text columns are not kept (timestamp carries the same instant).
-- inputs: small_matrix.csv
-- grain: one row per CSV line
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: small_matrix
CREATE TABLE stg_small_matrix AS
SELECT user_id, video_id, play_duration, video_duration, timestamp, watch_ratio
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_small_matrix(r)
