-- linked_respondents: one row per consenting patient respondent, with utilisation in
-- the 6 and 12 months before the response and treatment-burden measures.
--
-- Relations: frame (the staged cohort), cohort_activity (consenters' accepted rows in
-- the lookback, with their window dates), linked_pairs (who is found in which dataset),
-- measure_map (which activity types count towards which measure, from the dataset
-- definitions). The windows' first days (from_6m, from_12m) are staged with the frame,
-- so no date arithmetic is needed here. A contact counts when its date is on or after
-- the window's first day and before the response date. People are grouped and joined
-- on the frame's dense person_index, not on a 64-character pseudonym (cheaper to hash
-- and compare); the release pseudonym is taken from the frame at the end.
--
-- Portable SQL (DuckDB, Spark SQL, Trino): no engine-specific function; counts use
-- COUNT(CASE ...) and sums are cast to BIGINT (DuckDB sums integers as HUGEINT).
WITH cohort AS (
  SELECT person_index, release_pseudonym, nhs_pseudonym, ics, age_band, gender, ethnicity_group, efi_band, response_month
  FROM frame
  WHERE consented
),
counted AS (
  SELECT a.person_index, a.dataset_id, a.activity_date, a.provider_code, a.duration_days,
         m.measure, m.bed_days,
         CASE WHEN a.activity_date >= a.from_6m THEN 1 ELSE 0 END AS in_6m
  FROM cohort_activity a
  JOIN measure_map m ON m.dataset_id = a.dataset_id AND m.activity_type = a.activity_type
  WHERE a.activity_date >= a.from_12m
),
per_person AS (
  SELECT person_index,
    COUNT(CASE WHEN measure = 'gp_appointments' AND in_6m = 1 THEN 1 END) AS gp_appointments_6m,
    COUNT(CASE WHEN measure = 'gp_appointments' THEN 1 END) AS gp_appointments_12m,
    COUNT(CASE WHEN measure = 'ae_attendances' AND in_6m = 1 THEN 1 END) AS ae_attendances_6m,
    COUNT(CASE WHEN measure = 'ae_attendances' THEN 1 END) AS ae_attendances_12m,
    COUNT(CASE WHEN measure = 'emergency_admissions' AND in_6m = 1 THEN 1 END) AS emergency_admissions_6m,
    COUNT(CASE WHEN measure = 'emergency_admissions' THEN 1 END) AS emergency_admissions_12m,
    COUNT(CASE WHEN measure = 'elective_admissions' AND in_6m = 1 THEN 1 END) AS elective_admissions_6m,
    COUNT(CASE WHEN measure = 'elective_admissions' THEN 1 END) AS elective_admissions_12m,
    CAST(SUM(CASE WHEN bed_days AND in_6m = 1 THEN duration_days ELSE 0 END) AS BIGINT) AS bed_days_6m,
    CAST(SUM(CASE WHEN bed_days THEN duration_days ELSE 0 END) AS BIGINT) AS bed_days_12m,
    COUNT(CASE WHEN measure = 'outpatient_attendances' AND in_6m = 1 THEN 1 END) AS outpatient_attendances_6m,
    COUNT(CASE WHEN measure = 'outpatient_attendances' THEN 1 END) AS outpatient_attendances_12m,
    COUNT(CASE WHEN measure = 'community_contacts' AND in_6m = 1 THEN 1 END) AS community_contacts_6m,
    COUNT(CASE WHEN measure = 'community_contacts' THEN 1 END) AS community_contacts_12m,
    COUNT(CASE WHEN measure = 'mental_health_contacts' AND in_6m = 1 THEN 1 END) AS mental_health_contacts_6m,
    COUNT(CASE WHEN measure = 'mental_health_contacts' THEN 1 END) AS mental_health_contacts_12m,
    COUNT(CASE WHEN measure = 'social_care_services' AND in_6m = 1 THEN 1 END) AS social_care_services_6m,
    COUNT(CASE WHEN measure = 'social_care_services' THEN 1 END) AS social_care_services_12m
  FROM counted
  GROUP BY person_index
),
-- Treatment burden: distinct services (datasets), providers and contact days, each
-- counted by grouping first (a distinct count per person as a plain group-by, which
-- every engine spreads over its workers) and noting whether any of a group's contacts
-- fell in the 6 months.
services AS (
  SELECT person_index, dataset_id, MAX(in_6m) AS in_6m FROM counted GROUP BY person_index, dataset_id
),
providers AS (
  SELECT person_index, provider_code, MAX(in_6m) AS in_6m FROM counted GROUP BY person_index, provider_code
),
contact_days AS (
  SELECT person_index, activity_date, MAX(in_6m) AS in_6m FROM counted GROUP BY person_index, activity_date
),
burden AS (
  SELECT person_index,
    CAST(SUM(CASE WHEN kind = 's' THEN in_6m ELSE 0 END) AS BIGINT) AS distinct_services_6m,
    COUNT(CASE WHEN kind = 's' THEN 1 END) AS distinct_services_12m,
    CAST(SUM(CASE WHEN kind = 'p' THEN in_6m ELSE 0 END) AS BIGINT) AS distinct_providers_6m,
    COUNT(CASE WHEN kind = 'p' THEN 1 END) AS distinct_providers_12m,
    CAST(SUM(CASE WHEN kind = 'd' THEN in_6m ELSE 0 END) AS BIGINT) AS contact_days_6m,
    COUNT(CASE WHEN kind = 'd' THEN 1 END) AS contact_days_12m
  FROM (
    SELECT person_index, 's' AS kind, in_6m FROM services
    UNION ALL SELECT person_index, 'p', in_6m FROM providers
    UNION ALL SELECT person_index, 'd', in_6m FROM contact_days
  ) x
  GROUP BY person_index
),
linked AS (
  SELECT c.person_index, COUNT(*) AS datasets_linked
  FROM cohort c
  JOIN linked_pairs l ON l.nhs_pseudonym = c.nhs_pseudonym
  GROUP BY c.person_index
)
SELECT c.release_pseudonym, c.ics, c.age_band, c.gender, c.ethnicity_group, c.efi_band, c.response_month,
  COALESCE(l.datasets_linked, 0) AS datasets_linked,
  COALESCE(p.gp_appointments_6m, 0) AS gp_appointments_6m,
  COALESCE(p.gp_appointments_12m, 0) AS gp_appointments_12m,
  COALESCE(p.ae_attendances_6m, 0) AS ae_attendances_6m,
  COALESCE(p.ae_attendances_12m, 0) AS ae_attendances_12m,
  COALESCE(p.emergency_admissions_6m, 0) AS emergency_admissions_6m,
  COALESCE(p.emergency_admissions_12m, 0) AS emergency_admissions_12m,
  COALESCE(p.elective_admissions_6m, 0) AS elective_admissions_6m,
  COALESCE(p.elective_admissions_12m, 0) AS elective_admissions_12m,
  COALESCE(p.bed_days_6m, 0) AS bed_days_6m,
  COALESCE(p.bed_days_12m, 0) AS bed_days_12m,
  COALESCE(p.outpatient_attendances_6m, 0) AS outpatient_attendances_6m,
  COALESCE(p.outpatient_attendances_12m, 0) AS outpatient_attendances_12m,
  COALESCE(p.community_contacts_6m, 0) AS community_contacts_6m,
  COALESCE(p.community_contacts_12m, 0) AS community_contacts_12m,
  COALESCE(p.mental_health_contacts_6m, 0) AS mental_health_contacts_6m,
  COALESCE(p.mental_health_contacts_12m, 0) AS mental_health_contacts_12m,
  COALESCE(p.social_care_services_6m, 0) AS social_care_services_6m,
  COALESCE(p.social_care_services_12m, 0) AS social_care_services_12m,
  COALESCE(b.distinct_services_6m, 0) AS distinct_services_6m,
  COALESCE(b.distinct_services_12m, 0) AS distinct_services_12m,
  COALESCE(b.distinct_providers_6m, 0) AS distinct_providers_6m,
  COALESCE(b.distinct_providers_12m, 0) AS distinct_providers_12m,
  COALESCE(b.contact_days_6m, 0) AS contact_days_6m,
  COALESCE(b.contact_days_12m, 0) AS contact_days_12m
FROM cohort c
LEFT JOIN per_person p ON p.person_index = c.person_index
LEFT JOIN burden b ON b.person_index = c.person_index
LEFT JOIN linked l ON l.person_index = c.person_index
