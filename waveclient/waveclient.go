// Package waveclient is the typed client of the pipeline's workflows: the one way the
// CLI, the demo, the end-to-end tests and the dashboard start, watch and steer
// fieldwork waves and run the daily response load. It alone spells workflow types,
// workflow IDs, queries, signals, updates and search attributes (declared once in
// package workflows); its callers pass waves, ICS codes and typed requests, and get
// typed results.
//
// It reads and changes nothing but Temporal: no store, no warehouse (StageFiles, which
// puts a spec's local files in the store's landing area before a start, and
// StageAndStart, which deletes them again when the start is refused, take the store
// they write to).
package waveclient

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/infra"
	"icesurvey/internal/parallel"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// The workflows' types, re-exported so a caller needs this package only.
type (
	WaveStatus          = workflows.WaveStatus
	WaveICSStatus       = workflows.WaveICSStatus
	WaveResult          = workflows.WaveResult
	ICSStatus           = workflows.ICSStatus
	MailingStatus       = workflows.MailingStatus
	DBSStatus           = workflows.DBSStatus
	DeclarationState    = workflows.DeclarationState
	OptOutRequest       = workflows.OptOutRequest
	RetentionStatus     = workflows.RetentionStatus
	RetentionResult     = workflows.RetentionResult
	DailyLoadInput      = workflows.DailyLoadInput
	DailyLoadResult     = workflows.DailyLoadResult
	DailyLoadICSResult  = workflows.DailyLoadICSResult
	LoadResponsesOutput = activities.LoadResponsesOutput
	Questionnaires      = activities.Questionnaires
	Stage               = workflows.Stage
	WaveStage           = workflows.WaveStage
	MailingState        = workflows.MailingState
)

// Client talks to the workflows on one Temporal namespace.
type Client struct {
	c client.Client
}

// New wraps a connected Temporal client.
func New(c client.Client) *Client { return &Client{c: c} }

// Dial connects to the cluster cfg describes.
func Dial(ctx context.Context, cfg infra.ClientConfig) (*Client, error) {
	c, err := infra.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

// Close closes the connection.
func (c *Client) Close() { c.c.Close() }

// ---- waves -----------------------------------------------------------------------

// WaveRun names a started wave.
type WaveRun struct {
	WaveID     string
	WorkflowID string
	RunID      string
}

// StartWave starts the wave workflow for spec, whose files must already be store keys
// (StageFiles). A wave ID is used once.
func (c *Client) StartWave(ctx context.Context, spec *wavespec.Spec) (WaveRun, error) {
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.WaveWorkflowID(spec.WaveID),
		TaskQueue:             activities.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// Without it the SDK answers a start of a wave id already used with that
		// wave's run, as if this one had started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAWaveID.ValueSet(spec.WaveID), workflows.SAICS.ValueSet(spec.Codes()),
			workflows.SAStage.ValueSet(string(workflows.WaveFieldwork))),
	}, string(workflows.WorkflowWave), *spec)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		if ferr := c.CheckWaveIDFree(ctx, spec.WaveID); ferr != nil {
			return WaveRun{}, ferr
		}
	}
	if err != nil {
		return WaveRun{}, fmt.Errorf("start wave %s: %w", spec.WaveID, err)
	}
	return WaveRun{WaveID: spec.WaveID, WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// StageAndStart is `ice wave start`: it checks that the wave id is free, stages the
// spec's local files in a folder of this start's own (StageFiles) and starts the wave
// with their keys. Two starts of one new wave id at the same moment both pass the
// check, but neither's files land over the other's: the wave that starts reads the
// files of the command that started it, and a start refused (or failed) deletes the
// files it staged, unless the wave did start with them after all.
func (c *Client) StageAndStart(ctx context.Context, st store.Store, spec *wavespec.Spec) (WaveRun, Staged, error) {
	// Before its files are staged: they would land among an earlier wave's, whose
	// retention may have run already.
	if err := c.CheckWaveIDFree(ctx, spec.WaveID); err != nil {
		return WaveRun{}, Staged{}, err
	}
	staged, err := StageFiles(ctx, st, spec)
	if err != nil {
		return WaveRun{}, Staged{}, err
	}
	run, err := c.StartWave(ctx, spec)
	if err != nil {
		return WaveRun{}, staged, c.unstage(ctx, st, spec, staged, err)
	}
	return run, staged, nil
}

// unstage deletes what a start staged once its start failed (startErr), and says so.
// A refusal (the wave id taken by another start) is certain; after any other failure
// (the cluster unreachable, a timeout) the start may have gone through, so the files
// are kept when the wave's recorded spec names them, or when that cannot be read.
func (c *Client) unstage(ctx context.Context, st store.Store, spec *wavespec.Spec, staged Staged, startErr error) error {
	if len(staged.Keys) == 0 {
		return startErr
	}
	// A command interrupted still deletes what it staged.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.Is(startErr, ErrWaveIDUsed) && !errors.As(startErr, &already) {
		w, err := c.WaveSpec(ctx, spec.WaveID)
		switch {
		case err == nil && slices.ContainsFunc(w.Spec.ICSs, func(i wavespec.ICS) bool {
			return slices.Contains(staged.Keys, i.SampleFile) || slices.Contains(staged.Keys, i.MailingFile)
		}):
			return fmt.Errorf("%w; but wave %s did start, with the files this command staged (`ice wave status %s`)", startErr, spec.WaveID, spec.WaveID)
		case err != nil && !errors.Is(err, ErrUnknownWave):
			return fmt.Errorf("%w; whether wave %s started with the files this command staged could not be read (%v): if it did not, delete them (patients' data): %s",
				startErr, spec.WaveID, err, strings.Join(staged.Keys, ", "))
		}
	}
	if err := staged.Delete(ctx, st); err != nil {
		return fmt.Errorf("%w; the files this command staged hold patients' data and could not all be deleted: delete %s: %v", startErr, strings.Join(staged.Keys, ", "), err)
	}
	return fmt.Errorf("%w (the %d files this command staged are deleted)", startErr, len(staged.Keys))
}

// ErrWaveIDUsed: a wave of that id was started before (a wave id is used once).
var ErrWaveIDUsed = errors.New("a wave id is used once")

