-- items.parquet: what `kuaicore recommend` shows of a video: tags, first-level category name, caption.
-- inputs: int_items, stg_item_categories, stg_caption_category
-- grain: one row per video_id (item_idx order)
-- params: out, row_group_size
COPY (
    SELECT i.item_idx, i.video_id,
           array_to_string(t.tags, ',') AS tags,
           c.first_level_category_name AS category,
           c.caption
    FROM int_items AS i
    LEFT JOIN stg_item_categories AS t USING (video_id)
    LEFT JOIN stg_caption_category AS c USING (video_id)
    ORDER BY i.item_idx
) TO $out (FORMAT parquet, ROW_GROUP_SIZE $row_group_size)
