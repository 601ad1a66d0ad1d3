-- debiased_label: 1.0 when a watch ratio is above the threshold of its duration bucket, 0.0 otherwise or when
-- the bucket had no training rows (threshold NULL); the one definition used by every split. The threshold
-- comes from int_duration_thresholds (one row per distinct video_duration), joined on the row's duration:
-- the bucket is found once per duration instead of once per row.
-- inputs: none
-- grain: a scalar macro
-- params: none
CREATE MACRO debiased_label(watch_ratio, threshold) AS CAST(coalesce(watch_ratio > threshold, false) AS FLOAT)
