package warehouse

import "icesurvey/audit"

// One person in the samples of two ICSs of one wave — someone who moved, or is
// registered in one ICS and lives in another — is invited by one of them only. SPEC says
// nothing of it; the rule here is the project's convention: nobody is invited twice in
// one wave.
//
// Each ICS's sample holds the project-wide NHS pseudonym, the same key in every ICS, so
// the warehouse finds the person by pseudonym alone: nothing identifiable is compared
// or kept for it. Which ICS keeps the person is decided from the warehouse as it stands
// when a mailing's recipients are chosen, the same way for every ICS:
//
//  1. an ICS that has already mailed the person in this wave (any mailing_history row,
//     a failure included) keeps them — the one that mailed first, then the lower code;
//  2. else the ICS with the lowest code among those whose accepted sample holds them
//     (the sample table holds only accepted records: one excluded or rejected at intake
//     never keeps anyone) and whose fieldwork has not ended early (cancelled or failed,
//     as its audit trail records once flushed to the warehouse); only if every one has,
//     the lowest code.
//
// Two ICSs choosing their day-0 recipients at the same moment read the same warehouse
// and so agree (rule 2); an ICS whose sample arrives after the other has mailed finds
// that mailing (rule 1). The one window left: an ICS whose sample was loaded after the
// other's last selection for a step and that chooses its own before the other's send is
// loaded (the send, after a DBS reply, takes minutes) would mail the person too. Someone
// mailed by an ICS is never taken out of that ICS afterwards (mailed_here), so such a
// double invitation is counted in both and shows in cross_ics_samples. And the sample
// of an ICS that is not yet declared stays here: a person it holds with the lowest code
// is kept by it, and so mailed nowhere until it mails them, its fieldwork ends early,
// or a corrected file leaves them out (counted and listed meanwhile, not lost without
// trace).
//
// In the ICS that does not keep them, the person's outcome is 5, ineligible (unless an
// event of their own there ranks higher — a completion, a death, an opt-out): they are
// not that ICS's to survey, and like anyone else ineligible they leave that ICS's
// adjusted response-rate base and the publication's frame (which is the declared sample
// less outcomes 3 and 5), while the keeping ICS counts them as any other sampled person.
// The selection leaves them out through the outcomes view, so no message goes to them,
// and says how many it left out so (Recipients).
var crossICSView = `CREATE OR REPLACE VIEW cross_ics_samples AS
WITH shared AS (
  SELECT wave_id, nhs_pseudonym FROM sample GROUP BY wave_id, nhs_pseudonym HAVING count(DISTINCT ics) > 1
), recs AS (
  SELECT s.wave_id, s.ics, s.survey_record_id, s.nhs_pseudonym, min(h.sent_at) AS first_mailed_at,
    EXISTS (SELECT 1 FROM audit_log a WHERE a.wave_id = s.wave_id AND a.ics = s.ics AND a.kind = ` + sqlString(audit.KindFieldworkEndedEarly) + `) AS ended_early
  FROM sample s
  JOIN shared d ON d.wave_id = s.wave_id AND d.nhs_pseudonym = s.nhs_pseudonym
  LEFT JOIN mailing_history h ON h.wave_id = s.wave_id AND h.ics = s.ics AND h.survey_record_id = s.survey_record_id
  GROUP BY s.wave_id, s.ics, s.survey_record_id, s.nhs_pseudonym
)
SELECT wave_id, ics, survey_record_id, kept_by, mailed_here,
  NOT mailed_here AND ics <> kept_by AS left_out,
  CASE WHEN NOT mailed_here AND ics <> kept_by THEN ` + sqlString(ReasonInAnotherICSSample) + ` END AS reason
FROM (
  SELECT wave_id, ics, survey_record_id,
    first_value(ics) OVER (PARTITION BY wave_id, nhs_pseudonym ORDER BY first_mailed_at ASC NULLS LAST, ended_early, ics) AS kept_by,
    first_mailed_at IS NOT NULL AS mailed_here
  FROM recs
)`

// ReasonInAnotherICSSample is the reason (cross_ics_samples.reason) a person is left out
// of an ICS's mailings and has outcome 5 there: they are in another ICS's sample of the
// wave, which keeps them.
const ReasonInAnotherICSSample = "in_another_ics_sample"

func init() {
	Register(Migration{Version: 22, Name: "cross_ics_samples: one person in two ICSs' samples is invited by one", SQL: []string{
		crossICSView,
		outcomesView(sqlNames.Replace(`(SELECT wave, ics, survey_record_id, outcome, "at" FROM outcome_events
  UNION ALL SELECT wave, ics, survey_record_id, {completed}, completed_at FROM completions
  UNION ALL SELECT wave_id, ics, survey_record_id, {ineligible}, NULL FROM cross_ics_samples WHERE left_out)`)),
	}})
}