// CheckWaveIDFree checks that no wave of the id was ever started on the cluster, before
// its files are staged under that id (they would land among the earlier wave's) and it
// is started.
func (c *Client) CheckWaveIDFree(ctx context.Context, wave string) error {
	d, err := c.c.DescribeWorkflowExecution(ctx, workflows.WaveWorkflowID(wave), "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return nil
	case err != nil:
		return fmt.Errorf("look for an earlier wave %s: %w", wave, err)
	}
	info := d.GetWorkflowExecutionInfo()
	return fmt.Errorf("wave %s already exists (started %s, %s; `ice wave status %s`): %w; give the new wave another wave_id",
		wave, info.GetStartTime().AsTime().UTC().Format(time.RFC3339), statusText(info.GetStatus()), wave, ErrWaveIDUsed)
}

// WaitWave waits for a wave to end (every ICS closed) and returns its result.
func (c *Client) WaitWave(ctx context.Context, wave string) (WaveResult, error) {
	var res WaveResult
	err := c.c.GetWorkflow(ctx, workflows.WaveWorkflowID(wave), "").Get(ctx, &res)
	return res, err
}

// Status is a wave's status and each of its ICSs'.
type Status struct {
	Wave WaveStatus  `json:"wave"`
	ICS  []ICSStatus `json:"ics"`
	// Retention is, by ICS, the retention an ICS started when it closed (or ended
	// early): when its identifiable data are due for deletion, and whether they are gone.
	Retention map[string]RetentionStatus `json:"retention,omitempty"`
	// Ended is how the wave's workflow ended (completed, cancelled, terminated, ...);
	// empty while it runs.
	Ended string `json:"ended,omitempty"`
}

// Status queries the wave and each of its ICS workflows.
func (c *Client) Status(ctx context.Context, wave string) (Status, error) {
	var st Status
	var err error
	if st.Wave, st.Ended, err = c.waveStatus(ctx, wave); err != nil {
		return st, err
	}
	// Each query is answered by a worker, so one at a time a national wave's 42 took
	// seconds: they are asked side by side, at most statusQueriesAtOnce at once.
	type one struct {
		s   ICSStatus
		r   *RetentionStatus
		err error
	}
	got := make([]one, len(st.Wave.ICS))
	_ = parallel.IndexedOn(statusQueriesAtOnce, len(got), func(i int) error {
		ics, o := st.Wave.ICS[i], &got[i]
		if err := c.query(ctx, ics.WorkflowID, &o.s); err != nil {
			o.err = fmt.Errorf("query %s: %w", ics.WorkflowID, err)
			return nil // the first in the wave's order is returned, below
		}
		if o.s.Retention != nil {
			// Left out when it cannot be read: the ICS's own status says when it is due.
			if r, err := c.RetentionStatus(ctx, wave, o.s.ICS); err == nil {
				o.r = &r
			}
		}
		return nil
	})
	for _, o := range got {
		if o.err != nil {
			return st, o.err
		}
		st.ICS = append(st.ICS, o.s)
		if o.r != nil {
			if st.Retention == nil {
				st.Retention = map[string]RetentionStatus{}
			}
			st.Retention[o.s.ICS] = *o.r
		}
	}
	return st, nil
}

// statusQueriesAtOnce bounds the ICS status queries Status has in flight.
const statusQueriesAtOnce = 8

// waveStatus queries the wave's workflow and, once it has ended, says how (ended). A
// wave that has ended has its ICSs' ends filled in from their own workflows where the
// wave did not record them: a cancelled wave stops reading its children's results at
// the first that ends (the others are cancelled with it), so its query alone shows
// them still in fieldwork.
func (c *Client) waveStatus(ctx context.Context, wave string) (ws WaveStatus, ended string, err error) {
	if err := c.query(ctx, workflows.WaveWorkflowID(wave), &ws); err != nil {
		return ws, "", fmt.Errorf("query wave %s: %w", wave, err)
	}
	end, err := c.RunEndOf(ctx, workflows.WaveWorkflowID(wave))
	if err != nil || end.Status == "running" {
		return ws, "", nil
	}
	for i := range ws.ICS {
		ics := &ws.ICS[i]
		if ics.Done {
			continue
		}
		e, err := c.RunEndOf(ctx, ics.WorkflowID)
		switch {
		case err != nil || e.Status == "running" || e.Status == "":
			continue // still ending (cancelled with the wave), or not to be read
		case e.Status == "cancelled":
			// As the wave words an ICS cancelled on its own (activities.FailureText).
			ics.Error = fmt.Sprintf("cancelled (in workflow %s)", workflows.WorkflowICS)
		case e.Status != "completed":
			ics.Error = cmp.Or(e.Error, e.Status)
		}
		ics.Done = true
	}
	return ws, end.Status, nil
}

// ErrFieldworkRunning: the wave's fieldwork has not closed (its workflow, or an ICS's,
// still runs).
var ErrFieldworkRunning = errors.New("the wave's fieldwork is still running")

// FieldworkClosed returns the wave's status once its fieldwork has closed: the wave's
// workflow has ended (every ICS closed, or the wave was cancelled) and so has every
// ICS's. Before that the error is ErrFieldworkRunning, naming the ICSs still in
// fieldwork: what reads a closed wave's responses (its publication, linkage, theme
// coding) would read them part-loaded. A wave the cluster does not know is
// ErrUnknownWave.
func (c *Client) FieldworkClosed(ctx context.Context, wave string) (Status, error) {
	var st Status
	var err error
	if st.Wave, st.Ended, err = c.waveStatus(ctx, wave); err != nil {
		return st, unknownWave(wave, err)
	}
	var open []string
	for _, ics := range st.Wave.ICS {
		if !ics.Done {
			open = append(open, ics.ICS)
		}
	}
	if st.Ended == "" || len(open) > 0 {
		which := strings.Join(open, ", ") + " not closed yet"
		if len(open) == 0 {
			which = "every ICS has closed; the wave is ending"
		}
		return st, fmt.Errorf("wave %s: %w (%s; `ice wave status %s` says where each stands)", wave, ErrFieldworkRunning, which, wave)
	}
	return st, nil
}

