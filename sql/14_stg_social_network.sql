-- stg_social_network: social_network.csv with friend_list '[1848, 6260]' parsed into BIGINT[].
-- inputs: social_network.csv (optional)
-- grain: one row per user_id
-- checks: every value against kuaicore.data.value_rules (an error stops the build)
-- params: path, columns, not_null
-- source: social_network
CREATE TABLE stg_social_network AS
SELECT user_id,
       list_transform(list_filter(string_split(trim(friend_list, '[] '), ','), lambda s: trim(s) <> ''),
                      lambda s: CAST(trim(s) AS BIGINT)) AS friend_ids
FROM read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
              escape = '"', new_line = '\n', nullstr = '', strict_mode = true,
              force_not_null = $not_null) AS r
WHERE check_values_social_network(r)
