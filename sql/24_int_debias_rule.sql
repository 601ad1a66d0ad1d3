-- int_debias_rule: the duration-debiased label rule in one row: bounds (from int_duration_bounds) and
-- thresholds[b + 1] = the percentile-th quantile of watch_ratio over training rows in bucket b (NULL for an
-- empty bucket); label_debiased = watch_ratio > thresholds[bucket + 1] (false where NULL).
-- inputs: int_interactions, int_duration_bounds
-- grain: one row
-- params: percentile
CREATE TABLE int_debias_rule AS
WITH per_bucket AS (
    SELECT duration_bucket(r.video_duration, d.bounds) AS bucket,
           count(*) AS n_rows,
           quantile_cont(r.watch_ratio, $percentile) AS threshold
    FROM int_interactions AS r, int_duration_bounds AS d
    WHERE NOT r.is_valid
    GROUP BY bucket
), all_buckets AS (
    SELECT CAST(range AS BIGINT) AS bucket FROM range((SELECT len(bounds) + 1 FROM int_duration_bounds))
)
SELECT (SELECT bounds FROM int_duration_bounds) AS bounds,
       list(p.threshold ORDER BY a.bucket) AS thresholds,
       list(coalesce(p.n_rows, 0) ORDER BY a.bucket) AS rows_per_bucket
FROM all_buckets AS a
LEFT JOIN per_bucket AS p ON p.bucket = a.bucket
