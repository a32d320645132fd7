package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/localindex"
	"icesurvey/schemas"
	"icesurvey/themes"
	"icesurvey/workflows"
)

// themeWorld fakes the theme coding's activities and records what ran.
type themeWorld struct {
	mu      sync.Mutex
	calls   []string
	batches []activities.ThemeBatch
}

func (w *themeWorld) log(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, s)
}

func newThemeEnv(t *testing.T) (*themeWorld, *updates, func() *testsuite.TestWorkflowEnvironment) {
	w := &themeWorld{}
	u := &updates{}
	return w, u, func() *testsuite.TestWorkflowEnvironment {
		env := newEnv(t)
		env.RegisterWorkflow(workflows.ThemeCodingWorkflow)
		env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(activities.FlushAuditOutput{}, nil).Maybe()
		env.OnActivity(ta.CodeThemes, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.CodeThemesInput) (activities.CodeThemesOutput, error) {
				w.log("code " + in.ICS)
				w.mu.Lock()
				coded := 0
				for _, b := range w.batches {
					coded += len(b.Decisions)
				}
				w.mu.Unlock()
				key := schemas.ResponseThemesKey(in.WaveID, in.ICS)
				out := activities.CodeThemesOutput{Objects: []schemas.LakeObject{schemas.LakeResponseThemes.Object(key)}}
				out.Comments, out.CodedByPeople, out.ResponseThemesKey = 40, coded, key
				return out, nil
			})
		env.OnActivity(twa.LoadLakeObjects, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.LoadObjectsInput) (activities.LoadObjectsOutput, error) {
				for _, o := range in.Objects {
					w.log("warehouse " + string(o.Table) + " " + in.ICS)
				}
				return activities.LoadObjectsOutput{}, nil
			})
		env.OnActivity(ta.RecordThemeDecisions, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RecordThemeDecisionsInput) (activities.RecordThemeDecisionsOutput, error) {
				w.log("record " + in.Batch.ID)
				w.mu.Lock()
				w.batches = append(w.batches, in.Batch)
				w.mu.Unlock()
				return activities.RecordThemeDecisionsOutput{Decisions: len(in.Batch.Decisions)}, nil
			})
		env.OnActivity(ta.ThemesReport, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.ThemesReportInput) (activities.ThemeReport, error) {
				w.log("report")
				w.mu.Lock()
				defer w.mu.Unlock()
				k := 0.5
				r := activities.ThemeReport{Text: "report", CodedByPeople: len(w.batches)}
				if len(w.batches) >= 2 {
					r.DoubleCoded = 1
					r.Kappa = []localindex.ThemeFigure{{Theme: "burden", Value: &k}}
				}
				return r, nil
			})
		return env
	}
}

func batch(id, coder string, codes ...themes.ThemeCode) activities.ThemeBatch {
	return activities.ThemeBatch{ID: id, Coder: coder, Decisions: []activities.ThemeDecision{{ResponseID: "r1", QuestionID: "P_IMPROVE", Themes: codes}}}
}

func TestThemeCodingWorkflowCodesThenTakesBatches(t *testing.T) {
	w, u, mk := newThemeEnv(t)
	env := mk()
	send := func(id string, req workflows.ThemeDecisionsRequest) {
		env.UpdateWorkflow(workflows.UpdateThemeDecisions, id, u.callback(id), req)
	}
	burden := themes.ThemeCode{Theme: "burden", Polarity: themes.Negative}
	env.RegisterDelayedCallback(func() { send("ok-a", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("a", "alice", burden)}) }, time.Minute)
	env.RegisterDelayedCallback(func() { send("ok-b", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("b", "bob", burden)}) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() { send("again", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("a", "alice", burden)}) }, 3*time.Minute)
	env.RegisterDelayedCallback(func() { send("no-coder", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("c", "", burden)}) }, 3*time.Minute)
	env.RegisterDelayedCallback(func() {
		send("bad-theme", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("d", "alice", themes.ThemeCode{Theme: "parking", Polarity: themes.Negative})})
	}, 3*time.Minute)
	env.RegisterDelayedCallback(func() {
		send("bad-ics", workflows.ThemeDecisionsRequest{ICS: "QXX", Batch: batch("e", "alice", burden)})
	}, 3*time.Minute)
	// An export for a blank reader is for nobody.
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateExportQDPX, "blank-reader", u.callback("blank-reader"), workflows.ExportQDPXRequest{ICS: "QMM", By: "  "})
	}, 3*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalFinishCoding, nil)
		send("late", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("f", "alice", burden)})
	}, 4*time.Minute)

	env.ExecuteWorkflow(workflows.ThemeCodingWorkflow, workflows.ThemeCodingInput{WaveID: "W1", ICS: []string{"QMM", "QJK"}})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.ThemeCodingStatus
	require.NoError(t, env.GetWorkflowResult(&st))

	require.Equal(t, []string{
		"code QMM", "warehouse response_themes QMM", "code QJK", "warehouse response_themes QJK", "report",
		"record a", "code QMM", "warehouse response_themes QMM", "report",
		"record b", "code QMM", "warehouse response_themes QMM", "report",
	}, w.calls)
	require.True(t, st.Coded && st.Finished)
	require.Equal(t, 2, st.Batches)
	require.Equal(t, 4, st.Runs)
	require.Equal(t, 2, st.ICS[0].Last.CodedByPeople)
	require.Equal(t, schemas.ResponseThemesKey("W1", "QMM"), st.ICS[0].Last.ResponseThemesKey)

	o := u.get(t, "ok-b")
	require.True(t, o.completed)
	require.NoError(t, o.err)
	res := o.value.(workflows.ThemeDecisionsResult)
	require.Equal(t, 1, res.Recorded)
	require.Len(t, res.Report.Kappa, 1)
	u.requireRejected(t, "again", "already recorded")
	u.requireRejected(t, "no-coder", "coder")
	u.requireRejected(t, "bad-theme", `"parking" is not a theme`)
	u.requireRejected(t, "bad-ics", "not in the coding")
	u.requireRejected(t, "late", "finished")
	u.requireRejected(t, "blank-reader", "must name the reader")
}

