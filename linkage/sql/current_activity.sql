-- current_activity (a view in every engine): the lake's accepted activity rows but those
-- a later extract superseded (superseded_records). linked_pairs and cohort_activity read
-- it, so the superseded rows are left out in one place. An engine that finds nothing
-- superseded may read activity itself instead: without the join, the rows' ids need not
-- be read at all.
SELECT a.*
FROM activity a
LEFT JOIN superseded_records s ON s.row_id = a.row_id
WHERE s.row_id IS NULL
