package linkage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"

	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The release's staged answers (one row per code of each closed, non-consent question
// of each kept response, scored) are made by DuckDB reading the wave's response objects
// directly: it reads the responses' answer columns, keeps the kept responses' (a join
// to their staged ids), turns them into rows (UNPIVOT), splits multi-choice answers and
// looks each code's score up in a small table of every question's codes, and writes
// the staged Parquet itself. Scoring them in Go (LoadCohort, which validation still
// uses) meant reading every response's some seventy columns a second time and writing
// millions of rows through the Go Parquet writer: about two fifths of a national
// release's cohort and staging. The rules are the same as LoadCohort's, and
// TestStagedAnswersMatchCohort holds the two to the same rows.
//
// This SQL is DuckDB's, not one of the portable sql/*.sql files: staging is done
// locally, by the embedded DuckDB, for every engine (StageRelations writes its result
// for a distributed one), so the engines the portable SQL is written for never run it.

// keptResponse is one kept response of the cohort, staged for the answers' query: its
// respondent by their place in the cohort (the frame's person_index).
type keptResponse struct {
	ResponseID  string `col:"response_id,unique"`
	PersonIndex int32  `col:"person_index,unique"`
}

// answerQuestion is one closed, non-consent question whose answers are staged.
type answerQuestion struct {
	QuestionID string `col:"question_id"`
	Multi      bool   `col:"multi"`
	Scored     bool   `col:"scored"`
}

// answerCode is the score of one code of a question: every option's, and every
// positive code's (a positive code not among the options is still positive).
type answerCode struct {
	QuestionID string `col:"question_id"`
	AnswerCode string `col:"answer_code"`
	Positive   bool   `col:"positive"`
	InBase     bool   `col:"in_base"`
}

