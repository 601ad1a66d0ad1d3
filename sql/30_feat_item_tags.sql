-- feat_item_tags: the tags (0..30) of each video, one row per (item, tag), for the multi-hot columns.
-- inputs: stg_item_categories, int_items
-- grain: one row per (item_idx, tag)
-- params: none
CREATE TABLE feat_item_tags AS
SELECT item_idx, tag
FROM (
    SELECT i.item_idx, CAST(unnest(c.tags) AS INTEGER) AS tag
    FROM stg_item_categories AS c
    JOIN int_items AS i ON i.video_id = c.video_id
) AS item_tag
ORDER BY item_idx, tag
