package warehouse

import (
	"strconv"
	"strings"

	"icesurvey/schemas"
)

// The daily response load's tables and the analysts' response-rate views.
//
// The three tables are not partitioned: each day's load adds lake objects to a wave
// and ICS, so replacing the whole (wave, ICS) partition per object would delete the
// earlier days. Rejections and duplicates are upserted by their layout's key instead;
// responses, whose ids are unique by construction, are appended (see
// schemas.ResponseRow); and loaded_files makes a repeated load of the same object a
// no-op. Outcome events of the
// load (undelivered, opted out, deceased) go to the existing outcome_events table
// beside the deceased check's, and completed questionnaires are the responses
// themselves (the completions view), so the outcomes view — and with it the selection
// of the next mailing — sees them at once.
//
// Free text has no table here on purpose: it stays in the restricted area (SPEC §8).
func init() {
	for name, t := range map[schemas.Table]Table{
		schemas.TableResponses: {Name: schemas.TableResponses, Layout: schemas.ResponseRowLayout(),
			Doc: "one row per loaded response, a column per closed question of every questionnaire version " +
				"and the question bank; no free text; superseded responses are listed in " +
				"response_duplicates — use the current_responses view"},
		schemas.TableResponseRejections: {Name: schemas.TableResponseRejections, Layout: schemas.ResponseRejectionLayout(),
			Doc: "every problem the response load found, by file, row, field and reason code"},
		schemas.TableResponseDuplicates: {Name: schemas.TableResponseDuplicates, Layout: schemas.DuplicateResponseLayout(),
			Doc: "responses discarded because the same person answered again, with the kept response"},
	} {
		if _, dup := Tables[name]; dup {
			panic("warehouse: table " + string(name) + " declared twice")
		}
		Tables[name] = t
	}
	Register(Migration{Version: 10, Name: "response load tables", SQL: []string{
		ddl(schemas.TableResponses), ddl(schemas.TableResponseRejections), ddl(schemas.TableResponseDuplicates),
	}})
	Register(Migration{Version: 11, Name: "response rate views", SQL: rateViews()})
	Register(Migration{Version: 15, Name: "completions from the responses, not outcome events", SQL: []string{
		completionsView,
		outcomesView(`(SELECT wave, ics, survey_record_id, outcome, "at" FROM outcome_events
  UNION ALL SELECT wave, ics, survey_record_id, 1, completed_at FROM completions)`),
		sampleOutcomesView(`SELECT wave, ics, survey_record_id, completed_at FROM completions`),
	}})
}

// completionsView is each patient's completed questionnaire and when it arrived: the
// first complete patient response not discarded as a duplicate. A load writes no
// outcome event for it (see package responses); completion events that loads wrote
// before are counted too, and are the same completions.
var completionsView = sqlNames.Replace(`CREATE OR REPLACE VIEW completions AS
SELECT wave, ics, survey_record_id, min("at") AS completed_at FROM (
  SELECT r.wave, r.ics, r.survey_record_id, r.received_at AS "at" FROM responses r
  WHERE r.complete AND r.respondent_type = {patient}
    AND NOT EXISTS (SELECT 1 FROM response_duplicates d WHERE d.discarded_response_id = r.response_id)
  UNION ALL
  SELECT wave, ics, survey_record_id, "at" FROM outcome_events WHERE outcome = {completed}
) GROUP BY wave, ics, survey_record_id`)

// rateColumns are the outcome counts and rates every response-rate view reports, over
// rows of sample_outcomes. The adjusted rate leaves out of the base those the survey
// could never reach — letters returned undelivered, the deceased, the ineligible — as
// the NHS Patient Survey Programme reports it.
var rateColumns = sqlNames.Replace(`count(*) AS sampled,
  count(*) FILTER (WHERE outcome = {completed}) AS completed,
  count(*) FILTER (WHERE outcome = {undelivered}) AS undelivered,
  count(*) FILTER (WHERE outcome = {deceased}) AS deceased,
  count(*) FILTER (WHERE outcome = {opted_out}) AS opted_out,
  count(*) FILTER (WHERE outcome = {ineligible}) AS ineligible,
  count(*) FILTER (WHERE outcome = {no_response}) AS no_response,
  round(100.0 * count(*) FILTER (WHERE outcome = {completed}) / nullif(count(*), 0), 2) AS response_rate_pct,
  round(100.0 * count(*) FILTER (WHERE outcome = {completed})
    / nullif(count(*) - count(*) FILTER (WHERE outcome IN ({undelivered}, {deceased}, {ineligible})), 0), 2) AS adjusted_response_rate_pct`)

