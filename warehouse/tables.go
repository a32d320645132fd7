package warehouse

import (
	"fmt"
	"slices"
	"strings"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/schemas"
)

// Table is a warehouse table loaded from lake objects of one layout.
type Table struct {
	Name   schemas.Table
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
	// AddedColumns tables gained nullable columns after lake objects were written
	// without them: an object is loaded by column name, the missing columns NULL.
	AddedColumns bool
}

// DDL is the table's CREATE TABLE statement.
func (t Table) DDL() string { return t.ddl(string(t.Name)) }

// ddl is the table's CREATE TABLE statement under another name.
func (t Table) ddl(name string) string {
	if t.Unindexed {
		return t.Layout.UnindexedDDL(name)
	}
	return t.Layout.DDL(name)
}

func (t Table) hasKey() bool { return len(t.Layout.KeyNames()) > 0 }

// Tables are the warehouse tables derived from the lake, by name.
var Tables = map[schemas.Table]Table{
	schemas.TableAuditLog: {Name: schemas.TableAuditLog, Layout: audit.Layout(),
		Doc: "every activity attempt and domain event, append-only"},
	schemas.TableSample: {Name: schemas.TableSample, Layout: schemas.SampleRecordLayout(), PartitionBy: []string{"wave_id", "ics"},
		Doc: "accepted sample records, pseudonymised (no NHS number, name, address or date of birth)"},
	schemas.TableOutcomeEvents: {Name: schemas.TableOutcomeEvents, Layout: schemas.OutcomeEventLayout(), Unindexed: true, AddedColumns: true,
		Doc: "every fact about a person's outcome; see the outcomes view for the current one"},
	schemas.TableMailingHistory: {Name: schemas.TableMailingHistory, Layout: schemas.MailingEventLayout(),
		Doc: "one row per message per person per mailing step"},
	schemas.TableFinalOutcomes: {Name: schemas.TableFinalOutcomes, Layout: schemas.FinalOutcomeLayout(), PartitionBy: []string{"wave_id", "ics"},
		Doc: "each sampled person's outcome code in the ICS's closing record, taken once its fieldwork had closed and the supplier's last files were loaded; an ICS with rows here has closed"},
}

// TableNames lists the loadable tables, sorted.
func TableNames() []schemas.Table {
	out := make([]schemas.Table, 0, len(Tables))
	for n := range Tables {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// LookupTable returns the named table, or a fault.Configuration error naming the
// known ones.
func LookupTable(name schemas.Table) (Table, error) {
	t, ok := Tables[name]
	if !ok {
		return Table{}, fault.Errorf(fault.Configuration, "warehouse: no table %q (known: %v)", name, TableNames())
	}
	return t, nil
}

// OutcomeRankSQL is the SQL expression of a person's current outcome over the
// aggregated outcome codes in column col (one row per event), generated from
// schemas.OutcomePrecedence: the strongest code present, else schemas.OutcomeDefault.
func OutcomeRankSQL(col string) string {
	var b strings.Builder
	b.WriteString("CASE\n")
	for _, code := range schemas.OutcomePrecedence {
		fmt.Fprintf(&b, "    WHEN bool_or(%s = %d) THEN %d\n", col, code, code)
	}
	fmt.Fprintf(&b, "    ELSE %d END", schemas.OutcomeDefault)
	return b.String()
}

// outcomesView derives each sampled person's current outcome from events, a table or
// subquery of outcome events, ranked by OutcomeRankSQL: a completed questionnaire wins
// over everything after it; death over opt-out; opt-out over an undelivered letter; no
// event at all means no response.
func outcomesView(events string) string {
	return `CREATE OR REPLACE VIEW outcomes AS
SELECT s.wave_id, s.ics, s.survey_record_id,
  ` + OutcomeRankSQL("e.outcome") + ` AS outcome,
  max(e.at) AS outcome_at
FROM sample s
LEFT JOIN ` + events + ` e ON e.wave = s.wave_id AND e.ics = s.ics AND e.survey_record_id = s.survey_record_id
GROUP BY s.wave_id, s.ics, s.survey_record_id`
}

// ddl is table name's CREATE TABLE statement.
func ddl(name schemas.Table) string { return Tables[name].Layout.DDL(string(name)) }

func init() {
	Register(Migration{Version: 2, Name: string(schemas.TableAuditLog), SQL: []string{ddl(schemas.TableAuditLog)}})
	Register(Migration{Version: 3, Name: string(schemas.TableSample), SQL: []string{ddl(schemas.TableSample)}})
	Register(Migration{Version: 4, Name: "outcome_events and outcomes view", SQL: []string{
		ddl(schemas.TableOutcomeEvents), outcomesView(string(schemas.TableOutcomeEvents))}})
	Register(Migration{Version: 5, Name: string(schemas.TableMailingHistory), SQL: []string{ddl(schemas.TableMailingHistory)}})
	Register(Migration{Version: 14, Name: "outcome_events without its primary-key index",
		SQL: rebuild(Tables[schemas.TableOutcomeEvents])})
	// The opt-out row an event came from, so a consent withdrawal derived from it names
	// file and row (#15). Appended, as ALTER TABLE appends: the layout declares it last.
	Register(Migration{Version: 19, Name: "outcome_events.source_row", SQL: []string{
		`ALTER TABLE outcome_events ADD COLUMN IF NOT EXISTS source_row BIGINT`}})
	// The closing records, so the dashboard knows which ICSs have closed; a warehouse
	// rebuilt from the lake loads those written before.
	Register(Migration{Version: 20, Name: string(schemas.TableFinalOutcomes), SQL: []string{ddl(schemas.TableFinalOutcomes)}})
}

// rebuild recreates table t from its present DDL, keeping its rows: DuckDB cannot drop
// a primary key in place. Views over the table name it, so they see the new table. The
// rows are copied by column name: a column the layout gained after the table was made
// (and a later migration adds) is NULL.
func rebuild(t Table) []string {
	name, tmp := schemas.QuoteIdent(string(t.Name)), schemas.QuoteIdent(string(t.Name)+"_rebuilt")
	return []string{
		"DROP TABLE IF EXISTS " + tmp,
		t.ddl(tmp),
		fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM %s", tmp, name),
		"DROP TABLE " + name,
		fmt.Sprintf("ALTER TABLE %s RENAME TO %s", tmp, name),
	}
}
