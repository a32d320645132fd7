package workflows_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/workflows"
)

// pubWorld stands in for BuildRelease, ApproveRelease and the warehouse load behind
// mocked activities, recording what the workflow asked of them.
type pubWorld struct {
	mu        sync.Mutex
	built     []activities.ReleaseInput
	approvals []activities.ApproveReleaseInput
	loads     [][]schemas.LakeObject
	flushes   int
	// status is what BuildRelease finds: a draft it writes, or a published release.
	status     string
	icss       []activities.ReleaseICS
	approveErr error
}

const testRelease = "r1"

func (w *pubWorld) release(status string) activities.ReleaseOutput {
	out := activities.ReleaseOutput{ReleaseID: testRelease, Prefix: schemas.PublishPrefix(testWID, testRelease),
		ManifestKey: schemas.PublishManifestKey(testWID, testRelease), ManifestSHA256: "abc", Status: status, ICS: w.icss,
		Objects: []schemas.LakeObject{
			{Table: schemas.TablePublishedResults, Key: schemas.PublishResultsParquetKey(testWID, testRelease)},
			{Table: schemas.TableReleases, Key: schemas.PublishReleaseParquetKey(testWID, testRelease)},
		}}
	out.Summary = activities.ReleaseSummary{ReleaseID: testRelease, WaveID: testWID, Status: status, RakeFailed: []string{}}
	for _, r := range w.icss {
		if r.Published {
			out.Summary.ICSsPublished = append(out.Summary.ICSsPublished, r.ICS)
		}
		if r.WeightingStatus == activities.RakeFailed {
			out.Summary.RakeFailed = append(out.Summary.RakeFailed, r.ICS)
		}
	}
	return out
}

func (w *pubWorld) mock(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(twa.BuildRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReleaseInput) (activities.ReleaseOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.built = append(w.built, in)
			out := w.release(w.status)
			if in.Params != nil && in.Params.MinBase != nil {
				out.Parameters = []activities.ReleaseParam{{Name: "min_base", Value: strconv.Itoa(*in.Params.MinBase)}}
			}
			if w.status == activities.ReleaseStatusPublished {
				at := t0.Add(-day)
				out.ApprovedBy, out.ApprovedAt = "Earlier Approver", &at
			}
			return out, nil
		})
	env.OnActivity(ta.ApproveRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ApproveReleaseInput) (activities.ReleaseOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.approvals = append(w.approvals, in)
			if w.approveErr != nil {
				return activities.ReleaseOutput{}, w.approveErr
			}
			out := w.release(activities.ReleaseStatusPublished)
			out.ApprovedBy, out.ApprovedAt, out.LeftOut = in.By, &in.At, in.LeaveOut
			return out, nil
		})
	env.OnActivity(twa.LoadLakeObjects, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadObjectsInput) (activities.LoadObjectsOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.loads = append(w.loads, in.Objects)
			return activities.LoadObjectsOutput{}, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.flushes++
			return activities.FlushAuditOutput{}, nil
		})
}

