-- int_interaction_rule: the options that turn a big_matrix row into an interaction's target and label, in
-- one row, for the int_interactions view to read (a view binds no parameters): cap (target =
-- min(watch_ratio, cap)) and like_threshold (label_wr).
-- inputs: the build options
-- grain: one row
-- params: cap, like_threshold
CREATE TABLE int_interaction_rule AS
SELECT CAST($cap AS DOUBLE) AS cap, CAST($like_threshold AS DOUBLE) AS like_threshold
