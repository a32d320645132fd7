-- linked_pairs (materialised once per release): each (dataset, person) with at least one
-- accepted row a later extract did not supersede, at any date: what "found in a dataset"
-- means in the quality report.
SELECT DISTINCT a.dataset_id, a.nhs_pseudonym
FROM activity a
LEFT JOIN superseded_records s ON s.row_id = a.row_id
WHERE s.row_id IS NULL