// unknownWave turns err, a failure to reach wave's workflow, into ErrUnknownWave when
// the server knows no such workflow; any other error is returned as it is.
func unknownWave(wave string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("wave %s: %w (is the id right? `ice wave list` lists the waves it knows)", wave, ErrUnknownWave)
	}
	return err
}

// ICSStatus queries one ICS's workflow.
func (c *Client) ICSStatus(ctx context.Context, wave, ics string) (ICSStatus, error) {
	var s ICSStatus
	err := c.query(ctx, workflows.ICSWorkflowID(wave, ics), &s)
	return s, err
}

// ErrNotStarted: the cluster runs the wave, but not the run asked about (its linkage,
// a release's publication, its theme coding) — not yet, or under that id.
var ErrNotStarted = errors.New("the wave has no such run")

// notStarted is ErrNotStarted in a sentence that says what to run.
type notStarted string

func (e notStarted) Error() string        { return string(e) }
func (e notStarted) Is(target error) bool { return target == ErrNotStarted }

// explainNotFound turns the server's "workflow not found" for one of a wave's runs into
// what a person needs when the wave itself exists: that the run has not been started,
// and how to start it. Any other error, or a wave the cluster does not know, is left
// as it is (ice adds its own hint for a mistyped wave id).
func (c *Client) explainNotFound(ctx context.Context, wave string, err error, sentence string) error {
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return err
	}
	if _, derr := c.c.DescribeWorkflowExecution(ctx, workflows.WaveWorkflowID(wave), ""); derr != nil {
		return err
	}
	return notStarted(sentence)
}

func (c *Client) query(ctx context.Context, workflowID string, out any) error {
	v, err := c.c.QueryWorkflow(ctx, workflowID, "", workflows.QueryStatus)
	if err != nil {
		return err
	}
	return v.Get(out)
}

// WaveSummary is one wave as `ice wave list` shows it, read from its search attributes.
type WaveSummary struct {
	WaveID    string
	ICS       []string
	Stage     string
	Status    string // the workflow's execution status, e.g. RUNNING
	StartedAt time.Time
}

// List lists waves, newest first, filtered by query (a visibility filter over WaveID,
// ICS and Stage, e.g. `Stage = "fieldwork"`; empty for all).
func (c *Client) List(ctx context.Context, query string) ([]WaveSummary, error) {
	q := fmt.Sprintf("WorkflowType = %q", workflows.WorkflowWave)
	if query != "" {
		q += " AND (" + query + ")"
	}
	dc := converter.GetDefaultDataConverter()
	var out []WaveSummary
	err := c.eachExecution(ctx, q, func(e *workflowpb.WorkflowExecutionInfo) bool {
		sa := e.GetSearchAttributes().GetIndexedFields()
		s := WaveSummary{Status: strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"),
			StartedAt: e.GetStartTime().AsTime()}
		// Each attribute through its typed key: its name and its value's type.
		if p, ok := sa[workflows.SAWaveID.GetName()]; ok {
			_ = dc.FromPayload(p, &s.WaveID)
		}
		if p, ok := sa[workflows.SAStage.GetName()]; ok {
			_ = dc.FromPayload(p, &s.Stage)
		}
		if p, ok := sa[workflows.SAICS.GetName()]; ok {
			_ = dc.FromPayload(p, &s.ICS)
		}
		out = append(out, s)
		return true
	})
	if err != nil {
		return out, fmt.Errorf("list waves: %w", err)
	}
	return out, nil
}

// eachExecution gives fn each workflow execution the visibility query q lists, page by
// page, until fn returns false.
func (c *Client) eachExecution(ctx context.Context, q string, fn func(*workflowpb.WorkflowExecutionInfo) bool) error {
	var token []byte
	for {
		resp, err := c.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return err
		}
		for _, e := range resp.Executions {
			if !fn(e) {
				return nil
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return nil
		}
	}
}

// Declare signs an ICS's sample declaration (an update whose validator refuses a
// declaration without a name, of a failed or short sample, or a second one).
func (c *Client) Declare(ctx context.Context, wave, ics, by string) (DeclarationState, error) {
	return update[DeclarationState](ctx, c, wave, ics, workflows.UpdateDeclare, workflows.DeclareRequest{By: by})
}

// Move moves a mailing step that has not gone out to another fieldwork day.
func (c *Client) Move(ctx context.Context, wave, ics, step string, day int) (MailingStatus, error) {
	return update[MailingStatus](ctx, c, wave, ics, workflows.UpdateMove, workflows.MoveRequest{Step: step, Day: day})
}

// OptOut removes one person from every later mailing of a wave and returns their
// survey record ID.
func (c *Client) OptOut(ctx context.Context, wave, ics string, req OptOutRequest) (string, error) {
	return update[string](ctx, c, wave, ics, workflows.UpdateOptOut, req)
}

// update sends an update to one ICS workflow of a wave and waits for its result; a
// validator's refusal comes back as the error.
func update[T any](ctx context.Context, c *Client, wave, ics, name string, arg any) (T, error) {
	var out T
	h, err := c.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ICSWorkflowID(wave, ics), UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = refusal(h.Get(ctx, &out))
	}
	if endedOnServer(err) {
		// The server's words for an ended execution: say how and when it ended.
		if eerr := c.checkRunning(ctx, workflows.ICSWorkflowID(wave, ics), "ICS "+wave+"/"+ics, wave); eerr != nil {
			return out, fmt.Errorf("%s: %w", name, eerr)
		}
		return out, fmt.Errorf("%s in %s/%s: the ICS's workflow has ended (fieldwork closed, or it failed or was cancelled; `ice wave status %s` says which): %w", name, wave, ics, wave, err)
	}
	if err != nil {
		return out, fmt.Errorf("%s in %s/%s: %w", name, wave, ics, err)
	}
	return out, nil
}

// Pause holds every ICS's mailings (timers keep running; nothing is sent; fieldwork still closes on its day).
func (c *Client) Pause(ctx context.Context, wave string) error {
	return c.signalWave(ctx, wave, workflows.SignalPause)
}

// Resume resumes a paused wave; overdue mailings go out at once, none after the close day.
func (c *Client) Resume(ctx context.Context, wave string) error {
	return c.signalWave(ctx, wave, workflows.SignalResume)
}