// spaceChars are the characters strings.TrimSpace trims (unicode.IsSpace), for DuckDB's
// trim to trim the same ones: its default trims spaces only. None of them is special
// inside a regular expression's character class.
var spaceChars = sync.OnceValue(func() string {
	var b strings.Builder
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.IsSpace(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
})

// answerStage is what the answers' query needs of a cohort, its inputs staged under
// dir by prepareAnswers: the cohort itself can be let go before the query runs.
type answerStage struct {
	dir, wave                    string
	kept                         int
	keptPath, qsPath, scoresPath string
	qs                           []answerQuestion
	// compression is the staged answers' Parquet compression (zstd when empty).
	compression string
}

// prepareAnswers stages the inputs of the cohort's answers' query under dir (a local
// directory ending in /): the kept responses' ids and every question's codes.
func prepareAnswers(dir string, cohort *Cohort, options ...lake.WriterOption) (*answerStage, error) {
	questions, err := questionIndex()
	if err != nil {
		return nil, err
	}
	var qs []answerQuestion
	var scores []answerCode
	for _, col := range schemas.ResponseRowLayout().ExtensionColumns() {
		q, ok := questions[col.Name]
		if !ok || q.Theme == questionnaire.ThemeConsent {
			continue
		}
		qs = append(qs, answerQuestion{QuestionID: q.ID, Multi: q.Kind == questionnaire.Multi, Scored: q.Scored()})
		seen := map[string]bool{}
		for _, code := range append(optionCodes(q), q.Positive...) {
			if !seen[code] {
				seen[code] = true
				scores = append(scores, answerCode{QuestionID: q.ID, AnswerCode: code, Positive: q.IsPositive(code), InBase: q.InBase(code)})
			}
		}
	}
	var kept []keptResponse
	for i := range cohort.People {
		if p := &cohort.People[i]; p.Responded {
			kept = append(kept, keptResponse{ResponseID: p.ResponseID, PersonIndex: int32(i)})
		}
	}
	keptPath, qsPath, scoresPath := dir+"answer_kept/part-0.parquet", dir+"answer_questions/part-0.parquet", dir+"answer_codes/part-0.parquet"
	if err := writeLocal(keptPath, schemas.LayoutOf[keptResponse]("answer_kept"), kept, options...); err != nil {
		return nil, fmt.Errorf("kept responses: %w", err)
	}
	if err := writeLocal(qsPath, schemas.LayoutOf[answerQuestion]("answer_questions"), qs, options...); err != nil {
		return nil, fmt.Errorf("answer questions: %w", err)
	}
	if err := writeLocal(scoresPath, schemas.LayoutOf[answerCode]("answer_codes"), scores, options...); err != nil {
		return nil, fmt.Errorf("answer codes: %w", err)
	}
	return &answerStage{dir: dir, wave: cohort.WaveID, kept: len(kept), keptPath: keptPath, qsPath: qsPath, scoresPath: scoresPath, qs: qs}, nil
}

// stageAnswers writes the cohort's staged answers to dir+"answers/part-0.parquet",
// reading the wave's response objects with conn.
func stageAnswers(ctx context.Context, conn *sql.Conn, st store.Store, a *answerStage) error {
	dir, qs, keptPath, qsPath, scoresPath := a.dir, a.qs, a.keptPath, a.qsPath, a.scoresPath
	out := dir + "answers/part-0.parquet"
	keys, err := lakeObjects(ctx, st, waveRoot(schemas.LakeResponses, a.wave))
	if err != nil {
		return err
	}
	compression := cmp.Or(a.compression, "zstd")
	if len(keys) == 0 || a.kept == 0 {
		// No response to read (read_parquet refuses an empty list): no answers.
		return writeLocal(out, schemas.LinkageAnswerLayout(), []schemas.LinkageAnswer(nil))
	}
	var files []string
	for _, k := range keys {
		p, cleanup, err := lake.LocalCopy(ctx, st, k)
		if err != nil {
			return fmt.Errorf("read %s: %w", k, err)
		}
		defer cleanup()
		files = append(files, sqlQuote(p))
	}
	// union_by_name: an object lacks the columns of questions its versions never asked
	// (NULL, no answer, as LoadCohort reads them); no hive partitioning: the objects'
	// ics= and load_date= directories are not columns here.
	responses := fmt.Sprintf("read_parquet([%s], union_by_name = true, hive_partitioning = false)", strings.Join(files, ", "))
	described, err := queryPairs(ctx, conn, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+responses+")")
	if err != nil {
		return fmt.Errorf("read the responses' columns: %w", err)
	}
	colType := map[string]string{}
	for _, c := range described {
		colType[c[0]] = c[1]
	}
	// Each present answer column goes to one of three UNPIVOTs: integer columns (numeric
	// codes: the code is the number's decimal text, never padded nor split), text
	// columns of single-choice questions (trimmed), and of multi-choice ones (split on
	// the separator, as SplitAnswer does, then trimmed). Keeping the integers and the
	// single answers out of the splitting and trimming took a sixth off the query.
	var cols []string
	var numeric, single, multi []string
	for _, q := range qs {
		t, ok := colType[q.QuestionID]
		if !ok {
			continue
		}
		id := schemas.QuoteIdent(q.QuestionID)
		switch {
		case slices.Contains([]string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}, t):
			// Turned into text after the UNPIVOT, which leaves the NULL cells out: the
			// cells answered only.
			cols = append(cols, fmt.Sprintf("x.%s AS %s", id, id))
			numeric = append(numeric, id)
			continue
		}
		cols = append(cols, fmt.Sprintf("CAST(x.%s AS VARCHAR) AS %s", id, id))
		switch {
		case q.Multi:
			multi = append(multi, id)
		default:
			single = append(single, id)
		}
	}
	if len(cols) == 0 {
		return writeLocal(out, schemas.LinkageAnswerLayout(), []schemas.LinkageAnswer(nil))
	}
	unpivot := func(names []string) string {
		l := strings.Join(names, ", ")
		return fmt.Sprintf("UNPIVOT (SELECT person_index, %s FROM wide) ON %s INTO NAME question_id VALUE raw", l, l)
	}
	// DuckDB's trim with a set of characters costs several times the rest of the query
	// per value, so only a code that starts or ends with one of them is trimmed.
	trimmed := fmt.Sprintf("CASE WHEN regexp_matches(raw, %s) THEN trim(raw, %s) ELSE raw END",
		sqlQuote("^["+spaceChars()+"]|["+spaceChars()+"]$"), sqlQuote(spaceChars()))
	var branches []string
	if len(numeric) > 0 {
		branches = append(branches, "SELECT person_index, question_id, CAST(raw AS VARCHAR) AS answer_code FROM ("+unpivot(numeric)+")")
	}
	if len(single) > 0 {
		branches = append(branches, fmt.Sprintf("SELECT person_index, question_id, %s AS answer_code FROM (%s)", trimmed, unpivot(single)))
	}
	if len(multi) > 0 {
		branches = append(branches, fmt.Sprintf("SELECT person_index, question_id, %s AS answer_code FROM (SELECT person_index, question_id, unnest(string_split(raw, %s)) AS raw FROM (%s))",
			trimmed, sqlQuote(questionnaire.MultiSeparator), unpivot(multi)))
	}
	// UNPIVOT leaves NULL cells (not asked, not answered) out; an empty code is no
	// answer. A code that is none of the question's options and not positive scores as
	// LoadCohort scores it: not positive, not in the base, scored as its question is.
	q := fmt.Sprintf(`COPY (
WITH wide AS (
  SELECT k.person_index, %s
  FROM %s x
  JOIN read_parquet(%s) k ON k.response_id = x.response_id
),
coded AS (
  %s
)
SELECT c.person_index, c.question_id, c.answer_code, q.scored,
       COALESCE(s.positive, false) AS positive, COALESCE(s.in_base, false) AS in_base
FROM coded c
JOIN read_parquet(%s) q ON q.question_id = c.question_id
LEFT JOIN read_parquet(%s) s ON s.question_id = c.question_id AND s.answer_code = c.answer_code
WHERE c.answer_code <> ''
) TO %s (FORMAT parquet, COMPRESSION %s)`,
		strings.Join(cols, ", "), responses, sqlQuote(keptPath), strings.Join(branches, "\n  UNION ALL\n  "),
		sqlQuote(qsPath), sqlQuote(scoresPath), sqlQuote(out), compression)
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("stage answers: %w", err)
	}
	return nil
}

// optionCodes are a question's option codes.
func optionCodes(q *questionnaire.Question) []string {
	out := make([]string, len(q.Options))
	for i, o := range q.Options {
		out[i] = o.Code
	}
	return out
}

// queryPairs runs a query of two text columns and returns its rows.
func queryPairs(ctx context.Context, conn *sql.Conn, q string) ([][2]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