func rateViews() []string {
	views := []string{
		// Completions from outcome events, as loads wrote them before migration 15.
		sampleOutcomesView(sqlNames.Replace(`SELECT wave, ics, survey_record_id, min("at") AS completed_at
  FROM outcome_events WHERE outcome = {completed} GROUP BY wave, ics, survey_record_id`)),

		// Response rates by wave and ICS.
		`CREATE OR REPLACE VIEW response_rates AS
SELECT wave_id, ics, ` + rateColumns + `
FROM sample_outcomes GROUP BY wave_id, ics`,

		// Response rates by GP practice.
		`CREATE OR REPLACE VIEW response_rates_by_practice AS
SELECT wave_id, ics, gp_practice_code, ` + rateColumns + `
FROM sample_outcomes GROUP BY wave_id, ics, gp_practice_code`,

		// Response rates by demographic group: one row per (dimension, group), over age
		// band, gender, eFI band and ethnicity. Small groups are NOT suppressed here: this
		// is the analysts' warehouse, not a publication.
		`CREATE OR REPLACE VIEW response_rates_by_group AS
` + strings.Join([]string{
			groupRates("age_band"), groupRates("gender"), groupRates("efi_band"), groupRates("ethnicity"),
		}, "\nUNION ALL\n"),

		// Completed questionnaires by fieldwork day, with the running total and the
		// cumulative response rate over the ICS's whole sample.
		`CREATE OR REPLACE VIEW response_rates_by_day AS
WITH totals AS (
  SELECT wave_id, ics, count(*) AS sampled FROM sample GROUP BY wave_id, ics
), daily AS (
  SELECT wave_id, ics, completed_fieldwork_day AS fieldwork_day, ` + englandDay("min(completed_at)") + ` AS first_date,
    count(*) AS completed
  FROM sample_outcomes WHERE completed_at IS NOT NULL
  GROUP BY wave_id, ics, completed_fieldwork_day
)
SELECT d.wave_id, d.ics, d.fieldwork_day, d.first_date AS date, d.completed,
  sum(d.completed) OVER (PARTITION BY d.wave_id, d.ics ORDER BY d.fieldwork_day) AS completed_to_date,
  t.sampled,
  round(100.0 * sum(d.completed) OVER (PARTITION BY d.wave_id, d.ics ORDER BY d.fieldwork_day) / t.sampled, 2)
    AS cumulative_response_rate_pct
FROM daily d JOIN totals t ON t.wave_id = d.wave_id AND t.ics = d.ics`,

		// Completed questionnaires by the last mailing step sent before them: what each
		// letter or SMS brought in. "sent" is how many people that step went to.
		sqlNames.Replace(`CREATE OR REPLACE VIEW response_rates_by_mailing AS
WITH sent AS (
  SELECT wave_id, ics, step, min(sent_at) AS first_sent_at, count(DISTINCT survey_record_id) AS sent
  FROM mailing_history WHERE result <> {permanent_failure} GROUP BY wave_id, ics, step
), brought AS (
  SELECT wave_id, ics, last_step_before_response AS step, count(*) AS completed
  FROM sample_outcomes WHERE last_step_before_response IS NOT NULL
  GROUP BY wave_id, ics, last_step_before_response
)
SELECT s.wave_id, s.ics, s.step, s.first_sent_at, s.sent, coalesce(b.completed, 0) AS completed_after_step,
  round(100.0 * coalesce(b.completed, 0) / nullif(s.sent, 0), 2) AS completed_per_sent_pct
FROM sent s LEFT JOIN brought b ON b.wave_id = s.wave_id AND b.ics = s.ics AND b.step = s.step`),
	}
	return views
}