func (c *Client) signalWave(ctx context.Context, wave, signal string) error {
	if err := c.checkRunning(ctx, workflows.WaveWorkflowID(wave), "wave "+wave, wave); err != nil {
		return fmt.Errorf("%s: %w", signal, err)
	}
	if err := c.c.SignalWorkflow(ctx, workflows.WaveWorkflowID(wave), "", signal, nil); err != nil {
		return fmt.Errorf("%s wave %s: %w", signal, wave, err)
	}
	return nil
}

// Cancel stops a wave: every ICS stops before its next step.
func (c *Client) Cancel(ctx context.Context, wave string) error {
	if err := c.checkRunning(ctx, workflows.WaveWorkflowID(wave), "wave "+wave, wave); err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	if err := c.c.CancelWorkflow(ctx, workflows.WaveWorkflowID(wave), ""); err != nil {
		return fmt.Errorf("cancel wave %s: %w", wave, err)
	}
	return nil
}

// PauseICS pauses one ICS's mailings, leaving the wave's other ICSs as they are (its
// timers keep running; nothing is sent until ResumeICS or a resume of the wave).
func (c *Client) PauseICS(ctx context.Context, wave, ics string) error {
	if err := c.CheckWaveICSs(ctx, wave, []string{ics}); err != nil {
		return err
	}
	return c.signalICS(ctx, wave, ics, workflows.SignalPause)
}

// ResumeICS resumes one paused ICS; its overdue mailings go out at once, none after the close day.
func (c *Client) ResumeICS(ctx context.Context, wave, ics string) error {
	if err := c.CheckWaveICSs(ctx, wave, []string{ics}); err != nil {
		return err
	}
	return c.signalICS(ctx, wave, ics, workflows.SignalResume)
}

// CancelICS stops one ICS before its next step (say, an ICS withdrawn from the wave)
// while the others go on. Like a cancelled wave's, its identifiable data are deleted
// after the retention period; the wave records the ICS as cancelled.
func (c *Client) CancelICS(ctx context.Context, wave, ics string) error {
	if err := c.CheckWaveICSs(ctx, wave, []string{ics}); err != nil {
		return err
	}
	if err := c.checkRunning(ctx, workflows.ICSWorkflowID(wave, ics), "ICS "+wave+"/"+ics, wave); err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	if err := c.c.CancelWorkflow(ctx, workflows.ICSWorkflowID(wave, ics), ""); err != nil {
		return fmt.Errorf("cancel %s/%s: %w", wave, ics, err)
	}
	return nil
}

// Revalidate asks an ICS to validate its files again after they were replaced. Only
// before the declaration: after it the workflow ignores the signal, so one sent then is
// refused, saying when the sample was declared.
func (c *Client) Revalidate(ctx context.Context, wave, ics string) error {
	return c.signalICSWhen(ctx, wave, ics, workflows.SignalRevalidate, revalidateRefusal)
}

// RetryDBS asks an ICS to send a new DBS request after a reply was rejected. Only then:
// at any other time the workflow ignores the signal, so one sent then is refused,
// saying where the ICS's DBS check stands.
func (c *Client) RetryDBS(ctx context.Context, wave, ics string) error {
	return c.signalICSWhen(ctx, wave, ics, workflows.SignalRetryDBS, retryDBSRefusal)
}

// revalidateRefusal says why a revalidation would do nothing: the sample was declared.
func revalidateRefusal(s ICSStatus) error {
	if d := s.Declaration; d != nil {
		return fault.Errorf(fault.BadInput, "the sample of %s was declared at %s by %s: revalidation is only before the declaration (stage %s)",
			s.ICS, d.At.UTC().Format(time.RFC3339), d.By, s.Stage)
	}
	return nil
}

// retryDBSRefusal says why a retry of the DBS check would do nothing: the ICS's latest
// request was not rejected (or none was sent).
func retryDBSRefusal(s ICSStatus) error {
	if len(s.DBS) == 0 {
		return fault.Errorf(fault.BadInput, "%s has no rejected DBS reply to retry (no DBS request sent yet; stage %s)", s.ICS, s.Stage)
	}
	d := s.DBS[len(s.DBS)-1]
	var state string
	switch {
	case d.Rejected != "":
		return nil
	case d.Replied:
		state = "was answered"
	case d.Overdue:
		state = "awaits its reply, OVERDUE: a retry needs a rejected reply"
	default:
		state = "awaits its reply"
	}
	return fault.Errorf(fault.BadInput, "%s has no rejected DBS reply to retry (its DBS check is request %s for %s, which %s)", s.ICS, d.RequestID, d.ForStep, state)
}

func (c *Client) signalICS(ctx context.Context, wave, ics, signal string) error {
	return c.signalICSWhen(ctx, wave, ics, signal, nil)
}

// signalICSWhen sends a signal to a running ICS workflow, unless refuse, given the
// ICS's status, says the workflow would ignore it: a signal cannot be refused by the
// workflow, and one it ignores would else be reported sent.
func (c *Client) signalICSWhen(ctx context.Context, wave, ics, signal string, refuse func(ICSStatus) error) error {
	if err := c.checkRunning(ctx, workflows.ICSWorkflowID(wave, ics), "ICS "+wave+"/"+ics, wave); err != nil {
		return fmt.Errorf("%s: %w", signal, err)
	}
	if refuse != nil {
		s, err := c.ICSStatus(ctx, wave, ics)
		if err != nil {
			return fmt.Errorf("%s %s/%s: read its status: %w", signal, wave, ics, err)
		}
		if err := refuse(s); err != nil {
			return fmt.Errorf("%s %s/%s: %w", signal, wave, ics, err)
		}
	}
	if err := c.c.SignalWorkflow(ctx, workflows.ICSWorkflowID(wave, ics), "", signal, nil); err != nil {
		return fmt.Errorf("%s %s/%s: %w", signal, wave, ics, err)
	}
	return nil
}

// RetentionStatus queries the retention workflow an ICS started at close.
func (c *Client) RetentionStatus(ctx context.Context, wave, ics string) (RetentionStatus, error) {
	var s RetentionStatus
	err := c.query(ctx, workflows.RetentionWorkflowID(wave, ics), &s)
	return s, err
}

