package publication

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"icesurvey/codes"
	"icesurvey/fault"
	"icesurvey/schemas"
)

// The warehouse snapshot is read in a handful of set-based queries: the frame as a
// cross-tabulation, the outcome counts, which questionnaire versions and bank
// questions each ICS used, and each respondent type's respondents with every answer
// packed into one string (DuckDB joins the columns; Go splits them), so the cost is
// one scanned row per respondent, whatever the number of questions. The respondent's
// other columns (ICS, record, levels, response, version) are packed into the same
// string, before the answers: the driver hands each value over as a string of its
// own, several allocations apiece, which for ten columns cost more than the query's
// joins.

// answerSep separates the answer columns of a packed row, and the row's other
// columns: the ASCII unit separator, which no option code, code of the frame or
// identifier contains (they are short identifiers).
const answerSep = "\x1f"

// unpackRow splits a packed row into fields (len(fields) of them, in order) and the
// packed answers that follow; false when the row has fewer fields.
func unpackRow(row string, fields []*string) (answers string, ok bool) {
	for _, f := range fields {
		i := strings.Index(row, answerSep)
		if i < 0 {
			return "", false
		}
		*f, row = row[:i], row[i+len(answerSep):]
	}
	return row, true
}

// breakdownIndex is a variable's position in codes.Breakdowns.
func breakdownIndex(variable string) int { return slices.Index(codes.Breakdowns, variable) }

// declaredLevels are each breakdown variable's level codes in declared order
// (codes.BreakdownLevels), by position in codes.Breakdowns.
var declaredLevels = func() [][]string {
	out := make([][]string, len(codes.Breakdowns))
	for i, v := range codes.Breakdowns {
		out[i], _ = codes.BreakdownLevels(v)
	}
	return out
}()

// levelOf is the declared position of a sample value of breakdown variable b (the
// ethnicity code's group for ethnicity), or −1.
func levelOf(b int, value string) int {
	if codes.Breakdowns[b] == codes.BreakdownEthnicity {
		return codes.EthnicGroupIndexOf(value)
	}
	return slices.Index(declaredLevels[b], value)
}

// frameData is the eligible frame of every ICS of the wave.
type frameData struct {
	icss []string // sorted bytewise
	// counts[k][b][l] is ICS k's eligible frame count at level l of breakdown b
	// (codes.Breakdowns order).
	counts [][][]float64
	// outcomes[k][c-1] counts the sampled people of ICS k whose outcome is c.
	outcomes [][6]int64
}

func (f *frameData) index(ics string) (int, bool) { return slices.BinarySearch(f.icss, ics) }

// frameQuery counts, per ICS, the sample by each breakdown variable — all of it, and the
// eligible (outcome neither 3 nor 5) — and by outcome, in one pass over the sample.
//
// Each person's outcome is the warehouse's outcomes view's, computed here over the
// wave's outcome events, completions and records left out because another ICS's
// sample keeps the person (cross_ics_samples: outcome 5, ineligible, here) only (a few
// per cent of the sample each day of fieldwork) rather than grouped over every sampled
// person: the view ranks a completed questionnaire over death, death over opting out, opting out over an undelivered
// letter, that over ineligibility, and no event at all is no response (6); rank r maps
// back to the code [1, 3, 4, 2, 5, 6][r]. TestFrameQueryMatchesOutcomesView holds the
// two to the same answer.
const frameQuery = `WITH ranked AS (
  SELECT ics, survey_record_id,
    min(CASE outcome WHEN 1 THEN 1 WHEN 3 THEN 2 WHEN 4 THEN 3 WHEN 2 THEN 4 WHEN 5 THEN 5 ELSE 6 END) AS r
  FROM (SELECT ics, survey_record_id, outcome FROM outcome_events WHERE wave = ?
        UNION ALL SELECT ics, survey_record_id, 1 FROM completions WHERE wave = ?
        UNION ALL SELECT ics, survey_record_id, 5 FROM cross_ics_samples WHERE wave_id = ? AND left_out)
  GROUP BY ALL
), people AS (
  SELECT s.ics, s.age_band, s.gender, s.ethnicity, s.efi_band, [1, 3, 4, 2, 5, 6][coalesce(e.r, 6)] AS outcome
  FROM sample s LEFT JOIN ranked e ON e.ics = s.ics AND e.survey_record_id = s.survey_record_id
  WHERE s.wave_id = ?
)
SELECT ics, age_band, gender, ethnicity, efi_band, outcome, count(*), count(*) FILTER (WHERE outcome NOT IN (3, 5))
FROM people
GROUP BY GROUPING SETS ((ics, age_band), (ics, gender), (ics, ethnicity), (ics, efi_band), (ics, outcome))
ORDER BY ALL`

