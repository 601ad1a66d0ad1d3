-- stg_item_categories: item_categories.csv with the tag list '[27, 9]' parsed into INTEGER[] (sorted, unique).
-- inputs: item_categories.csv
-- grain: one row per video_id
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: item_categories
CREATE TABLE stg_item_categories AS
SELECT video_id,
       list_sort(list_distinct(list_transform(
           list_filter(string_split(trim(feat, '[] '), ','), lambda s: trim(s) <> ''),
           lambda s: CAST(trim(s) AS INTEGER)))) AS tags
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_item_categories(r)
