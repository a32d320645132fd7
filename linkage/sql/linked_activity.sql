-- linked_activity: the accepted rows of consenting respondents in the lookback before
-- their response, keyed by the release pseudonym, for the export. The exporter selects
-- from this only the columns each dataset's definition allows.
SELECT c.release_pseudonym, a.dataset_id, a.activity_date, a.end_date, a.duration_days, a.activity_type,
       a.point_of_delivery, a.provider_code, a.diagnosis_codes
FROM frame c
JOIN activity a ON a.nhs_pseudonym = c.nhs_pseudonym
WHERE c.consented AND a.activity_date >= c.lookback_from AND a.activity_date < c.response_date
