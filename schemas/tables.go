package schemas

import "slices"

// LakeTable is a table of the lake: a folder under lake/ of Parquet objects of one
// layout, partitioned by wave and ICS (LakePartition).
type LakeTable string

// The lake's tables.
const (
	LakeSample           LakeTable = "sample"            // SampleRecord
	LakeOutcomeEvents    LakeTable = "outcome_events"    // OutcomeEvent: DBS deaths, late opt-outs
	LakeMailingHistory   LakeTable = "mailing_history"   // MailingEvent
	LakeMailingSelection LakeTable = "mailing_selection" // Selection
	LakeFinalOutcomes    LakeTable = "final_outcomes"    // FinalOutcome
	LakeAudit            LakeTable = "audit"             // audit.Event batches
	// The daily response load's tables, partitioned by load date as well.
	LakeResponses          LakeTable = "responses"           // ResponseRow
	LakeResponseOutcomes   LakeTable = "outcomes"            // OutcomeEvent: undelivered, opted out, deceased
	LakeResponseRejections LakeTable = "response_rejections" // ResponseRejection
	LakeDuplicates         LakeTable = "duplicates"          // DuplicateResponse
)

// ResponseLoadTables are the lake tables the daily response load writes, in the order
// their objects are listed. Free text is not among them: it stays in the restricted
// area (FreeTextRoot) and never reaches the warehouse.
var ResponseLoadTables = []LakeTable{LakeResponses, LakeResponseOutcomes, LakeResponseRejections, LakeDuplicates}

// Table is a table of the DuckDB warehouse.
type Table string

// The warehouse's tables. Every one but the bookkeeping tables is loaded from lake
// objects (LakeTable.Warehouse).
const (
	TableSample             Table = "sample"
	TableOutcomeEvents      Table = "outcome_events"
	TableMailingHistory     Table = "mailing_history"
	TableAuditLog           Table = "audit_log"
	TableResponses          Table = "responses"
	TableResponseRejections Table = "response_rejections"
	TableResponseDuplicates Table = "response_duplicates"
	TableFinalOutcomes      Table = "final_outcomes"
	// Bookkeeping.
	TableLoadedFiles      Table = "loaded_files"
	TableSchemaMigrations Table = "schema_migrations"
	TableSchemaDerived    Table = "schema_derived"
)

// warehouseOf maps each lake table loaded into the warehouse to its table there. The
// lake names two of them differently (outcomes, duplicates) for history's sake.
var warehouseOf = map[LakeTable]Table{
	LakeSample:             TableSample,
	LakeOutcomeEvents:      TableOutcomeEvents,
	LakeMailingHistory:     TableMailingHistory,
	LakeAudit:              TableAuditLog,
	LakeResponses:          TableResponses,
	LakeResponseOutcomes:   TableOutcomeEvents,
	LakeResponseRejections: TableResponseRejections,
	LakeDuplicates:         TableResponseDuplicates,
	LakeFinalOutcomes:      TableFinalOutcomes,
}

// Warehouse is the warehouse table t's objects are loaded into; ok is false for a lake
// table the warehouse does not hold (selections).
func (t LakeTable) Warehouse() (Table, bool) {
	w, ok := warehouseOf[t]
	return w, ok
}

// WarehouseLakeTables are the lake tables the warehouse holds, in name order.
func WarehouseLakeTables() []LakeTable {
	out := make([]LakeTable, 0, len(warehouseOf))
	for t := range warehouseOf {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Object is the lake object at key of table t, addressed to t's warehouse table (none
// for a table the warehouse does not hold).
func (t LakeTable) Object(key string) LakeObject {
	w, _ := t.Warehouse()
	return LakeObject{Table: w, Key: key}
}

// LakeObject is one object an activity wrote to the lake and the warehouse table it
// belongs in, empty for an object only the lake keeps (a selection). Every activity that writes to the lake returns the objects it wrote, and
// the workflow hands them to the warehouse together, which loads those it holds in one
// transaction.
type LakeObject struct {
	Table Table  `json:"table,omitempty"`
	Key   string `json:"key"`
}

// InWarehouse reports whether the warehouse holds o.
func (o LakeObject) InWarehouse() bool { return o.Table != "" }
