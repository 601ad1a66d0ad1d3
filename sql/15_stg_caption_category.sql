-- stg_caption_category: caption and first/second-level category ids (and first-level name) per video;
-- the -124 / UNKNOWN sentinels -> NULL.
-- inputs: kuairec_caption_category.csv (optional; read through a repaired copy when it holds a bare CR)
-- grain: one row per video_id
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: kuairec_caption_category
CREATE TABLE stg_caption_category AS
SELECT video_id,
       NULLIF(first_level_category_id, -124) AS first_level_category_id,
       NULLIF(second_level_category_id, -124) AS second_level_category_id,
       NULLIF(first_level_category_name, 'UNKNOWN') AS first_level_category_name,
       caption
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_kuairec_caption_category(r)
