package waveclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/linkage"
	"icesurvey/pseudo"
	"icesurvey/workflows"
)

// Consented linkage (#15): the linkage workflow's types, re-exported.
type (
	LinkageInput      = workflows.LinkageInput
	LinkageResult     = workflows.LinkageResult
	LinkageWithdrawal = workflows.LinkageWithdrawalInput
)

// LinkageWithdrawalResult is the recorded withdrawal. Repeated is set when the command
// id had been used before, for the same withdrawal: nothing new was recorded.
type LinkageWithdrawalResult struct {
	activities.LinkageWithdrawalOutput
	Repeated bool
}

// NewReleaseID names a release by its start time (UTC, to the second), with a suffix
// for a withdrawals-only re-run: release ids sort in the order they were built.
func NewReleaseID(now time.Time, withdrawalsOnly bool) string {
	id := "R" + now.UTC().Format("20060102T150405Z")
	if withdrawalsOnly {
		id += "-w"
	}
	return id
}

// StartLinkage starts a release of a wave's linkage (a new release id when in has
// none). It is refused while the wave's fieldwork runs (linkage reads the responses
// and consent of a closed wave) and while another release of the wave is being built.
// A wave with no fieldwork workflow on this cluster (its lake written otherwise) may be
// linked.
func (c *Client) StartLinkage(ctx context.Context, in LinkageInput) (LinkageInput, error) {
	if in.ReleaseID == "" {
		in.ReleaseID = NewReleaseID(time.Now(), in.WithdrawalsOnly)
	}
	if err := linkage.CheckReleaseID(in.ReleaseID); err != nil {
		return in, err
	}
	if _, err := c.FieldworkClosed(ctx, in.WaveID); err != nil && !errors.Is(err, ErrUnknownWave) {
		return in, fmt.Errorf("linkage of %s: %w; link after it closes", in.WaveID, err)
	}
	if err := c.checkReleaseIDFree(ctx, in.WaveID, in.ReleaseID); err != nil {
		return in, err
	}
	_, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       workflows.LinkageWorkflowID(in.WaveID),
		TaskQueue:                                activities.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(in.WaveID)),
		// The release the run builds, for checkReleaseIDFree to find in the runs' list.
		Memo: map[string]any{linkageReleaseMemo: in.ReleaseID},
	}, string(workflows.WorkflowLinkage), in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return in, c.linkageBusy(ctx, in, err)
	}
	if err != nil {
		return in, fmt.Errorf("start linkage %s of %s: %w", in.ReleaseID, in.WaveID, err)
	}
	return in, nil
}

// linkageBusy is the refusal of a linkage start (err) made while another run of the
// wave's linkage is running: it names the release being built and since when, and
// says how to follow it. (The server's words alone, "Workflow execution is already
// running. WorkflowId: wave/W/linkage, RunId: …", said neither.)
func (c *Client) linkageBusy(ctx context.Context, in LinkageInput, err error) error {
	building, since := "another release", ""
	if d, derr := c.c.DescribeWorkflowExecution(ctx, workflows.LinkageWorkflowID(in.WaveID), ""); derr == nil {
		info := d.GetWorkflowExecutionInfo()
		var r string
		if p, ok := info.GetMemo().GetFields()[linkageReleaseMemo]; ok && converter.GetDefaultDataConverter().FromPayload(p, &r) == nil && r != "" {
			building = "release " + r
		}
		if t := info.GetStartTime(); t != nil {
			since = ", started " + t.AsTime().UTC().Format(time.RFC3339)
		}
	}
	return fmt.Errorf("linkage %s of %s not started: %s of the wave is being built (%s%s), and a wave's releases are built one at a time; "+
		"`ice link status --wave %s` follows it: start this one once it has ended: %w",
		in.ReleaseID, in.WaveID, building, workflows.LinkageWorkflowID(in.WaveID), since, in.WaveID, err)
}

// linkageReleaseMemo is the memo field of a linkage run naming its release.
const linkageReleaseMemo = "release"