func TestThemeCodingWorkflowNeedsAWaveAndICS(t *testing.T) {
	_, _, mk := newThemeEnv(t)
	env := mk()
	env.ExecuteWorkflow(workflows.ThemeCodingWorkflow, workflows.ThemeCodingInput{WaveID: "W1"})
	require.ErrorContains(t, env.GetWorkflowError(), "at least one ICS")
}

// After BatchesPerRun batches the coding drains its handlers and continues as new,
// carrying its status and batch ids only; the next run codes nothing until a batch
// arrives, still knows the earlier batches, numbers its runs on, and finishes.
func TestThemeCodingWorkflowContinuesAsNew(t *testing.T) {
	w, u, mk := newThemeEnv(t)
	env := mk()
	burden := themes.ThemeCode{Theme: "burden", Polarity: themes.Negative}
	send := func(env *testsuite.TestWorkflowEnvironment, id string, req workflows.ThemeDecisionsRequest) {
		env.UpdateWorkflow(workflows.UpdateThemeDecisions, id, u.callback(id), req)
	}
	env.RegisterDelayedCallback(func() {
		send(env, "ok-a", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("a", "alice", burden)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		send(env, "ok-b", workflows.ThemeDecisionsRequest{ICS: "QJK", Batch: batch("b", "bob", burden)})
	}, 2*time.Minute)
	env.ExecuteWorkflow(workflows.ThemeCodingWorkflow, workflows.ThemeCodingInput{WaveID: "W1", ICS: []string{"QMM", "QJK"}, BatchesPerRun: 2})
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	u.requireAccepted(t, "ok-b")
	require.True(t, u.get(t, "ok-b").completed, "the second batch was not finished before continuing")
	var next workflows.ThemeCodingInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Continued)
	require.Equal(t, []string{"a", "b"}, next.Continued.Batches)
	require.Equal(t, 2, next.Continued.Status.Batches)
	require.Equal(t, 4, next.Continued.Status.Runs)
	require.True(t, next.Continued.Status.Coded)
	require.Equal(t, 2, next.BatchesPerRun)
	require.Equal(t, []string{"QMM", "QJK"}, next.ICS)

	// The next run.
	w.mu.Lock()
	w.calls = nil
	w.mu.Unlock()
	env2 := mk()
	env2.RegisterDelayedCallback(func() {
		send(env2, "again", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("a", "alice", burden)})
	}, time.Minute)
	env2.RegisterDelayedCallback(func() {
		send(env2, "ok-c", workflows.ThemeDecisionsRequest{ICS: "QMM", Batch: batch("c", "carol", burden)})
	}, 2*time.Minute)
	env2.RegisterDelayedCallback(func() { env2.SignalWorkflow(workflows.SignalFinishCoding, nil) }, 3*time.Minute)
	env2.ExecuteWorkflow(workflows.ThemeCodingWorkflow, next)
	require.True(t, env2.IsWorkflowCompleted())
	require.NoError(t, env2.GetWorkflowError())
	var st workflows.ThemeCodingStatus
	require.NoError(t, env2.GetWorkflowResult(&st))
	require.Equal(t, []string{"record c", "code QMM", "warehouse response_themes QMM", "report"}, w.calls)
	u.requireRejected(t, "again", "already recorded")
	require.True(t, st.Finished)
	require.Equal(t, 3, st.Batches)
	require.Equal(t, 5, st.Runs)
	require.Equal(t, schemas.ResponseThemesKey("W1", "QMM"), st.ICS[0].Last.ResponseThemesKey)
}
