-- linked_activity: the accepted rows of consenting respondents in the lookback before
-- their response, keyed by the release pseudonym, for the export. The exporter selects
-- from this only the columns each dataset's definition allows.
SELECT release_pseudonym, dataset_id, activity_date, end_date, duration_days, activity_type,
       point_of_delivery, provider_code, diagnosis_codes
FROM cohort_activity
