-- linked_pairs (materialised once per release): each (dataset, person) with at least one
-- accepted row a later extract did not supersede (current_activity), at any date: what
-- "found in a dataset" means in the quality report.
SELECT DISTINCT a.dataset_id, a.nhs_pseudonym
FROM current_activity a
