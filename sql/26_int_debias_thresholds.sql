-- int_debias_thresholds: per duration bucket, the percentile-th quantile of watch_ratio over training rows;
-- the debiased label is watch_ratio > threshold of the row's bucket.
-- inputs: int_interactions, int_duration_bounds
-- grain: one row per non-empty duration bucket
-- params: percentile
CREATE TABLE int_debias_thresholds AS
SELECT bucket, count(*) AS n_rows, quantile_cont(watch_ratio, $percentile) AS threshold
FROM (
    SELECT len(list_filter(d.bounds, lambda q: q < r.video_duration)) AS bucket, r.watch_ratio
    FROM int_interactions AS r, int_duration_bounds AS d
    WHERE r.split = 'train'
) AS rows_by_bucket
GROUP BY bucket
ORDER BY bucket
