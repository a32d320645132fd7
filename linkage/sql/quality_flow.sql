-- linkage_cohort_flow: sampled, responded, consented and linked (to any dataset and to
-- each), by ICS and for the whole wave ('ALL').
WITH linked AS (
  SELECT dataset_id, nhs_pseudonym FROM linked_pairs
),
consenters AS (
  SELECT ics, nhs_pseudonym FROM frame WHERE consented
),
stages AS (
  SELECT ics, 'sampled' AS stage, '' AS dataset_id, COUNT(*) AS people FROM frame GROUP BY ics
  UNION ALL
  SELECT ics, 'responded', '', COUNT(*) FROM frame WHERE responded GROUP BY ics
  UNION ALL
  SELECT ics, 'consented', '', COUNT(*) FROM consenters GROUP BY ics
  UNION ALL
  SELECT c.ics, 'linked', 'any', COUNT(DISTINCT l.nhs_pseudonym)
  FROM consenters c LEFT JOIN linked l ON l.nhs_pseudonym = c.nhs_pseudonym
  GROUP BY c.ics
  UNION ALL
  SELECT c.ics, 'linked', d.dataset_id, COUNT(l.nhs_pseudonym)
  FROM consenters c CROSS JOIN datasets d
  LEFT JOIN linked l ON l.dataset_id = d.dataset_id AND l.nhs_pseudonym = c.nhs_pseudonym
  GROUP BY c.ics, d.dataset_id
)
SELECT ics, stage, dataset_id, people FROM stages
UNION ALL
SELECT 'ALL', stage, dataset_id, CAST(SUM(people) AS BIGINT) FROM stages GROUP BY stage, dataset_id