// WaitRetention waits for an ICS's identifiable data to be deleted.
func (c *Client) WaitRetention(ctx context.Context, wave, ics string) (RetentionResult, error) {
	var res RetentionResult
	err := c.c.GetWorkflow(ctx, workflows.RetentionWorkflowID(wave, ics), "").Get(ctx, &res)
	return res, err
}

// History is the event history of one workflow execution (the latest run of
// workflowID): for the end-to-end tests' audit checks and for recording the histories
// the replay tests replay.
func (c *Client) History(ctx context.Context, workflowID string) (*historypb.History, error) {
	h := &historypb.History{}
	it := c.c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// ---- the daily response load ----------------------------------------------------------

// DailyLoadSchedule is the Temporal Schedule of a wave's daily response load.
type DailyLoadSchedule struct {
	Input   DailyLoadInput
	Hour    int
	Minute  int
	Catchup time.Duration
	// Until, when set, is the last day the schedule runs: its run at Hour:Minute UTC
	// that day is the last (a wave's loads are over some days after it closes; later
	// files are loaded by hand, with Backfill).
	Until time.Time
}

// ScheduleDailyLoad creates the schedule that starts the wave's daily load every day at
// Hour:Minute UTC, and returns its ID.
//
// Overlap: BUFFER_ALL. A load never runs while the previous one still does (two loads
// of one wave and ICS at once could each keep a response from the same person, as the
// de-duplication reads what earlier loads kept), and each run loads the day of its own
// scheduled time, so after an outage every missed day inside the catch-up window is
// loaded, one after the other in date order. BUFFER_ONE would run only one of several
// missed days and silently drop the rest; SKIP would drop a day whenever a load runs
// long. Days beyond the window are reloaded with Backfill.
func (c *Client) ScheduleDailyLoad(ctx context.Context, s DailyLoadSchedule) (string, error) {
	in := s.Input
	in.Date = time.Time{} // each run derives its day from its scheduled time
	id := workflows.DailyLoadScheduleID(in.WaveID)
	var endAt time.Time
	if !s.Until.IsZero() {
		// Times after EndAt are skipped, so the run at Hour:Minute on Until is the last.
		u := s.Until.UTC()
		endAt = time.Date(u.Year(), u.Month(), u.Day(), s.Hour, s.Minute, 0, 0, time.UTC)
		if !endAt.After(time.Now()) {
			return id, fmt.Errorf("schedule %s: the run on %s at %02d:%02d UTC, its last, has passed, so the schedule would never run",
				id, u.Format(time.DateOnly), s.Hour, s.Minute)
		}
	}
	h, err := c.c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: s.Hour}}, Minute: []client.ScheduleRange{{Start: s.Minute}},
			Comment: "daily response load",
		}}, EndAt: endAt},
		Action: &client.ScheduleWorkflowAction{
			// The server appends the scheduled time, so each day's run has its own ID;
			// the run loads its day in a child under the day's one ID
			// (workflows.DailyLoadWorkflowID), the ID LoadDay uses: a scheduled load and a
			// backfill of one day never run at once.
			ID: workflows.DailyLoadScheduledWorkflowID(in.WaveID), Workflow: string(workflows.WorkflowDailyLoad),
			Args: []any{in}, TaskQueue: activities.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(in.WaveID), workflows.SAICS.ValueSet(in.ICS)),
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
		CatchupWindow: s.Catchup,
		Note:          fmt.Sprintf("daily response load of wave %s for %s", in.WaveID, strings.Join(in.ICS, ", ")),
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return id, fmt.Errorf("wave %s already has its daily-load schedule %s (`ice schedule status --wave %s`); to change it, `ice schedule delete --wave %s` and create it again: %w",
			s.Input.WaveID, id, s.Input.WaveID, s.Input.WaveID, err)
	}
	if err != nil {
		return id, fmt.Errorf("create schedule %s: %w", id, err)
	}
	return h.GetID(), nil
}

// ErrUnknownWave: the cluster runs no wave of that id.
var ErrUnknownWave = errors.New("the cluster knows no such wave")

// CheckWaveICSs checks that the cluster knows the wave and that each ICS is one of
// its own, before something is set to run for them every day: a mistyped wave or ICS
// code would otherwise fail (or load nothing) daily, unseen until someone looked.
func (c *Client) CheckWaveICSs(ctx context.Context, wave string, icss []string) error {
	var st WaveStatus
	if err := c.query(ctx, workflows.WaveWorkflowID(wave), &st); err != nil {
		return unknownWave(wave, fmt.Errorf("query wave %s: %w", wave, err))
	}
	var codes []string
	for _, s := range st.ICS {
		codes = append(codes, s.ICS)
	}
	for _, ics := range icss {
		if !slices.Contains(codes, ics) {
			return fmt.Errorf("wave %s has no ICS %s (its ICSs: %s)", wave, ics, strings.Join(codes, ", "))
		}
	}
	return nil
}

// DailyLoadScheduleStatus is where a wave's daily-load schedule stands.
type DailyLoadScheduleStatus struct {
	ID     string
	Note   string
	Paused bool
	// At is the time of day it runs (HH:MM UTC); EndAt, when set, the last run.
	At    string
	EndAt time.Time
	// NextRuns are the next scheduled times; RecentRuns the latest runs started, oldest
	// first.
	NextRuns   []time.Time
	RecentRuns []ScheduledRun
	// Missed counts runs missed beyond the catch-up window (to load with Backfill).
	Missed int
}

// ScheduledRun is one run a schedule started: its scheduled time and its workflow.
type ScheduledRun struct {
	ScheduledAt time.Time
	WorkflowID  string
	RunID       string
	// Status is how the run stands (ReadRunOutcomes): running, completed, failed, timed
	// out, canceled, terminated (empty when not read, or when it could not be, say after
	// the namespace's retention removed it). Result is a completed run's; Error a failed run's, as FailureText
	// gives it.
	Status string
	Result *DailyLoadResult
	Error  string
}

// ErrNoSchedule: the wave has no daily-load schedule (never created, or deleted).
var ErrNoSchedule = errors.New("the wave has no daily-load schedule (`ice schedule daily-load` creates it)")

