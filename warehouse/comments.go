package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"icesurvey/schemas"
)

// Analysts read the warehouse in DuckDB, not in this code, so each table and column
// carries its description as a DuckDB comment, from the table's Doc and the layout's
// column docs:
//
//	SELECT table_name, comment FROM duckdb_tables();
//	SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = 'sample';
//
// The comments follow the code: every Open sets those that differ (a changed doc
// reaches the warehouse at the next Open), and only on tables and columns that exist,
// so a doc never stops the warehouse opening.

var documented []Table

// viewDocs describe the analysts' views, by name; a name ending in "*" covers every
// view whose name starts with what comes before it.
var viewDocs = map[string]string{
	"outcomes":                       "each sampled person's current outcome code, ranked from their outcome events (1 completed, 2 undelivered, 3 deceased, 4 opted out or too ill, 5 ineligible, 6 no response); 5 too for someone another ICS's sample holds and keeps (cross_ics_samples)",
	"cross_ics_samples":              "every sample record whose person (by NHS pseudonym) is also in another ICS's sample of the wave: which ICS keeps them (the first to mail them, else the lowest code), whether this ICS mailed them, and left_out when it did not and does not keep them: no message goes to them here and their outcome here is 5 (ineligible), reason in_another_ics_sample",
	"completions":                    "each patient's completed questionnaire and when it arrived: the first complete patient response not discarded as a duplicate",
	"sample_outcomes":                "every sampled person with the analysis variables, the current outcome, when their questionnaire was completed, on which fieldwork day (a day in England) and after which mailing step",
	"response_rates":                 "outcome counts and the response rate (and the adjusted rate, leaving out those the survey could never reach) by wave and ICS",
	"response_rates_by_practice":     "outcome counts and response rates by GP practice",
	"response_rates_by_group":        "outcome counts and response rates by age band, gender, eFI band and ethnicity group",
	"response_rates_by_day":          "cumulative completions and response rate by fieldwork day, counted in days in England (Europe/London; day 0: the day of the ICS's first message)",
	"response_rates_by_mailing":      "completions after each mailing step, before the next",
	"current_responses":              "the responses analysts should use: a response discarded as a duplicate (or an incomplete one later replaced) is left out",
	"respondents":                    "who answered, when and how: one row per kept response, no answers",
	"responses_by_channel":           "loaded responses by channel and respondent type",
	"response_answers":               "the long shape: one row per answer code of each kept response, for % positive by question (codes as text)",
	"responses_wide_*":               "one questionnaire version's responses with only the columns it can have: its own closed questions, then the bank questions it offered",
	"linked_experience_by_burden":    "linked respondents by treatment-burden group answering each scored question positively or not (counts: apply disclosure rules before showing; linkage_disclosed holds what may be shown)",
	"linked_experience_by_condition": "linked respondents by condition flag answering each scored question positively or not (counts: apply disclosure rules before showing)",
	"linked_utilisation_by_group":    "the sums behind mean linked utilisation by frame variable (restricted, like linked_respondents it sums: not disclosure-checked, cells of one person; never shown outside the analysts)",
}

// viewDoc is the doc of the view named, if any.
func viewDoc(name string) string {
	if d, ok := viewDocs[name]; ok {
		return d
	}
	for pattern, d := range viewDocs {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(name, prefix) {
			return d
		}
	}
	return ""
}

// Document adds tables whose comments the warehouse keeps (those of Tables are always
// kept); a package that declares its own warehouse tables calls it from init.
func Document(tables ...Table) {
	registryMu.Lock()
	defer registryMu.Unlock()
	documented = append(documented, tables...)
}

// Comments lists the comment each documented table and column should carry: table name
// → "" for the table, column name for a column.
func Comments() map[string]map[string]string {
	var tables []Table
	for _, name := range TableNames() {
		tables = append(tables, Tables[name])
	}
	registryMu.Lock()
	tables = append(tables, documented...)
	registryMu.Unlock()
	out := map[string]map[string]string{}
	for _, t := range tables {
		m := out[string(t.Name)]
		if m == nil {
			m = map[string]string{}
		}
		if t.Doc != "" {
			m[""] = t.Doc
		}
		if t.Layout != nil {
			for _, c := range t.Layout.Columns {
				if c.Doc != "" {
					m[c.Name] = c.Doc
				}
			}
		}
		if len(m) > 0 {
			out[string(t.Name)] = m
		}
	}
	return out
}

// applyComments sets every documented comment that the warehouse does not hold yet.
func applyComments(ctx context.Context, tx *sql.Tx) error {
	want := Comments()
	have := map[string]map[string]string{} // what exists, with its comment
	rows, err := tx.QueryContext(ctx, `SELECT table_name, coalesce(comment, '') FROM duckdb_tables() WHERE schema_name = 'main'`)
	if err != nil {
		return fmt.Errorf("warehouse: read table comments: %w", err)
	}
	for rows.Next() {
		var table, comment string
		if err := rows.Scan(&table, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read table comments: %w", err)
		}
		have[table] = map[string]string{"": comment}
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT table_name, column_name, coalesce(comment, '') FROM duckdb_columns() WHERE schema_name = 'main'`)
	if err != nil {
		return fmt.Errorf("warehouse: read column comments: %w", err)
	}
	for rows.Next() {
		var table, column, comment string
		if err := rows.Scan(&table, &column, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read column comments: %w", err)
		}
		if have[table] != nil { // a base table's column (views are not documented here)
			have[table][column] = comment
		}
	}
	rows.Close()
	if err := commentViews(ctx, tx); err != nil {
		return err
	}
	tables := make([]string, 0, len(want))
	for t := range want {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, table := range tables {
		cols := make([]string, 0, len(want[table]))
		for c := range want[table] {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, col := range cols {
			doc := want[table][col]
			current, exists := have[table][col]
			if !exists || current == doc {
				continue
			}
			stmt := fmt.Sprintf("COMMENT ON TABLE %s IS %s", schemas.QuoteIdent(table), sqlString(doc))
			if col != "" {
				stmt = fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", schemas.QuoteIdent(table), schemas.QuoteIdent(col), sqlString(doc))
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("warehouse: %s: %w", stmt, err)
			}
		}
	}
	return nil
}

// commentViews sets the doc of every view that has one and does not carry it yet.
func commentViews(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT view_name, coalesce(comment, '') FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY view_name`)
	if err != nil {
		return fmt.Errorf("warehouse: read view comments: %w", err)
	}
	var stmts []string
	for rows.Next() {
		var view, comment string
		if err := rows.Scan(&view, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read view comments: %w", err)
		}
		if doc := viewDoc(view); doc != "" && doc != comment {
			stmts = append(stmts, fmt.Sprintf("COMMENT ON VIEW %s IS %s", schemas.QuoteIdent(view), sqlString(doc)))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("warehouse: %s: %w", stmt, err)
		}
	}
	return nil
}