// ErrReleaseIDUsed: a linkage release of that id was built before.
var ErrReleaseIDUsed = errors.New("a release id is used once")

// checkReleaseIDFree refuses a release id that a completed linkage run of the wave
// built: a release's pseudonyms are derived from its id, so a second build under the
// same id could be joined to the first by anyone holding both exports (and its export
// would replace the first's under the same name). A run that failed leaves its id
// free for the run that mends it. Runs started before their release was recorded in
// their memo are not found.
func (c *Client) checkReleaseIDFree(ctx context.Context, wave, release string) error {
	dc := converter.GetDefaultDataConverter()
	var builtAt time.Time
	err := c.eachExecution(ctx, fmt.Sprintf("WorkflowId = %q AND ExecutionStatus = \"Completed\"", workflows.LinkageWorkflowID(wave)),
		func(e *workflowpb.WorkflowExecutionInfo) bool {
			var built string
			if p, ok := e.GetMemo().GetFields()[linkageReleaseMemo]; ok && dc.FromPayload(p, &built) == nil && built == release {
				builtAt = e.GetCloseTime().AsTime()
				return false
			}
			return true
		})
	switch {
	case err != nil:
		return fmt.Errorf("linkage of %s: list its earlier runs: %w", wave, err)
	case !builtAt.IsZero():
		return fmt.Errorf("linkage of %s: release %s was built before (a run completed at %s): %w, so that two releases cannot be joined; "+
			"give another --release, or none for one named by the time", wave, release, builtAt.UTC().Format(time.RFC3339), ErrReleaseIDUsed)
	}
	return nil
}

// WaitLinkage waits for the wave's linkage run to end and returns its result.
func (c *Client) WaitLinkage(ctx context.Context, wave string) (LinkageResult, error) {
	var res LinkageResult
	err := c.c.GetWorkflow(ctx, workflows.LinkageWorkflowID(wave), "").Get(ctx, &res)
	return res, err
}

// RunLinkage starts a release and waits for it.
func (c *Client) RunLinkage(ctx context.Context, in LinkageInput) (LinkageResult, error) {
	in, err := c.StartLinkage(ctx, in)
	if err != nil {
		return LinkageResult{WaveID: in.WaveID, ReleaseID: in.ReleaseID}, err
	}
	res, err := c.WaitLinkage(ctx, in.WaveID)
	if err != nil {
		return res, fmt.Errorf("linkage %s of %s: %w", in.ReleaseID, in.WaveID, err)
	}
	return res, nil
}

// LinkageStatus queries the wave's linkage run (the latest): its step and results so far.
func (c *Client) LinkageStatus(ctx context.Context, wave string) (LinkageResult, error) {
	var res LinkageResult
	err := c.query(ctx, workflows.LinkageWorkflowID(wave), &res)
	return res, c.explainNotFound(ctx, wave, err, fmt.Sprintf(
		"wave %s has no linkage run yet (`ice link --wave %s` starts one once its fieldwork has closed)", wave, wave))
}

// CheckLinkageWithdrawal refuses a withdrawal whose reason is no code or that names no
// operator, before it is sent: the workflow's input is kept in its history, and its
// activity's refusal in the audit trail, so free text for a reason must not get that
// far (linkage.WithdrawalByOperator refuses it there all the same).
func CheckLinkageWithdrawal(w LinkageWithdrawal) error {
	if w.Reason != "" && !slices.Contains(linkage.OperatorReasons, w.Reason) {
		return fault.Errorf(fault.BadInput, "--reason: the reason is a code, one of %s (free text is not recorded)", strings.Join(linkage.OperatorReasons, ", "))
	}
	if strings.TrimSpace(w.Operator) == "" {
		return fault.New(fault.BadInput, "--operator: a withdrawal is recorded with who made it")
	}
	// Not repeated: an NHS number or a name typed here must not reach the workflow's
	// input, the worker's log or the audit trail.
	if !pseudo.IsSurveyRecordID(strings.ToUpper(strings.TrimSpace(w.SurveyRecordID))) {
		return fault.Errorf(fault.BadInput, "--record: not a survey record id (S and %d letters and digits, as in the mailing files and responses; not the sample's RECORD_ID, an NHS number or a name); what was given is not repeated or recorded",
			pseudo.SurveyRecordIDLen-1)
	}
	return nil
}

