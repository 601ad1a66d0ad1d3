-- stg_item_daily_features: the item_daily_features.csv columns kuaicore uses, typed; empty cells NULL.
-- inputs: item_daily_features.csv (optional)
-- grain: one row per (video_id, date)
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: item_daily_features
CREATE TABLE stg_item_daily_features AS
SELECT video_id, date, author_id, music_id, video_duration,
       show_cnt, play_cnt, complete_play_cnt, valid_play_cnt, long_time_play_cnt, short_time_play_cnt,
       play_progress, like_cnt, comment_cnt, follow_cnt, share_cnt, download_cnt, report_cnt,
       reduce_similar_cnt, collect_cnt
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_item_daily_features(r)
