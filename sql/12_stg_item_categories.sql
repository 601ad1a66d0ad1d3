-- stg_item_categories: item_categories.csv with the tag list '[27, 9]' parsed into INTEGER[] (sorted, unique).
-- inputs: item_categories.csv
-- grain: one row per video_id
-- params: path, columns
-- source: item_categories
CREATE TABLE stg_item_categories AS
SELECT video_id,
       list_sort(list_distinct(list_transform(
           list_filter(string_split(trim(feat, '[] '), ','), lambda s: trim(s) <> ''),
           lambda s: CAST(trim(s) AS INTEGER)))) AS tags
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true)