// WithdrawLinkage records an operator's withdrawal of a person's linkage consent and
// waits for it to be stored. The command id (random when empty) makes a retried
// command the same withdrawal. The person leaves every linked output at the next
// release (RunLinkage, WithdrawalsOnly for one without new extracts).
func (c *Client) WithdrawLinkage(ctx context.Context, w LinkageWithdrawal) (LinkageWithdrawalResult, error) {
	var out LinkageWithdrawalResult
	if w.CommandID == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return out, err
		}
		w.CommandID = hex.EncodeToString(b)
	}
	if w.Reason == "" {
		w.Reason = linkage.ReasonWithdrawLinkage
	}
	if err := CheckLinkageWithdrawal(w); err != nil {
		return out, err
	}
	w.SurveyRecordID = strings.ToUpper(strings.TrimSpace(w.SurveyRecordID))
	id := workflows.LinkageWithdrawalWorkflowID(w.WaveID, w.CommandID)
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             activities.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		// Without it the SDK hands back the first run as if this one had started, and
		// a command id used again for another person would print "recorded" for a
		// withdrawal that never was.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(w.WaveID)),
	}, string(workflows.WorkflowLinkageWithdrawal), w)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var first *LinkageWithdrawal
	if errors.As(err, &started) {
		// The command id was used before: its withdrawal was recorded (or is being),
		// and it is the one that stands, whatever this command says.
		if first, err = c.firstWithdrawal(ctx, id); err == nil {
			run = c.c.GetWorkflow(ctx, id, "")
		}
	}
	if err != nil {
		return out, fmt.Errorf("withdraw linkage consent in %s: %w", w.WaveID, err)
	}
	if err := run.Get(ctx, &out.LinkageWithdrawalOutput); err != nil {
		return out, fmt.Errorf("withdraw linkage consent in %s: %w", w.WaveID, err)
	}
	if first == nil {
		return out, nil
	}
	if differ := withdrawalDifferences(*first, w); len(differ) > 0 {
		return out, fault.Errorf(fault.BadInput, "withdraw linkage consent in %s: command id %s was used before, for the withdrawal of %s (operator %s, reason %s) "+
			"recorded at %s as event %s; that withdrawal stands, and what this command gives otherwise is not applied (%s): "+
			"give another --command-id to record another withdrawal", w.WaveID, w.CommandID, first.SurveyRecordID, first.Operator, first.Reason,
			out.At.UTC().Format(time.RFC3339), out.EventID, strings.Join(differ, ", "))
	}
	out.Repeated = true
	return out, nil
}

// firstWithdrawal is the input the withdrawal workflow id was first started with.
func (c *Client) firstWithdrawal(ctx context.Context, id string) (*LinkageWithdrawal, error) {
	var in LinkageWithdrawal
	if _, err := c.startInput(ctx, id, "the withdrawal "+id, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// withdrawalDifferences names what a command given again with the same command id
// says otherwise than the first did: --record, --carer, --operator, --reason.
func withdrawalDifferences(first, again LinkageWithdrawal) []string {
	var out []string
	for _, d := range []struct {
		flag, first, again string
	}{
		{"--record", first.SurveyRecordID, again.SurveyRecordID},
		{"--carer", first.RespondentType, again.RespondentType},
		{"--operator", first.Operator, again.Operator},
		{"--reason", first.Reason, again.Reason},
	} {
		switch {
		case d.first == d.again:
		case d.flag == "--carer" && d.again == "":
			out = append(out, "no --carer")
		case d.flag == "--carer":
			out = append(out, "--carer")
		default:
			out = append(out, fmt.Sprintf("%s %q", d.flag, d.again))
		}
	}
	return out
}