// readFrame reads the wave's ICSs, their eligible frame (the declared sample less the
// deceased, outcome 3, and the ineligible, outcome 5) by each breakdown variable, and
// every ICS's outcome counts, in one grouped query (frameQuery).
func readFrame(ctx context.Context, db *sql.DB, wave string) (*frameData, error) {
	f := &frameData{}
	rows, err := db.QueryContext(ctx, frameQuery, wave, wave, wave, wave)
	if err != nil {
		return nil, fmt.Errorf("publication: read the sample frame of wave %s: %w", wave, err)
	}
	defer rows.Close()
	type cell struct {
		ics         string
		vals        [4]sql.NullString
		outcome     sql.NullInt64
		n, eligible int64
	}
	var cells []cell
	seen := map[string]bool{}
	for rows.Next() {
		var c cell
		if err := rows.Scan(&c.ics, &c.vals[0], &c.vals[1], &c.vals[2], &c.vals[3], &c.outcome, &c.n, &c.eligible); err != nil {
			return nil, fmt.Errorf("publication: read the sample frame of wave %s: %w", wave, err)
		}
		cells = append(cells, c)
		if !seen[c.ics] {
			seen[c.ics] = true
			f.icss = append(f.icss, c.ics)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("publication: read the sample frame of wave %s: %w", wave, err)
	}
	if len(f.icss) == 0 {
		return nil, fault.Errorf(fault.BadInput, "publication: wave %s has no sample in the warehouse", wave)
	}
	sort.Strings(f.icss)
	f.counts = make([][][]float64, len(f.icss))
	f.outcomes = make([][6]int64, len(f.icss))
	for k := range f.icss {
		f.counts[k] = make([][]float64, len(codes.Breakdowns))
		for b := range codes.Breakdowns {
			f.counts[k][b] = make([]float64, len(declaredLevels[b]))
		}
	}
	for _, c := range cells {
		k, _ := f.index(c.ics)
		if c.outcome.Valid {
			if c.outcome.Int64 < 1 || c.outcome.Int64 > 6 {
				return nil, fmt.Errorf("publication: outcomes view: ICS %s: outcome %d is not a code 1–6", c.ics, c.outcome.Int64)
			}
			f.outcomes[k][c.outcome.Int64-1] += c.n
			continue
		}
		for b := range codes.Breakdowns {
			if !c.vals[b].Valid {
				continue
			}
			if c.eligible == 0 {
				continue // only the deceased or ineligible hold this value
			}
			l := levelOf(b, c.vals[b].String)
			if l < 0 {
				return nil, fault.Errorf(fault.BadInput, "publication: table sample, ICS %s, field %s: %d eligible records hold %q, which is not one of the declared levels %v",
					c.ics, codes.Breakdowns[b], c.eligible, c.vals[b].String, declaredLevels[b])
			}
			f.counts[k][b][l] += float64(c.eligible)
		}
	}
	return f, nil
}

// usage is which questionnaire versions and bank questions the respondents of each
// type used, per ICS (population.usage reads it off the respondents).
type usage struct {
	// versions[type][ics] are the versions answered, sorted.
	versions map[string]map[string][]string
	// bank[type][ics] are the bank questions answered at least once.
	bank map[string]map[string][]string
}

// responseColumns lists the answer columns the snapshot's responses table has: the
// table the queries read, as pragma_table_info finds it, in a fraction of a
// millisecond (information_schema.columns, a view over every schema's columns, took
// 10–20 ms on a fresh snapshot, before any of the reads could start).
func responseColumns(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('responses')`)
	if err != nil {
		return nil, fmt.Errorf("publication: read the columns of responses: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("publication: read the columns of responses: %w", err)
		}
		out[c] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("publication: the snapshot has no responses table")
	}
	return out, rows.Err()
}

// rawRespondent is one respondent as read: where, who (the frame's levels) and the
// packed answers of the columns asked for.
type rawRespondent struct {
	ics        string
	recordID   string
	responseID string
	version    string
	levels     [4]string // codes.Breakdowns order, from the sample (patients)
	answers    string
}

// packedAnswers is the SQL that packs the named answer columns of r into one string.
func packedAnswers(ids []string) string {
	if len(ids) == 0 {
		return "''"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "coalesce(CAST(r." + schemas.QuoteIdent(id) + " AS VARCHAR), '')"
	}
	return "concat_ws(chr(31), " + strings.Join(parts, ", ") + ")"
}

// responsesPacked is the SQL of the wave's complete, current responses of one
// respondent type (schemas.RespondentPatient or schemas.RespondentCarer), with the
// answers of ids packed (packedAnswers). They are packed
// here, before the earliest response per survey record is picked, so that the
// picking (a window over every response) carries one string per row, not a column
// per question.
func responsesPacked(ids []string, respondentType string) string {
	return `SELECT r.ics, r.survey_record_id, r.response_id, r.questionnaire_version, r.received_at, ` + packedAnswers(ids) + ` AS answers
  FROM current_responses r
  WHERE r.wave = ? AND r.complete AND r.respondent_type = '` + respondentType + `'`
}

// readPatients streams the wave's patient respondents into fn: one row per completed
// questionnaire (the completions view), with age band, gender, ethnicity and eFI band
// from the sample frame and the answers of its completed response (the earliest
// complete, current patient response of the person; none for a completion recorded
// without one), ordered by ICS and survey record id.
func readPatients(ctx context.Context, db *sql.DB, wave string, ids []string, fn func(*rawRespondent) error) error {
	q := patientsQuery(ids)
	rows, err := db.QueryContext(ctx, q, wave, wave)
	if err != nil {
		return fmt.Errorf("publication: read the patient respondents of wave %s: %w", wave, err)
	}
	defer rows.Close()
	var r rawRespondent
	var row, inSample string
	fields := []*string{&r.ics, &r.recordID, &inSample, &r.levels[0], &r.levels[1], &r.levels[2], &r.levels[3], &r.responseID, &r.version}
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return fmt.Errorf("publication: read the patient respondents of wave %s: %w", wave, err)
		}
		var ok bool
		if r.answers, ok = unpackRow(row, fields); !ok {
			return fmt.Errorf("publication: read the patient respondents of wave %s: a row of fewer than %d fields", wave, len(fields)+1)
		}
		if inSample != "y" {
			return fmt.Errorf("publication: view completions, ICS %s, survey record %s: a completed questionnaire of someone not in the sample", r.ics, r.recordID)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("publication: read the patient respondents of wave %s: %w", wave, err)
	}
	return nil
}

// patientsQuery is readPatients' query, with the answers of ids packed.
func patientsQuery(ids []string) string {
	return `WITH resp AS (
  SELECT ics, survey_record_id, response_id, questionnaire_version, answers,
    row_number() OVER (PARTITION BY ics, survey_record_id ORDER BY received_at, response_id) AS rn
  FROM (` + responsesPacked(ids, schemas.RespondentPatient) + `)
)
SELECT concat_ws(chr(31), coalesce(c.ics, ''), coalesce(c.survey_record_id, ''), CASE WHEN s.survey_record_id IS NULL THEN 'n' ELSE 'y' END,
  coalesce(s.age_band, ''), coalesce(s.gender, ''), coalesce(s.ethnicity, ''), coalesce(s.efi_band, ''),
  coalesce(r.response_id, ''), coalesce(r.questionnaire_version, ''), coalesce(r.answers, ''))
FROM completions c
LEFT JOIN sample s ON s.wave_id = c.wave AND s.ics = c.ics AND s.survey_record_id = c.survey_record_id
LEFT JOIN resp r ON r.ics = c.ics AND r.survey_record_id = c.survey_record_id AND r.rn = 1
WHERE c.wave = ?
ORDER BY c.ics, c.survey_record_id`
}

// readCarers streams the wave's carer respondents into fn: the earliest complete,
// current carer response per survey record, ordered by ICS and survey record id.
// Carers have no frame record of their own (a carer answers with the patient's
// invitation), so no levels are read.
func readCarers(ctx context.Context, db *sql.DB, wave string, ids []string, fn func(*rawRespondent) error) error {
	q := carersQuery(ids)
	rows, err := db.QueryContext(ctx, q, wave)
	if err != nil {
		return fmt.Errorf("publication: read the carer respondents of wave %s: %w", wave, err)
	}
	defer rows.Close()
	var r rawRespondent
	var row string
	fields := []*string{&r.ics, &r.recordID, &r.responseID, &r.version}
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return fmt.Errorf("publication: read the carer respondents of wave %s: %w", wave, err)
		}
		var ok bool
		if r.answers, ok = unpackRow(row, fields); !ok {
			return fmt.Errorf("publication: read the carer respondents of wave %s: a row of fewer than %d fields", wave, len(fields)+1)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("publication: read the carer respondents of wave %s: %w", wave, err)
	}
	return nil
}

// carersQuery is readCarers' query, with the answers of ids packed.
func carersQuery(ids []string) string {
	return `SELECT concat_ws(chr(31), coalesce(ics, ''), coalesce(survey_record_id, ''), coalesce(response_id, ''), coalesce(questionnaire_version, ''), answers) FROM (
  SELECT ics, survey_record_id, response_id, questionnaire_version, answers,
    row_number() OVER (PARTITION BY ics, survey_record_id ORDER BY received_at, response_id) AS rn
  FROM (` + responsesPacked(ids, schemas.RespondentCarer) + `)
) WHERE rn = 1
ORDER BY ics, survey_record_id`
}

// lineageTables are the warehouse tables a release is computed from, each loaded
// from lake objects recorded in loaded_files: the frame and the demographics (sample),
// the outcomes (outcome_events), the answers and completions (responses, and
// response_duplicates, which decides which responses are current).
var lineageTables = []string{"sample", "outcome_events", "responses", "response_duplicates"}

// LakeObject is one lake object a release was computed from.
type LakeObject struct {
	Table     string `json:"table"`
	ObjectKey string `json:"object_key"`
	SHA256    string `json:"sha256"`
	Rows      int64  `json:"rows"`
}

// readLineage lists the wave's lake objects loaded into the tables a release reads.
func readLineage(ctx context.Context, db *sql.DB, wave string) ([]LakeObject, error) {
	ph := make([]string, len(lineageTables))
	args := []any{"/wave=" + wave + "/"}
	for i, t := range lineageTables {
		ph[i] = "?"
		args = append(args, t)
	}
	rows, err := db.QueryContext(ctx, `SELECT table_name, object_key, sha256, rows FROM loaded_files
WHERE contains(object_key, ?) AND table_name IN (`+strings.Join(ph, ", ")+`)
ORDER BY table_name, object_key`, args...)
	if err != nil {
		return nil, fmt.Errorf("publication: read loaded_files for wave %s: %w", wave, err)
	}
	defer rows.Close()
	var out []LakeObject
	for rows.Next() {
		var o LakeObject
		if err := rows.Scan(&o.Table, &o.ObjectKey, &o.SHA256, &o.Rows); err != nil {
			return nil, fmt.Errorf("publication: read loaded_files for wave %s: %w", wave, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