// DescribeDailyLoadSchedule says where the wave's daily-load schedule stands.
func (c *Client) DescribeDailyLoadSchedule(ctx context.Context, wave string) (DailyLoadScheduleStatus, error) {
	id := workflows.DailyLoadScheduleID(wave)
	out := DailyLoadScheduleStatus{ID: id}
	d, err := c.c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return out, scheduleError("describe", id, err)
	}
	out.Note, out.Paused = d.Schedule.State.Note, d.Schedule.State.Paused
	if spec := d.Schedule.Spec; spec != nil {
		out.EndAt = spec.EndAt
		for _, cal := range spec.Calendars {
			if len(cal.Hour) == 1 && len(cal.Minute) == 1 {
				out.At = fmt.Sprintf("%02d:%02d", cal.Hour[0].Start, cal.Minute[0].Start)
			}
		}
	}
	out.NextRuns = d.Info.NextActionTimes
	out.Missed = d.Info.NumActionsMissedCatchupWindow
	for _, a := range d.Info.RecentActions {
		r := ScheduledRun{ScheduledAt: a.ScheduleTime}
		if a.StartWorkflowResult != nil {
			r.WorkflowID, r.RunID = a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID
		}
		out.RecentRuns = append(out.RecentRuns, r)
	}
	return out, nil
}

// ReadRunOutcomes fills in how each scheduled run stands (Status), and for a run that
// has ended its result or its failure: a scheduler asks first whether last night's
// load worked. It costs two calls per run, so a caller reads only the runs it shows.
func (c *Client) ReadRunOutcomes(ctx context.Context, runs []ScheduledRun) {
	for i := range runs {
		if runs[i].WorkflowID != "" {
			c.readRunOutcome(ctx, &runs[i])
		}
	}
}

// endedOnServer reports whether err is the server's refusal of an update or signal to
// an execution that has ended ("workflow execution already completed"), which each
// caller turns into how and when its workflow ended.
func endedOnServer(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound) && strings.Contains(err.Error(), "already completed")
}

// refusal gives a workflow's refusal of an update (its validator's error, or its
// handler's) as the workflow's sentence, once. The error comes back as Temporal's
// chain of application errors, one for each error the workflow wrapped, each message
// repeating the one below it and each followed by "(type: wrapError, retryable:
// true)": the sentence twice or more with Temporal's internals between. An error
// with a classified cause (a fault kind) is left whole: FailureText prints it, and
// callers test its kind.
func refusal(err error) error {
	a, ok := err.(*temporal.ApplicationError)
	if !ok {
		return err
	}
	for e := error(a); e != nil; {
		var x *temporal.ApplicationError
		if !errors.As(e, &x) {
			break
		}
		if slices.Contains(fault.Kinds, fault.Kind(x.Type())) {
			return err
		}
		e = x.Unwrap()
	}
	return errors.New(strings.TrimSpace(a.Message()))
}

// statusText is a workflow execution's status in our words: running, completed,
// failed, cancelled, terminated, timed out, continued as new ("" when unspecified).
func statusText(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED:
		return ""
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued as new"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled"
	default:
		return strings.ToLower(st.String())
	}
}

// RunEnd is how a workflow's latest run stands: Status as statusText gives it, and a
// failed (or timed out) run's error as FailureText gives it.
type RunEnd struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// RunEndOf reads how the latest run of the workflow id stands (a query shows how far a
// run came, not whether it failed).
func (c *Client) RunEndOf(ctx context.Context, id string) (RunEnd, error) {
	return c.runEnd(ctx, id, "", nil)
}

// runEnd reads how the run runID of the workflow id stands ("" for its latest): once it
// has ended, its result into result (when not nil), or its error as FailureText gives it.
func (c *Client) runEnd(ctx context.Context, id, runID string, result any) (RunEnd, error) {
	d, err := c.c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return RunEnd{}, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	st := d.GetWorkflowExecutionInfo().GetStatus()
	out := RunEnd{Status: statusText(st)}
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED || st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return out, nil
	}
	if err := c.c.GetWorkflow(ctx, id, d.GetWorkflowExecutionInfo().GetExecution().GetRunId()).Get(ctx, result); err != nil {
		out.Error = FailureText(err)
	}
	return out, nil
}

// checkRunning returns nil while the workflow id runs, and otherwise an error saying
// that what (the wave W, the ICS W/X) has ended, how and when, and where to look: a command that steers a
// running workflow would else fail in Temporal's words, or, for a cancellation, not
// fail at all and do nothing. A workflow that cannot be described is left to the
// command's own call to report.
func (c *Client) checkRunning(ctx context.Context, id, what, wave string) error {
	return c.checkRunningHint(ctx, id, what, fmt.Sprintf("`ice wave status %s` says more", wave))
}

// checkRunningHint is checkRunning with its own hint of what to do instead.
func (c *Client) checkRunningHint(ctx context.Context, id, what, hint string) error {
	d, err := c.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil
	}
	info := d.GetWorkflowExecutionInfo()
	if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("%s has ended (%s at %s; %s): %w", what, statusText(st),
			info.GetCloseTime().AsTime().UTC().Format(time.RFC3339), hint, ErrEnded)
	}
	return nil
}

// ErrEnded: the workflow a command would steer has ended.
var ErrEnded = errors.New("there is nothing left to steer")

func (c *Client) readRunOutcome(ctx context.Context, r *ScheduledRun) {
	var res DailyLoadResult
	end, err := c.runEnd(ctx, r.WorkflowID, r.RunID, &res)
	if err != nil {
		return
	}
	r.Status, r.Error = end.Status, end.Error
	if end.Status == "completed" && end.Error == "" {
		r.Result = &res
	}
}

// pausedNote separates a schedule's own note from why and when it was paused.
const pausedNote = "; PAUSED at "

