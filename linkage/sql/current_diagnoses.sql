-- current_diagnoses (a view in every engine): the diagnosis codes of the accepted activity
-- rows but those a later extract superseded (superseded_records), for linked_conditions.
-- As with current_activity, an engine that finds nothing superseded may read diagnoses
-- itself.
SELECT d.*
FROM diagnoses d
LEFT JOIN superseded_records s ON s.row_id = d.row_id
WHERE s.row_id IS NULL
