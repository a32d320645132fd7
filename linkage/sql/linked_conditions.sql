-- linked_conditions: one row per consenting respondent and condition found in a
-- diagnosis or condition code of an accepted row in the lookback before the response
-- (not of a row a later extract superseded: current_diagnoses).
--
-- Relations: frame, current_diagnoses (the accepted rows' codes, long, but the
-- superseded), codelist (each condition's ICD-10 prefixes of 3 or 4 characters and
-- SNOMED CT ids). A prefix match is an equality on the code's 3- or 4-character stem
-- (staged with the code), so every join here is an equi-join any engine can hash.
WITH cohort AS (
  SELECT release_pseudonym, nhs_pseudonym, lookback_from, response_date
  FROM frame
  WHERE consented
),
coded AS (
  SELECT c.release_pseudonym, d.activity_date, d.code_system, d.code, d.code3, d.code4
  FROM cohort c
  JOIN current_diagnoses d ON d.nhs_pseudonym = c.nhs_pseudonym
  WHERE d.activity_date >= c.lookback_from AND d.activity_date < c.response_date
),
matched AS (
  SELECT x.release_pseudonym, l.condition_id, l.codelist_id, l.codelist_version, x.activity_date
  FROM coded x JOIN codelist l ON l.code_system = x.code_system AND l.match_length = 3 AND l.code = x.code3
  UNION ALL
  SELECT x.release_pseudonym, l.condition_id, l.codelist_id, l.codelist_version, x.activity_date
  FROM coded x JOIN codelist l ON l.code_system = x.code_system AND l.match_length = 4 AND l.code = x.code4
  UNION ALL
  SELECT x.release_pseudonym, l.condition_id, l.codelist_id, l.codelist_version, x.activity_date
  FROM coded x JOIN codelist l ON l.code_system = x.code_system AND l.match_length = 0 AND l.code = x.code
)
SELECT release_pseudonym, condition_id, codelist_id, codelist_version, COUNT(*) AS records, MIN(activity_date) AS first_seen
FROM matched
GROUP BY release_pseudonym, condition_id, codelist_id, codelist_version
