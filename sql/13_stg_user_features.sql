-- stg_user_features: user_features.csv typed; 'UNKNOWN' activity degree -> NULL; empty onehot cells NULL.
-- inputs: user_features.csv (optional)
-- grain: one row per user_id
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: user_features
CREATE TABLE stg_user_features AS
SELECT * REPLACE (NULLIF(user_active_degree, 'UNKNOWN') AS user_active_degree)
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_user_features(r)
