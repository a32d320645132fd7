-- linked_pairs (materialised once per release): each (dataset, person) with at least one
-- accepted row, at any date: what "found in a dataset" means in the quality report.
SELECT DISTINCT dataset_id, nhs_pseudonym FROM activity
