-- duration_bucket: the video-duration bucket (0 .. len(bounds)) of a duration, given the ascending bucket
-- bounds of int_duration_bounds; the debiased label's grouping.
-- inputs: none
-- grain: a scalar macro
-- params: none
CREATE MACRO duration_bucket(duration, bounds) AS len(list_filter(bounds, lambda q: q < duration))
