-- superseded_records (materialised once per release, before the others): the accepted
-- rows of a record that a later extract carries too — the same extract sent again in
-- other bytes, a corrected resubmission, an overlapping monthly extract. A record is
-- its dataset and record_key (a keyed hash of its record id); of its rows, the one
-- from the extract with the greatest source_order (landed last; then the greater
-- SHA-256) stands and the others are listed here, for every reader of activity and
-- diagnoses to leave out. A row with no record key (an object validated before record
-- keys were kept: NULL) is a record of its own.
--
-- Only a dataset with rows from more than one extract is grouped by record: reading
-- its two constant columns costs little, grouping every row by its key much more, and
-- most datasets come in one extract.
WITH several AS (
  SELECT dataset_id
  FROM activity
  WHERE record_key <> ''
  GROUP BY dataset_id
  HAVING MIN(source_order) < MAX(source_order)
),
versions AS (
  SELECT a.dataset_id, a.record_key, MAX(a.source_order) AS latest
  FROM activity a
  JOIN several d ON d.dataset_id = a.dataset_id
  WHERE a.record_key <> ''
  GROUP BY a.dataset_id, a.record_key
  HAVING COUNT(*) > 1
)
SELECT a.row_id
FROM activity a
JOIN versions v ON v.dataset_id = a.dataset_id AND v.record_key = a.record_key
WHERE a.source_order < v.latest
