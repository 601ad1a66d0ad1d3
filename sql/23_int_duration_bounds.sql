-- int_duration_bounds: the (buckets - 1) video_duration quantiles of training rows that cut views into
-- equal-frequency duration buckets; a row's bucket = how many bounds are < its video_duration (0-based).
-- inputs: int_interactions
-- grain: one row
-- params: buckets
CREATE TABLE int_duration_bounds AS
SELECT coalesce(quantile_cont(video_duration, list_transform(range(1, $buckets), lambda k: k / $buckets)),
                []) AS bounds
FROM int_interactions
WHERE NOT is_valid