// PauseDailyLoadSchedule pauses the wave's daily-load schedule (say, while the
// supplier's feed is broken): its runs are skipped, not caught up, until it is resumed.
// The schedule's note keeps when and why.
func (c *Client) PauseDailyLoadSchedule(ctx context.Context, wave, why string) error {
	// The why is kept in the schedule's note, in Temporal's database, and shown by
	// `ice schedule status`: it must name no one (as a profile verdict's note).
	if kinds := freetext.Identifiers(why); len(kinds) > 0 {
		words := make([]string, len(kinds))
		for i, k := range kinds {
			words[i] = strings.ToLower(string(k))
		}
		return fault.Errorf(fault.BadInput, "--why holds personal data (%s; it is not repeated here): it is kept in the schedule's note in Temporal and shown by `ice schedule status`, so say why without naming, addressing or numbering anyone",
			strings.Join(words, ", "))
	}
	id := workflows.DailyLoadScheduleID(wave)
	h := c.c.ScheduleClient().GetHandle(ctx, id)
	d, err := h.Describe(ctx)
	if err != nil {
		return scheduleError("pause", id, err)
	}
	if d.Schedule.State.Paused {
		return fmt.Errorf("schedule %s is paused already (%s)", id, d.Schedule.State.Note)
	}
	own, _, _ := strings.Cut(d.Schedule.State.Note, pausedNote)
	note := own + pausedNote + time.Now().UTC().Format(time.RFC3339) + ": " + why
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: note}); err != nil {
		return scheduleError("pause", id, err)
	}
	return nil
}

// SkippedRuns are the runs a paused schedule skipped, and the load days they would
// have loaded (which `ice load backfill` loads).
type SkippedRuns struct {
	PausedAt, ResumedAt time.Time
	Runs                int
	From, To            time.Time // load days; zero when no run was skipped
}

// ResumeDailyLoadSchedule resumes a paused daily-load schedule and says which runs it
// skipped while paused, and so which days are still to load by hand: a paused schedule
// does not catch up.
func (c *Client) ResumeDailyLoadSchedule(ctx context.Context, wave string) (SkippedRuns, error) {
	var out SkippedRuns
	id := workflows.DailyLoadScheduleID(wave)
	h := c.c.ScheduleClient().GetHandle(ctx, id)
	d, err := h.Describe(ctx)
	if err != nil {
		return out, scheduleError("resume", id, err)
	}
	if !d.Schedule.State.Paused {
		return out, fmt.Errorf("schedule %s is not paused", id)
	}
	own, since, _ := strings.Cut(d.Schedule.State.Note, pausedNote)
	if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: own}); err != nil {
		return out, scheduleError("resume", id, err)
	}
	out.ResumedAt = time.Now().UTC()
	at, _, _ := strings.Cut(since, ": ")
	if out.PausedAt, err = time.Parse(time.RFC3339, at); err != nil {
		return out, nil // paused by other means: when is not known
	}
	lag := 1
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok && len(a.Args) == 1 {
		if p, ok := a.Args[0].(*commonpb.Payload); ok {
			var in DailyLoadInput
			if converter.GetDefaultDataConverter().FromPayload(p, &in) == nil {
				lag = in.LagDays
			}
		}
	}
	var hour, minute int
	if spec := d.Schedule.Spec; spec != nil && len(spec.Calendars) == 1 && len(spec.Calendars[0].Hour) == 1 && len(spec.Calendars[0].Minute) == 1 {
		hour, minute = spec.Calendars[0].Hour[0].Start, spec.Calendars[0].Minute[0].Start
	}
	out.Runs, out.From, out.To = skippedRuns(out.PausedAt, out.ResumedAt, hour, minute, lag)
	return out, nil
}

// skippedRuns counts the daily runs at hour:minute UTC after paused and before resumed,
// and the load days of the first and last (each run's day less lag days).
func skippedRuns(paused, resumed time.Time, hour, minute, lag int) (n int, from, to time.Time) {
	p := paused.UTC()
	run := time.Date(p.Year(), p.Month(), p.Day(), hour, minute, 0, 0, time.UTC)
	if !run.After(p) {
		run = run.AddDate(0, 0, 1)
	}
	for ; run.Before(resumed); run = run.AddDate(0, 0, 1) {
		day := time.Date(run.Year(), run.Month(), run.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -lag)
		if n == 0 {
			from = day
		}
		to = day
		n++
	}
	return n, from, to
}

// DeleteDailyLoadSchedule deletes the wave's daily-load schedule: no more loads start
// by themselves (a run in progress finishes; days are still loaded by hand with
// LoadDay and Backfill).
func (c *Client) DeleteDailyLoadSchedule(ctx context.Context, wave string) error {
	id := workflows.DailyLoadScheduleID(wave)
	if err := c.c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
		return scheduleError("delete", id, err)
	}
	return nil
}

// scheduleError names what failed on schedule id: ErrNoSchedule when the cluster has no
// such schedule.
func scheduleError(verb, id string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("schedule %s: %w", id, ErrNoSchedule)
	}
	return fmt.Errorf("%s schedule %s: %w", verb, id, err)
}

// LoadDay runs the daily load of in.Date and waits for it. The load runs under the
// day's one workflow ID (workflows.DailyLoadWorkflowID), the ID the schedule's run of
// that day uses too, so two loads of one day never run at once: a day whose load is
// already running, started by the schedule or by hand, is joined (its result is this
// call's) rather than started again. A day loaded before may be loaded again (it
// changes nothing). The result is returned as far as it got, with the error of a
// failed load.
func (c *Client) LoadDay(ctx context.Context, in DailyLoadInput) (DailyLoadResult, error) {
	var res DailyLoadResult
	if in.Date.IsZero() {
		return res, errors.New("a load by hand names its day")
	}
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.DailyLoadWorkflowID(in.WaveID, in.Date),
		TaskQueue:                activities.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(in.WaveID), workflows.SAICS.ValueSet(in.ICS)),
	}, string(workflows.WorkflowDailyLoad), in)
	if err != nil {
		return res, fmt.Errorf("start the load of %s: %w", in.Date.Format(time.DateOnly), err)
	}
	if err := run.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("load of %s (workflow %s): %w", in.Date.Format(time.DateOnly), run.GetID(), err)
	}
	return res, nil
}

