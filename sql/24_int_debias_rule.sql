-- int_debias_rule: the duration-debiased label rule in one row: bounds (from int_duration_bounds) and
-- thresholds[b + 1] = the percentile-th quantile of watch_ratio over training rows in bucket b (NULL for an
-- empty bucket); label_debiased = watch_ratio > thresholds[bucket + 1] (false where NULL). Each row's
-- bucket is found once per distinct duration (a join) rather than once per row.
-- inputs: int_interactions, int_duration_bounds
-- grain: one row
-- params: percentile
CREATE TABLE int_debias_rule AS
WITH train AS (
    SELECT video_duration, watch_ratio FROM int_interactions WHERE NOT is_valid
), buckets AS (
    SELECT v.video_duration, duration_bucket(v.video_duration, d.bounds) AS bucket
    FROM (SELECT DISTINCT video_duration FROM train) AS v, int_duration_bounds AS d
), per_bucket AS (
    SELECT b.bucket,
           count(*) AS n_rows,
           quantile_cont(r.watch_ratio, $percentile) AS threshold
    FROM train AS r
    JOIN buckets AS b ON b.video_duration IS NOT DISTINCT FROM r.video_duration
    GROUP BY b.bucket
), all_buckets AS (
    SELECT CAST(range AS BIGINT) AS bucket FROM range((SELECT len(bounds) + 1 FROM int_duration_bounds))
)
SELECT (SELECT bounds FROM int_duration_bounds) AS bounds,
       list(p.threshold ORDER BY a.bucket) AS thresholds,
       list(coalesce(p.n_rows, 0) ORDER BY a.bucket) AS rows_per_bucket
FROM all_buckets AS a
LEFT JOIN per_bucket AS p ON p.bucket = a.bucket