func pubStatus(env *testsuite.TestWorkflowEnvironment) (workflows.PublicationStatus, error) {
	var st workflows.PublicationStatus
	v, err := env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func approve(env *testsuite.TestWorkflowEnvironment, u *updates, id string, req workflows.ApproveRequest) {
	env.UpdateWorkflow(workflows.UpdateApprove, id, u.callback(id), req)
}

// A release with an ICS whose raking failed: the draft is built and loaded, and every
// approval that leaves that ICS in (or names no one, another release, or an ICS with
// figures) is refused by the validator, before any activity runs; the approval that
// leaves it out publishes the release, which is loaded again.
func TestPublicationWorkflow_ApprovalRefusedWhileRakeFailed(t *testing.T) {
	env := newEnv(t)
	w := &pubWorld{status: "draft", icss: []activities.ReleaseICS{
		{ICS: "QAA", Published: true, WeightingStatus: "not_needed", Patients: 300, Carers: 100},
		{ICS: "QBB", Published: true, WeightingStatus: "trimmed", Patients: 400, Carers: 120},
		{ICS: "QFF", WeightingStatus: activities.RakeFailed, Reason: "no convergence in 10000 sweeps", Patients: 40},
	}}
	w.mock(env)
	u := &updates{}
	var draft workflows.PublicationStatus
	var queryErr error
	env.RegisterDelayedCallback(func() {
		draft, queryErr = pubStatus(env)
		approve(env, u, "nobody", workflows.ApproveRequest{ReleaseID: testRelease, By: "  "})
		approve(env, u, "other-release", workflows.ApproveRequest{ReleaseID: "r2", By: "Dr B. Smith"})
		approve(env, u, "rake-failed-in", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith"})
		approve(env, u, "wrong-leave-out", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith", LeaveOut: []string{"QAA", "QZZ"}})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		approve(env, u, "left-out", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith", LeaveOut: []string{"QFF"}})
		// A second sign-off while the first is being written is refused.
		approve(env, u, "again", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr C. Brown", LeaveOut: []string{"QFF"}})
	}, 2*time.Hour)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	require.NoError(t, queryErr)
	assert.Equal(t, workflows.PublicationDraft, draft.Stage)
	assert.Equal(t, "approval (`ice publish approve --wave W1 --release r1 --by NAME --leave-out QFF`)", draft.WaitingOn)
	assert.Equal(t, schemas.PublishPrefix(testWID, testRelease), draft.Prefix)
	require.NotNil(t, draft.Summary)
	assert.Equal(t, []string{"QFF"}, draft.Summary.RakeFailed)
	assert.Len(t, draft.ICS, 3)
	assert.Nil(t, draft.Approval)

	u.requireRejected(t, "nobody", "must name who signs it")
	u.requireRejected(t, "other-release", `not "r2"`)
	u.requireRejected(t, "rake-failed-in", "ICS QFF: raking failed")
	u.requireRejected(t, "wrong-leave-out", "ICS QAA has figures in this release")
	u.requireRejected(t, "wrong-leave-out", "ICS QZZ is not in wave W1")
	u.requireRejected(t, "wrong-leave-out", "ICS QFF: raking failed")
	u.requireAccepted(t, "left-out")
	got := decodeValue[workflows.PublicationApproval](t, u.get(t, "left-out").value)
	assert.Equal(t, workflows.PublicationApproval{By: "Dr B. Smith", At: t0.Add(2 * time.Hour), LeftOut: []string{"QFF"},
		Manifest: schemas.PublishManifestKey(testWID, testRelease)}, got)
	u.requireRejected(t, "again", "release r1 is being approved")

	var res workflows.PublicationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.PublicationPublished, res.Status.Stage)
	assert.Empty(t, res.Status.WaitingOn)
	require.NotNil(t, res.Status.Approval)
	assert.Equal(t, got, *res.Status.Approval)
	assert.Equal(t, workflows.PublicationWorkflowID(testWID, testRelease), res.Status.WorkflowID)

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, []activities.ReleaseInput{{Scope: activities.Scope{WaveID: testWID}, ReleaseID: testRelease}}, w.built)
	require.Len(t, w.approvals, 1, "refused approvals run no activity")
	assert.Equal(t, activities.ApproveReleaseInput{Scope: activities.Scope{WaveID: testWID}, ReleaseID: testRelease,
		By: "Dr B. Smith", At: t0.Add(2 * time.Hour), LeaveOut: []string{"QFF"}}, w.approvals[0])
	require.Len(t, w.loads, 2, "the draft's tables, then the published release's, through the warehouse load")
	assert.Equal(t, schemas.TablePublishedResults, w.loads[0][0].Table)
	assert.Equal(t, 2, w.flushes)
}

// A release in which no ICS has figures (every one's raking failed) is never published:
// each approval is refused, leaving the ICSs out or not.
func TestPublicationWorkflow_NothingToPublish(t *testing.T) {
	env := newEnv(t)
	w := &pubWorld{status: "draft", icss: []activities.ReleaseICS{
		{ICS: "QAA", WeightingStatus: activities.RakeFailed, Reason: "no convergence", Patients: 30},
		{ICS: "QFF", WeightingStatus: activities.RakeFailed, Reason: "no convergence", Patients: 40},
	}}
	w.mock(env)
	u := &updates{}
	env.RegisterDelayedCallback(func() {
		approve(env, u, "all-left-out", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith", LeaveOut: []string{"QAA", "QFF"}})
		approve(env, u, "none-left-out", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith"})
	}, time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Hour)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease})
	u.requireRejected(t, "all-left-out", "no ICS has figures in this release")
	u.requireRejected(t, "none-left-out", "no ICS has figures in this release")
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Empty(t, w.approvals, "refused approvals run no activity")
}

