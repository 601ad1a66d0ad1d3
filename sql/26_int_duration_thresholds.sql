-- int_duration_thresholds: the debiased label's threshold for every video_duration of an interaction row
-- (big and small matrix): thresholds[1 + duration_bucket(video_duration, bounds)] of int_debias_rule, NULL
-- for a bucket without training rows. The splits join it on video_duration (IS NOT DISTINCT FROM, so a
-- NULL duration gets bucket 0 as duration_bucket gives it) instead of finding each row's bucket with a
-- list lambda: thousands of distinct durations instead of 16M rows.
-- inputs: int_interactions, stg_small_matrix, int_debias_rule
-- grain: one row per distinct video_duration
-- params: none
CREATE TABLE int_duration_thresholds AS
SELECT v.video_duration, d.thresholds[1 + duration_bucket(v.video_duration, d.bounds)] AS threshold
FROM (SELECT video_duration FROM int_interactions UNION SELECT video_duration FROM stg_small_matrix) AS v
CROSS JOIN int_debias_rule AS d
