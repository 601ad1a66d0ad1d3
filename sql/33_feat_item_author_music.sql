-- feat_item_author_music: categorical ids for embeddings: author_idx / music_idx = 1 + rank of the video's
-- author_id / music_id among all known ones (ascending), 0 when unknown.
-- inputs: int_items, feat_item_daily
-- grain: one row per item_idx
-- params: none
CREATE TABLE feat_item_author_music AS
SELECT i.item_idx,
       CAST(CASE WHEN d.author_id IS NULL THEN 0
                 ELSE dense_rank() OVER (ORDER BY d.author_id NULLS LAST) END AS INTEGER) AS author_idx,
       CAST(CASE WHEN d.music_id IS NULL THEN 0
                 ELSE dense_rank() OVER (ORDER BY d.music_id NULLS LAST) END AS INTEGER) AS music_idx
FROM int_items AS i
LEFT JOIN feat_item_daily AS d ON d.item_idx = i.item_idx
ORDER BY i.item_idx
