package warehouse

import (
	"fmt"
	"sort"

	"icesurvey/audit"
	"icesurvey/schemas"
)

// Table is a warehouse table loaded from lake objects of one layout.
type Table struct {
	Name   string
	Layout *schemas.Layout
	// PartitionBy names the columns whose values identify what one lake object
	// replaces (e.g. wave_id and ics for a wave's sample). Empty: rows are upserted by key.
	PartitionBy []string
	// Doc describes the table for analysts.
	Doc string
}

func (t Table) hasKey() bool {
	for _, c := range t.Layout.Columns {
		if c.Key {
			return true
		}
	}
	return false
}

// Tables are the warehouse tables derived from the lake, by name.
var Tables = map[string]Table{
	"audit_log": {Name: "audit_log", Layout: audit.Layout(),
		Doc: "every activity attempt and domain event, append-only"},
	"sample": {Name: "sample", Layout: schemas.SampleRecordLayout(), PartitionBy: []string{"wave_id", "ics"},
		Doc: "accepted sample records, pseudonymised (no NHS number, name, address or date of birth)"},
	"outcome_events": {Name: "outcome_events", Layout: schemas.OutcomeEventLayout(),
		Doc: "every fact about a person's outcome; see the outcomes view for the current one"},
	"mailing_history": {Name: "mailing_history", Layout: schemas.MailingEventLayout(),
		Doc: "one row per message per person per mailing step"},
}

// TableNames lists the loadable tables, sorted.
func TableNames() []string {
	out := make([]string, 0, len(Tables))
	for n := range Tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupTable returns the named table or an error naming the known ones.
func LookupTable(name string) (Table, error) {
	t, ok := Tables[name]
	if !ok {
		return Table{}, fmt.Errorf("warehouse: no table %q (known: %v)", name, TableNames())
	}
	return t, nil
}

// outcomesView derives each sampled person's current outcome from their events. A
// completed questionnaire wins over everything after it; death over opt-out; opt-out
// over an undelivered letter; no event at all means no response (6).
const outcomesView = `CREATE OR REPLACE VIEW outcomes AS
SELECT s.wave_id, s.ics, s.survey_record_id,
  CASE
    WHEN bool_or(e.outcome = 1) THEN 1
    WHEN bool_or(e.outcome = 3) THEN 3
    WHEN bool_or(e.outcome = 4) THEN 4
    WHEN bool_or(e.outcome = 2) THEN 2
    WHEN bool_or(e.outcome = 5) THEN 5
    ELSE 6 END AS outcome,
  max(e.at) AS outcome_at
FROM sample s
LEFT JOIN outcome_events e ON e.wave = s.wave_id AND e.ics = s.ics AND e.survey_record_id = s.survey_record_id
GROUP BY s.wave_id, s.ics, s.survey_record_id`

func init() {
	Register(Migration{Version: 2, Name: "audit_log", SQL: []string{Tables["audit_log"].Layout.DDL("audit_log")}})
	Register(Migration{Version: 3, Name: "sample", SQL: []string{Tables["sample"].Layout.DDL("sample")}})
	Register(Migration{Version: 4, Name: "outcome_events and outcomes view", SQL: []string{
		Tables["outcome_events"].Layout.DDL("outcome_events"), outcomesView}})
	Register(Migration{Version: 5, Name: "mailing_history", SQL: []string{
		Tables["mailing_history"].Layout.DDL("mailing_history")}})
}
