package linkage

import (
	"context"
	"fmt"
	"os"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// StagedAnswers stages a cohort's answers the way a release does (stageAnswers, with
// DuckDB) in a temporary directory under tmp and returns the rows staged.
func StagedAnswers(ctx context.Context, st store.Store, tmp string, cohort *Cohort) ([]schemas.LinkageAnswer, error) {
	eng, err := newEngine(ctx, tmp+"/")
	if err != nil {
		return nil, err
	}
	defer eng.close()
	a, err := prepareAnswers(tmp+"/", cohort)
	if err != nil {
		return nil, err
	}
	if err := stageAnswers(ctx, eng.conn, st, a); err != nil {
		return nil, err
	}
	f, err := os.Open(tmp + "/answers/part-0.parquet")
	if err != nil {
		return nil, fmt.Errorf("staged answers: %w", err)
	}
	defer f.Close()
	var out []schemas.LinkageAnswer
	err = lake.Read(f, schemas.LinkageAnswerLayout(), func(a *schemas.LinkageAnswer) error {
		out = append(out, *a)
		return nil
	})
	return out, err
}

// ReleaseCohort loads a cohort the way a release does (no answers; only each subject's
// latest consent event read).
func ReleaseCohort(ctx context.Context, st store.Store, wave string) (*Cohort, error) {
	return loadCohort(ctx, st, wave, false)
}
