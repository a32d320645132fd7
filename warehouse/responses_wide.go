package warehouse

import (
	"fmt"
	"sort"
	"strings"

	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// wideViews derives, from the questionnaire definitions, one view per questionnaire
// version with one row per kept response and one column per closed question (the
// version's own, then every local question of the bank, empty where not asked). A
// multi-answer question's codes are joined with ';'. Free-text questions have no
// column: their answers stay in the restricted area.
func wideViews() ([]string, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, fmt.Errorf("warehouse: questionnaires for the wide views: %w", err)
	}
	bank := cat.Bank()
	var bankIDs []string
	for _, q := range bank {
		if q.Kind != questionnaire.FreeText {
			bankIDs = append(bankIDs, q.ID)
		}
	}
	versions := cat.Versions()
	sort.Strings(versions)
	var out []string
	for _, v := range versions {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, err
		}
		var cols []string
		seen := map[string]bool{}
		for _, id := range append(qn.IDs(), bankIDs...) {
			q, ok := qn.Question(id)
			if seen[id] || (ok && q.Kind == questionnaire.FreeText) {
				continue
			}
			seen[id] = true
			cols = append(cols, fmt.Sprintf("string_agg(answer_code, ';' ORDER BY answer_code) FILTER (WHERE question_id = %s) AS %s",
				sqlString(id), schemas.QuoteIdent(id)))
		}
		name := "responses_wide_" + strings.NewReplacer("-", "_", ".", "_").Replace(v)
		out = append(out, fmt.Sprintf(`CREATE OR REPLACE VIEW %s AS
SELECT response_id, wave, ics, survey_record_id, respondent_type, channel, min(received_at) AS received_at,
  bool_and(complete) AS complete,
  %s
FROM current_responses WHERE questionnaire_version = %s
GROUP BY response_id, wave, ics, survey_record_id, respondent_type, channel`,
			schemas.QuoteIdent(name), strings.Join(cols, ",\n  "), sqlString(v)))
	}
	return out, nil
}

func init() {
	views, err := wideViews()
	if err != nil {
		panic(err) // the embedded definitions are validated by the questionnaire tests
	}
	Register(Migration{Version: 12, Name: "wide response views per questionnaire version", SQL: views})
}
