-- linkage_consent_bias: consenting against non-consenting patient respondents, on the
-- frame variables (how many of each are in each category) and on every scored closed
-- question (how many of each answered positively, of those in its base).
WITH r AS (
  SELECT person_index, ics, age_band, gender, ethnicity_group, efi_band, consented
  FROM frame WHERE responded
),
totals AS (
  SELECT COUNT(CASE WHEN consented THEN 1 END) AS c_base,
         COUNT(CASE WHEN NOT consented THEN 1 END) AS n_base
  FROM r
),
frame_rows AS (
  SELECT 'ics' AS dimension, ics AS category, consented FROM r
  UNION ALL SELECT 'age_band', age_band, consented FROM r
  UNION ALL SELECT 'gender', gender, consented FROM r
  UNION ALL SELECT 'ethnicity_group', ethnicity_group, consented FROM r
  UNION ALL SELECT 'efi_band', efi_band, consented FROM r
),
frame_bias AS (
  SELECT x.dimension, x.category,
         COUNT(CASE WHEN x.consented THEN 1 END) AS consenters,
         MAX(t.c_base) AS consenters_base,
         COUNT(CASE WHEN NOT x.consented THEN 1 END) AS non_consenters,
         MAX(t.n_base) AS non_consenters_base
  FROM frame_rows x CROSS JOIN totals t
  GROUP BY x.dimension, x.category
),
question_bias AS (
  SELECT 'question:' || a.question_id AS dimension, 'positive' AS category,
         COUNT(CASE WHEN f.consented AND a.positive THEN 1 END) AS consenters,
         COUNT(CASE WHEN f.consented THEN 1 END) AS consenters_base,
         COUNT(CASE WHEN NOT f.consented AND a.positive THEN 1 END) AS non_consenters,
         COUNT(CASE WHEN NOT f.consented THEN 1 END) AS non_consenters_base
  FROM r f
  JOIN answers a ON a.person_index = f.person_index
  WHERE a.scored AND a.in_base
  GROUP BY a.question_id
),
counts AS (
  SELECT dimension, category, consenters, consenters_base, non_consenters, non_consenters_base FROM frame_bias
  UNION ALL
  SELECT dimension, category, consenters, consenters_base, non_consenters, non_consenters_base FROM question_bias
),
shares AS (
  SELECT dimension, category, consenters, consenters_base, non_consenters, non_consenters_base,
         CASE WHEN consenters_base > 0 THEN CAST(consenters AS DOUBLE) / consenters_base END AS consenters_share,
         CASE WHEN non_consenters_base > 0 THEN CAST(non_consenters AS DOUBLE) / non_consenters_base END AS non_consenters_share
  FROM counts
)
SELECT dimension, category, consenters, consenters_base, non_consenters, non_consenters_base,
       consenters_share, non_consenters_share,
       CAST(100 AS DOUBLE) * (consenters_share - non_consenters_share) AS difference_pct_points
FROM shares