// An approval the release itself refuses (ApproveRelease fails for good) leaves the
// release a draft, still waiting; the next approval publishes it.
func TestPublicationWorkflow_FailedApprovalLeavesDraft(t *testing.T) {
	env := newEnv(t)
	w := &pubWorld{status: "draft", icss: []activities.ReleaseICS{{ICS: "QAA", Published: true, WeightingStatus: "not_needed"}},
		approveErr: activities.ApplicationError(fault.Wrap(fault.Conflict, errors.New("publication: release r1 has status \"withdrawn\"")))}
	w.mock(env)
	u := &updates{}
	var between workflows.PublicationStatus
	env.RegisterDelayedCallback(func() {
		approve(env, u, "first", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		between, _ = pubStatus(env)
		w.mu.Lock()
		w.approveErr = nil
		w.mu.Unlock()
		approve(env, u, "second", workflows.ApproveRequest{ReleaseID: testRelease, By: "Dr B. Smith"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease})
	require.NoError(t, env.GetWorkflowError())
	o := u.get(t, "first")
	require.True(t, o.accepted)
	require.ErrorContains(t, o.err, "withdrawn")
	assert.Equal(t, workflows.PublicationDraft, between.Stage)
	assert.Contains(t, between.WaitingOn, "ice publish approve")
	u.requireAccepted(t, "second")
	var res workflows.PublicationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.PublicationPublished, res.Status.Stage)
}

// Run again for a release already published, the workflow reports it as it stands:
// nothing is approved again, the (unchanged) tables are handed to the warehouse load,
// which skips what it holds, and it ends without waiting for anyone.
func TestPublicationWorkflow_RerunOfPublishedRelease(t *testing.T) {
	env := newEnv(t)
	w := &pubWorld{status: activities.ReleaseStatusPublished, icss: []activities.ReleaseICS{{ICS: "QAA", Published: true, WeightingStatus: "not_needed"}}}
	w.mock(env)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.PublicationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.PublicationPublished, res.Status.Stage)
	require.NotNil(t, res.Status.Approval)
	assert.Equal(t, "Earlier Approver", res.Status.Approval.By)
	assert.Equal(t, t0.Add(-day), res.Status.Approval.At)
	assert.Equal(t, t0, env.Now().UTC(), "no time passed waiting")
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.approvals)
	assert.Len(t, w.built, 1)
	assert.Len(t, w.loads, 1)
}

// A publication without a wave or release fails for good at once.
func TestPublicationWorkflow_BadInput(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID})
	require.Error(t, env.GetWorkflowError())
	assert.Contains(t, env.GetWorkflowError().Error(), "names no wave or release")
}

// The release's parameters reach the activity that computes it as they were given,
// and the status reports the values the release was computed with.
func TestPublicationWorkflow_ParamsReachTheRelease(t *testing.T) {
	env := newEnv(t)
	w := &pubWorld{status: "draft", icss: []activities.ReleaseICS{{ICS: "QAA", Published: true, WeightingStatus: "not_needed"}}}
	w.mock(env)
	minBase, confidence := 20, 0.9
	breakdowns := []string{}
	params := &activities.ReleaseParams{MinBase: &minBase, Confidence: &confidence, Breakdowns: &breakdowns}
	var st workflows.PublicationStatus
	env.RegisterDelayedCallback(func() {
		st, _ = pubStatus(env)
		env.CancelWorkflow()
	}, time.Hour)
	env.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease, Params: params})
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Len(t, w.built, 1)
	got := w.built[0].Params
	require.NotNil(t, got, "the activity got no parameters")
	require.NotNil(t, got.MinBase)
	require.NotNil(t, got.Confidence)
	require.NotNil(t, got.Breakdowns, "an empty list of breakdowns (none) was lost on the way")
	assert.Equal(t, 20, *got.MinBase)
	assert.Equal(t, 0.9, *got.Confidence)
	assert.Empty(t, *got.Breakdowns)
	assert.Nil(t, got.CautionBase, "a parameter the file did not set keeps its default")
	assert.Equal(t, workflows.PublicationDraft, st.Stage)
	assert.Contains(t, st.Parameters, activities.ReleaseParam{Name: "min_base", Value: "20"})

	// Without parameters, the activity gets none: the defaults.
	env2 := newEnv(t)
	w2 := &pubWorld{status: activities.ReleaseStatusPublished, icss: w.icss}
	w2.mock(env2)
	env2.ExecuteWorkflow(workflows.PublicationWorkflow, workflows.PublicationInput{WaveID: testWID, ReleaseID: testRelease})
	require.Len(t, w2.built, 1)
	assert.Nil(t, w2.built[0].Params)
}
