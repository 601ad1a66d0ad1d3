-- feat_item_daily: item_daily_features summed over all days per video, the derived rates, mean play
-- progress, median duration, and the latest author_id/music_id. Float sums go through DECIMAL so that the
-- result does not depend on the order threads add rows in (same inputs, same bytes).
-- inputs: stg_item_daily_features, int_items
-- grain: one row per item_idx with at least one daily row
-- params: none
CREATE TABLE feat_item_daily AS
WITH sums AS (
    SELECT i.item_idx,
           count(*) AS n_days,
           sum(show_cnt) AS show_cnt, sum(play_cnt) AS play_cnt, sum(complete_play_cnt) AS complete_play_cnt,
           sum(valid_play_cnt) AS valid_play_cnt, sum(long_time_play_cnt) AS long_time_play_cnt,
           sum(short_time_play_cnt) AS short_time_play_cnt, sum(like_cnt) AS like_cnt,
           sum(comment_cnt) AS comment_cnt, sum(follow_cnt) AS follow_cnt, sum(share_cnt) AS share_cnt,
           sum(download_cnt) AS download_cnt, sum(report_cnt) AS report_cnt,
           sum(reduce_similar_cnt) AS reduce_similar_cnt,
           sum(CAST(collect_cnt AS DECIMAL(18, 3))) AS collect_cnt,
           avg(CAST(play_progress AS DECIMAL(18, 12))) AS mean_play_progress,
           median(video_duration) AS daily_duration,
           arg_max(author_id, date) AS author_id,
           arg_max(music_id, date) AS music_id
    FROM stg_item_daily_features AS d
    JOIN int_items AS i ON i.video_id = d.video_id
    GROUP BY i.item_idx
)
SELECT item_idx, n_days, show_cnt, play_cnt, complete_play_cnt, valid_play_cnt, long_time_play_cnt,
       short_time_play_cnt, like_cnt, comment_cnt, follow_cnt, share_cnt, download_cnt, report_cnt,
       reduce_similar_cnt, CAST(collect_cnt AS DOUBLE) AS collect_cnt,
       CAST(complete_play_cnt AS DOUBLE) / nullif(play_cnt, 0) AS completion_rate,
       CAST(like_cnt AS DOUBLE) / nullif(play_cnt, 0) AS like_rate,
       CAST(play_cnt AS DOUBLE) / nullif(show_cnt, 0) AS engagement_rate,
       CAST(mean_play_progress AS DOUBLE) AS mean_play_progress,
       CAST(share_cnt AS DOUBLE) / nullif(play_cnt, 0) AS share_rate,
       CAST(comment_cnt AS DOUBLE) / nullif(play_cnt, 0) AS comment_rate,
       CAST(follow_cnt AS DOUBLE) / nullif(play_cnt, 0) AS follow_rate,
       daily_duration, author_id, music_id
FROM sums
ORDER BY item_idx
