-- cohort_activity (materialised once per release): every accepted row of a consenting
-- respondent in the lookback before their response, with the respondent's release
-- pseudonym and window dates, but the rows a later extract superseded (current_activity).
-- linked_respondents and linked_activity read it, so the join of the lake's activity to
-- the frame on the project pseudonym is done once.
SELECT c.person_index, c.release_pseudonym, c.response_date, c.from_6m, c.from_12m,
       a.dataset_id, a.activity_date, a.end_date, a.duration_days, a.activity_type,
       a.point_of_delivery, a.provider_code, a.diagnosis_codes
FROM frame c
JOIN current_activity a ON a.nhs_pseudonym = c.nhs_pseudonym
WHERE c.consented AND a.activity_date >= c.lookback_from AND a.activity_date < c.response_date
