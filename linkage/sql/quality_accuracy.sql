-- linkage_accuracy (synthetic data only): (consenting respondent, dataset) pairs the
-- truth says had activity, against the pairs the linkage found.
WITH consenters AS (
  SELECT nhs_pseudonym FROM frame WHERE consented
),
true_pairs AS (
  SELECT DISTINCT t.dataset_id, t.true_owner AS person
  FROM truth t JOIN consenters c ON c.nhs_pseudonym = t.true_owner
),
found AS (
  SELECT l.dataset_id, l.nhs_pseudonym AS person
  FROM linked_pairs l JOIN consenters c ON c.nhs_pseudonym = l.nhs_pseudonym
),
pairs AS (
  SELECT COALESCE(t.dataset_id, l.dataset_id) AS dataset_id,
         COUNT(t.person) AS true_pairs,
         COUNT(l.person) AS linked_pairs,
         COUNT(CASE WHEN t.person IS NOT NULL AND l.person IS NOT NULL THEN 1 END) AS correct_pairs
  FROM true_pairs t
  FULL OUTER JOIN found l ON l.dataset_id = t.dataset_id AND l.person = t.person
  GROUP BY COALESCE(t.dataset_id, l.dataset_id)
)
SELECT dataset_id, true_pairs, linked_pairs, correct_pairs,
       CASE WHEN linked_pairs > 0 THEN CAST(correct_pairs AS DOUBLE) / linked_pairs ELSE 0 END AS precision,
       CASE WHEN true_pairs > 0 THEN CAST(correct_pairs AS DOUBLE) / true_pairs ELSE 0 END AS recall
FROM pairs