// Backfill loads each day from..to (inclusive) in date order, one load at a time, and
// stops at the first day that fails: de-duplication judges a response against what
// earlier days kept, so a later day must not load before an earlier one. each, if not
// nil, is given every day's result as it ends, a failed day's too. It returns the
// results of the days that loaded.
func (c *Client) Backfill(ctx context.Context, in DailyLoadInput, from, to time.Time, each func(DailyLoadResult)) ([]DailyLoadResult, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("--to %s is before --from %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	var results []DailyLoadResult
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := in
		day.Date = d
		res, err := c.LoadDay(ctx, day)
		if each != nil {
			each(res)
		}
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// ---- files -----------------------------------------------------------------------

// Staged is what one StageFiles copied into the store.
type Staged struct {
	// Folder is the start's own folder in each ICS's restricted landing area
	// (schemas.StartFolder); empty when nothing was copied.
	Folder string
	// Keys are the objects written, one per local file of the spec.
	Keys []string
}

// Delete deletes the staged files: a start that did not go through leaves no patients'
// data behind, where no retention would reach it.
func (s Staged) Delete(ctx context.Context, st store.Store) error {
	var errs []error
	for _, k := range s.Keys {
		if err := st.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// StageFiles copies the spec's files that are local paths into the store's restricted
// landing area (sample and mailing files hold personal data), in a folder of this
// start's own (schemas.StagedLandingKey), and points the spec at them; keys already in
// the store are left as they are. Every path is checked before any is copied: one that
// is neither a local file nor an object in the store (a mistyped path, which would
// otherwise fail the intake later) stages nothing, and a copy that fails deletes those
// made before it.
func StageFiles(ctx context.Context, st store.Store, spec *wavespec.Spec) (Staged, error) {
	type specFile struct {
		ics, field string
		path       *string
		local      bool
		key        string
	}
	var files []specFile
	for i := range spec.ICSs {
		ics := &spec.ICSs[i]
		files = append(files, specFile{ics.Code, "sample_file", &ics.SampleFile, false, ""}, specFile{ics.Code, "mailing_file", &ics.MailingFile, false, ""})
	}
	var errs []error
	for i := range files {
		f := &files[i]
		if fi, err := os.Stat(*f.path); err == nil && !fi.IsDir() {
			f.local = true
			continue
		}
		if _, err := st.Stat(ctx, *f.path); err != nil {
			errs = append(errs, fmt.Errorf("wave spec ics %s, %s %q: neither a local file nor an object in the store %s: %w", f.ics, f.field, *f.path, st.URL(), err))
			continue
		}
		if err := schemas.CheckIntakeFileKey(*f.path); err != nil {
			errs = append(errs, fmt.Errorf("wave spec ics %s, %s %q: %w", f.ics, f.field, *f.path, err))
		}
	}
	folder, err := startFolder()
	if err != nil {
		return Staged{}, err
	}
	// Files land by their base name: two local files of one ICS with the same name
	// (in two folders) would land as one object, the second over the first.
	landing := map[string]string{}
	for i := range files {
		f := &files[i]
		if !f.local {
			continue
		}
		f.key = landingKey(spec.WaveID, f.ics, folder, *f.path)
		if other, ok := landing[f.key]; ok {
			errs = append(errs, fmt.Errorf("wave spec ics %s, %s %q: has the same file name as %s, and both would land as %s: rename one of them", f.ics, f.field, *f.path, other, f.key))
			continue
		}
		landing[f.key] = fmt.Sprintf("%s %q", f.field, *f.path)
	}
	if err := errors.Join(errs...); err != nil {
		return Staged{}, err
	}
	staged := Staged{Folder: folder}
	for _, f := range files {
		if !f.local {
			continue
		}
		b, err := os.ReadFile(*f.path)
		if err == nil {
			staged.Keys = append(staged.Keys, f.key) // before the copy: a failed one may leave part
			err = store.PutBytes(ctx, st, f.key, b)
		}
		if err != nil {
			if derr := staged.Delete(context.WithoutCancel(ctx), st); derr != nil {
				err = fmt.Errorf("%w; the files copied before it hold patients' data and could not be deleted: delete %s: %v", err, strings.Join(staged.Keys, ", "), derr)
			}
			return Staged{}, fmt.Errorf("stage %s: %w", *f.path, err)
		}
	}
	for _, f := range files {
		if f.local {
			*f.path = f.key
		}
	}
	if len(staged.Keys) == 0 {
		staged.Folder = ""
	}
	return staged, nil
}

// startFolder names a new start's folder (schemas.StartFolder).
func startFolder() (string, error) {
	nonce := make([]byte, 4)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("name the folder to stage the files in: %w", err)
	}
	return schemas.StartFolder(time.Now(), hex.EncodeToString(nonce)), nil
}

// landingKey is where StageFiles copies the local file p of an ICS: the start's folder
// in the ICS's restricted landing area, by the file's base name.
func landingKey(wave, ics, folder, p string) string {
	return schemas.StagedLandingKey(wave, ics, folder, path.Base(strings.ReplaceAll(p, "\\", "/")))
}

// FailureText is what a person is shown of a failed call or workflow: the deepest
// classified cause once, its kind and the activity it failed in
// (activities.FailureText).
func FailureText(err error) string { return activities.FailureText(err) }

// StartedWave is a running (or finished) wave's spec as its workflow was started with
// it, and when it started.
type StartedWave struct {
	Spec      wavespec.Spec
	StartedAt time.Time
}

// WaveSpec reads the spec a wave was started with from the first event of its
// workflow's history: the wave's ICSs, questionnaire versions, local questions and
// schedule, which its status does not carry, so that a command about the wave need not
// be given its spec file again.
func (c *Client) WaveSpec(ctx context.Context, wave string) (StartedWave, error) {
	var spec wavespec.Spec
	at, err := c.startInput(ctx, workflows.WaveWorkflowID(wave), "wave "+wave, &spec)
	if err != nil {
		return StartedWave{}, unknownWave(wave, err)
	}
	return StartedWave{Spec: spec, StartedAt: at}, nil
}

// startInput reads the input a workflow (the latest run of id) was started with into
// into, from the first event of its history, and when it started; what names the
// workflow in errors.
func (c *Client) startInput(ctx context.Context, id, what string, into any) (time.Time, error) {
	it := c.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return time.Time{}, fmt.Errorf("%s has no history", what)
	}
	ev, err := it.Next()
	if err != nil {
		return time.Time{}, fmt.Errorf("read the start of %s: %w", what, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return time.Time{}, fmt.Errorf("%s: its history does not begin with its start", what)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), into); err != nil {
		return time.Time{}, fmt.Errorf("%s: read its input: %w", what, err)
	}
	return ev.GetEventTime().AsTime(), nil
}
