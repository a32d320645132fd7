-- linked_respondents: one row per consenting patient respondent, with utilisation in
-- the 6 and 12 months before the response and treatment-burden measures.
--
-- Relations: frame (the staged cohort), activity (accepted extract rows of every
-- dataset), measure_map (which activity types count towards which measure, from the
-- dataset definitions). The windows' first days (from_6m, from_12m) are staged with the
-- frame, so no date arithmetic is needed here. A contact counts when its date is on or
-- after the window's first day and before the response date.
--
-- Portable SQL (DuckDB, Spark SQL, Trino): no engine-specific function; counts use
-- COUNT(CASE ...) and sums are cast to BIGINT (DuckDB sums integers as HUGEINT).
WITH cohort AS (
  SELECT release_pseudonym, nhs_pseudonym, ics, age_band, gender, ethnicity_group, efi_band,
         response_date, from_6m, from_12m
  FROM frame
  WHERE consented
),
counted AS (
  SELECT c.release_pseudonym, a.dataset_id, a.activity_date, a.provider_code, a.duration_days,
         m.measure, m.bed_days,
         CASE WHEN a.activity_date >= c.from_6m THEN 1 ELSE 0 END AS in_6m
  FROM cohort c
  JOIN activity a ON a.nhs_pseudonym = c.nhs_pseudonym
  JOIN measure_map m ON m.dataset_id = a.dataset_id AND m.activity_type = a.activity_type
  WHERE a.activity_date >= c.from_12m AND a.activity_date < c.response_date
),
per_person AS (
  SELECT release_pseudonym,
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
    COUNT(CASE WHEN measure = 'social_care_services' THEN 1 END) AS social_care_services_12m,
    COUNT(DISTINCT CASE WHEN in_6m = 1 THEN dataset_id END) AS distinct_services_6m,
    COUNT(DISTINCT dataset_id) AS distinct_services_12m,
    COUNT(DISTINCT CASE WHEN in_6m = 1 THEN provider_code END) AS distinct_providers_6m,
    COUNT(DISTINCT provider_code) AS distinct_providers_12m,
    COUNT(DISTINCT CASE WHEN in_6m = 1 THEN activity_date END) AS contact_days_6m,
    COUNT(DISTINCT activity_date) AS contact_days_12m
  FROM counted
  GROUP BY release_pseudonym
),
linked AS (
  SELECT c.release_pseudonym, COUNT(DISTINCT a.dataset_id) AS datasets_linked
  FROM cohort c
  JOIN activity a ON a.nhs_pseudonym = c.nhs_pseudonym
  GROUP BY c.release_pseudonym
)
SELECT c.release_pseudonym, c.ics, c.age_band, c.gender, c.ethnicity_group, c.efi_band, c.response_date,
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
  COALESCE(p.distinct_services_6m, 0) AS distinct_services_6m,
  COALESCE(p.distinct_services_12m, 0) AS distinct_services_12m,
  COALESCE(p.distinct_providers_6m, 0) AS distinct_providers_6m,
  COALESCE(p.distinct_providers_12m, 0) AS distinct_providers_12m,
  COALESCE(p.contact_days_6m, 0) AS contact_days_6m,
  COALESCE(p.contact_days_12m, 0) AS contact_days_12m
FROM cohort c
LEFT JOIN per_person p ON p.release_pseudonym = c.release_pseudonym
LEFT JOIN linked l ON l.release_pseudonym = c.release_pseudonym
