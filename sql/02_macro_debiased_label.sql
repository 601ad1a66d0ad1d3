-- debiased_label: 1.0 when a watch ratio is above the threshold of its duration bucket (int_debias_rule),
-- 0.0 otherwise or when the bucket had no training rows; the one definition used by every split.
-- inputs: none (uses the macro duration_bucket)
-- grain: a scalar macro
-- params: none
CREATE MACRO debiased_label(watch_ratio, duration, bounds, thresholds) AS
    CAST(coalesce(watch_ratio > thresholds[1 + duration_bucket(duration, bounds)], false) AS FLOAT)
