-- feat_item_category: first- and second-level caption category id of each video (NULL when unknown).
-- inputs: stg_caption_category, int_items
-- grain: one row per item_idx present in the caption file
-- params: none
CREATE TABLE feat_item_category AS
SELECT i.item_idx, c.first_level_category_id AS cat1, c.second_level_category_id AS cat2
FROM stg_caption_category AS c
JOIN int_items AS i ON i.video_id = c.video_id
ORDER BY i.item_idx
