-- linkage_match_rates: of the consenting respondents of each group, how many were found
-- in each dataset (at least one accepted row) and in any ('any').
WITH linked AS (
  SELECT dataset_id, nhs_pseudonym FROM linked_pairs
  UNION ALL
  SELECT DISTINCT 'any', nhs_pseudonym FROM linked_pairs
),
base AS (
  SELECT d.dataset_id, f.ics, f.age_band, f.gender, f.ethnicity_group, f.efi_band,
         CASE WHEN l.nhs_pseudonym IS NULL THEN 0 ELSE 1 END AS linked
  FROM frame f
  CROSS JOIN (SELECT dataset_id FROM datasets UNION ALL SELECT 'any') d
  LEFT JOIN linked l ON l.dataset_id = d.dataset_id AND l.nhs_pseudonym = f.nhs_pseudonym
  WHERE f.consented
),
counts AS (
  SELECT dataset_id, 'all' AS dimension, 'all' AS category, COUNT(*) AS consenters, CAST(SUM(linked) AS BIGINT) AS linked
  FROM base GROUP BY dataset_id
  UNION ALL
  SELECT dataset_id, 'ics', ics, COUNT(*), CAST(SUM(linked) AS BIGINT) FROM base GROUP BY dataset_id, ics
  UNION ALL
  SELECT dataset_id, 'age_band', age_band, COUNT(*), CAST(SUM(linked) AS BIGINT) FROM base GROUP BY dataset_id, age_band
  UNION ALL
  SELECT dataset_id, 'gender', gender, COUNT(*), CAST(SUM(linked) AS BIGINT) FROM base GROUP BY dataset_id, gender
  UNION ALL
  SELECT dataset_id, 'ethnicity_group', ethnicity_group, COUNT(*), CAST(SUM(linked) AS BIGINT) FROM base GROUP BY dataset_id, ethnicity_group
  UNION ALL
  SELECT dataset_id, 'efi_band', efi_band, COUNT(*), CAST(SUM(linked) AS BIGINT) FROM base GROUP BY dataset_id, efi_band
)
SELECT dataset_id, dimension, category, consenters, linked, CAST(linked AS DOUBLE) / consenters AS match_rate
FROM counts
