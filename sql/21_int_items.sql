-- int_items: every video id seen in any file, with its dense index item_idx = rank by ascending video_id.
-- inputs: stg_big_matrix, stg_small_matrix, stg_item_categories, stg_caption_category, stg_item_daily_features
-- grain: one row per video_id
-- params: none
CREATE TABLE int_items AS
SELECT CAST(row_number() OVER (ORDER BY video_id) - 1 AS INTEGER) AS item_idx, video_id
FROM (
    SELECT video_id FROM stg_big_matrix
    UNION SELECT video_id FROM stg_small_matrix
    UNION SELECT video_id FROM stg_item_categories
    UNION SELECT video_id FROM stg_caption_category
    UNION SELECT video_id FROM stg_item_daily_features
) AS ids
WHERE video_id IS NOT NULL
ORDER BY video_id