// englandDay is the SQL for the calendar day in England (Europe/London) of a
// TIMESTAMPTZ expression. A bare CAST(... AS DATE) takes the day in the reading
// session's time zone, so a server on UTC and an analyst's DuckDB in London would count
// a response at 00:30 BST on different days; fieldwork days are days in England.
func englandDay(expr string) string {
	return "CAST(timezone('Europe/London', " + expr + ") AS DATE)"
}

func groupRates(col string) string {
	return `SELECT wave_id, ics, '` + col + `' AS dimension, CAST(` + schemas.QuoteIdent(col) + ` AS VARCHAR) AS "group", ` +
		rateColumns + `
FROM sample_outcomes GROUP BY wave_id, ics, ` + schemas.QuoteIdent(col)
}

// sampleOutcomesView is every sampled person with the analysis variables, the current
// outcome, when the patient's questionnaire was first completed, the fieldwork day that
// was on (day 0 is the day the ICS's first message went out) and the last mailing step
// sent to them before it. completions is a query of each completed questionnaire's
// wave, ics, survey_record_id and completed_at.
func sampleOutcomesView(completions string) string {
	return sqlNames.Replace(`CREATE OR REPLACE VIEW sample_outcomes AS
WITH starts AS (
  SELECT wave_id, ics, min(sent_at) AS fieldwork_start FROM mailing_history GROUP BY wave_id, ics
), completed AS (
  ` + completions + `
), last_step AS (
  SELECT c.wave, c.ics, c.survey_record_id,
    arg_max(h.step, h.sent_at) AS last_step_before_response
  FROM completed c JOIN mailing_history h
    ON h.wave_id = c.wave AND h.ics = c.ics AND h.survey_record_id = c.survey_record_id AND h.sent_at <= c.completed_at
  WHERE h.result <> {permanent_failure}
  GROUP BY c.wave, c.ics, c.survey_record_id
)
SELECT s.wave_id, s.ics, s.survey_record_id, s.gp_practice_code, s.age_band, s.gender, s.ethnicity, s.efi_band,
  o.outcome, o.outcome_at, c.completed_at,
  CASE WHEN c.completed_at IS NOT NULL AND st.fieldwork_start IS NOT NULL
    THEN date_diff('day', ` + englandDay("st.fieldwork_start") + `, ` + englandDay("c.completed_at") + `) END AS completed_fieldwork_day,
  l.last_step_before_response
FROM sample s
JOIN outcomes o ON o.wave_id = s.wave_id AND o.ics = s.ics AND o.survey_record_id = s.survey_record_id
LEFT JOIN starts st ON st.wave_id = s.wave_id AND st.ics = s.ics
LEFT JOIN completed c ON c.wave = s.wave_id AND c.ics = s.ics AND c.survey_record_id = s.survey_record_id
LEFT JOIN last_step l ON l.wave = s.wave_id AND l.ics = s.ics AND l.survey_record_id = s.survey_record_id`)
}

// sqlNames fills the {placeholders} of the views' SQL from their declarations: outcome
// codes, the respondent type and mailing result the views filter on.
var sqlNames = strings.NewReplacer(
	"{completed}", strconv.Itoa(schemas.OutcomeCompleted),
	"{undelivered}", strconv.Itoa(schemas.OutcomeUndelivered),
	"{deceased}", strconv.Itoa(schemas.OutcomeDeceased),
	"{opted_out}", strconv.Itoa(schemas.OutcomeOptedOut),
	"{ineligible}", strconv.Itoa(schemas.OutcomeIneligible),
	"{no_response}", strconv.Itoa(schemas.OutcomeNoResponse),
	"{patient}", sqlString(schemas.RespondentPatient),
	"{permanent_failure}", sqlString(schemas.ResultPermanentFailure),
)
