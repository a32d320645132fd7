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
	// Unindexed tables have a key but no primary-key index: DuckDB maintains an index on
	// every insert and writes it out at every checkpoint, which for a day's tens of
	// thousands of outcome events costs more than the rest of their load. Their keys stay
	// unique by how they are loaded: each key's rows come from one lake object (its ids
	// derive from the object's own source), loaded_files skips an object loaded before,
	// and an object rewritten with other bytes has its keys' rows deleted before it is
	// inserted again (see LoadParquet).
	Unindexed bool
}

// DDL is the table's CREATE TABLE statement.
func (t Table) DDL() string { return t.ddl(t.Name) }

// ddl is the table's CREATE TABLE statement under another name.
func (t Table) ddl(name string) string {
	if t.Unindexed {
		return t.Layout.UnindexedDDL(name)
	}
	return t.Layout.DDL(name)
}

func (t Table) hasKey() bool { return len(t.Layout.KeyNames()) > 0 }

// Tables are the warehouse tables derived from the lake, by name.
var Tables = map[string]Table{
	"audit_log": {Name: "audit_log", Layout: audit.Layout(),
		Doc: "every activity attempt and domain event, append-only"},
	"sample": {Name: "sample", Layout: schemas.SampleRecordLayout(), PartitionBy: []string{"wave_id", "ics"},
		Doc: "accepted sample records, pseudonymised (no NHS number, name, address or date of birth)"},
	"outcome_events": {Name: "outcome_events", Layout: schemas.OutcomeEventLayout(), Unindexed: true,
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

// outcomesView derives each sampled person's current outcome from events, a table or
// subquery of outcome events. A completed questionnaire wins over everything after it;
// death over opt-out; opt-out over an undelivered letter; no event at all means no
// response (6).
func outcomesView(events string) string {
	return `CREATE OR REPLACE VIEW outcomes AS
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
LEFT JOIN ` + events + ` e ON e.wave = s.wave_id AND e.ics = s.ics AND e.survey_record_id = s.survey_record_id
GROUP BY s.wave_id, s.ics, s.survey_record_id`
}

func init() {
	Register(Migration{Version: 2, Name: "audit_log", SQL: []string{Tables["audit_log"].Layout.DDL("audit_log")}})
	Register(Migration{Version: 3, Name: "sample", SQL: []string{Tables["sample"].Layout.DDL("sample")}})
	Register(Migration{Version: 4, Name: "outcome_events and outcomes view", SQL: []string{
		Tables["outcome_events"].Layout.DDL("outcome_events"), outcomesView("outcome_events")}})
	Register(Migration{Version: 5, Name: "mailing_history", SQL: []string{
		Tables["mailing_history"].Layout.DDL("mailing_history")}})
	Register(Migration{Version: 14, Name: "outcome_events without its primary-key index",
		SQL: rebuild(Tables["outcome_events"])})
}

// rebuild recreates table t from its present DDL, keeping its rows: DuckDB cannot drop
// a primary key in place. Views over the table name it, so they see the new table.
func rebuild(t Table) []string {
	name, tmp := schemas.QuoteIdent(t.Name), schemas.QuoteIdent(t.Name+"_rebuilt")
	return []string{
		"DROP TABLE IF EXISTS " + tmp,
		t.ddl(tmp),
		fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s", tmp, t.Layout.SelectList(), name),
		"DROP TABLE " + name,
		fmt.Sprintf("ALTER TABLE %s RENAME TO %s", tmp, name),
	}
}
