-- like_label: 1.0 when a watch ratio is strictly above the like threshold (the dataset authors' rule,
-- watch_ratio > 2.0; DESIGN.md section 4), else 0.0: the one definition used by every split.
-- inputs: none
-- grain: a scalar macro
-- params: none
CREATE MACRO like_label(watch_ratio, threshold) AS CAST(watch_ratio > threshold AS FLOAT)
