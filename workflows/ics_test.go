package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/dbs"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// Activity receivers as the workflows use them: nil pointers, method values.
var (
	ta  *activities.Activities
	twa *activities.WarehouseActivities
)

const (
	day     = 24 * time.Hour
	testWID = "W1"
	testICS = "QE1"
)

// t0 is when every test workflow starts (the mock clock).
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// testSpec is a valid wave spec with the default 8-week schedule on a 24h day.
func testSpec(t *testing.T, icss ...string) wavespec.Spec {
	t.Helper()
	s := wavespec.Spec{
		WaveID:        testWID,
		SamplingDate:  wavespec.Date{Time: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)},
		DayLength:     wavespec.Duration(day),
		MinEligible:   4000,
		RetentionDays: 30,
		SurveyURL:     "https://survey.example.nhs.uk",
		Schedule:      mailing.DefaultSchedule(),
		Templates: map[string]string{
			"sms_reminder_1": "11111111-1111-4111-8111-111111111111",
			"sms_reminder_2": "22222222-2222-4222-8222-222222222222",
			"sms_reminder_3": "33333333-3333-4333-8333-333333333333",
		},
		DBS: wavespec.DBSSettings{PollEvery: wavespec.Duration(time.Minute), ReplyDeadline: wavespec.Duration(48 * time.Hour)},
	}
	for _, c := range icss {
		s.ICSs = append(s.ICSs, wavespec.ICS{Code: c, SampleFile: "incoming/" + c + "/sample.csv", MailingFile: "incoming/" + c + "/mailing.csv"})
	}
	s.Defaults()
	require.NoError(t, s.Validate())
	require.Equal(t, 56, s.Schedule.FieldworkDays)
	return s
}

// icsInput is the input WaveWorkflow gives the ICS code of spec.
func icsInput(t *testing.T, spec wavespec.Spec, code string) workflows.ICSInput {
	t.Helper()
	for _, in := range workflows.ICSInputs(spec) {
		if in.ICS == code {
			return in
		}
	}
	t.Fatalf("no ICS %s in the spec", code)
	return workflows.ICSInput{}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(60 * time.Second) // wall clock; the 2-core CI box is shared
	env.RegisterWorkflow(workflows.ICSWorkflow)
	env.RegisterWorkflow(workflows.WaveWorkflow)
	env.RegisterWorkflow(workflows.RetentionWorkflow)
	env.RegisterWorkflow(workflows.PublicationWorkflow)
	return env
}

// ---- the fake world -------------------------------------------------------------

// person is one sampled patient of the fake world. Days count from the wave's day 0;
// -1 means never.
type person struct {
	id          string
	mobile      bool
	diesDay     int
	respondsDay int
	// numberDead: every SMS to this person ends in permanent-failure.
	numberDead bool
}

type sendRec struct {
	ics, step, channel, selectionKey string
	at                               time.Time
	n                                int
}

// world is a tiny in-memory model of the warehouse, the lake, DBS and the mail room,
// behind mocked activities. Mocks run on their own goroutine, hence the mutex.
type world struct {
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time // the wave's day 0 (when the declaration is signed)
	people   []person
	accepted int // what Intake reports (independent of len(people))

	// Hooks; nil means the default behaviour.
	intakeHook  func(run int, in activities.IntakeInput) (activities.IntakeOutput, error)
	collectHook func(call int, in activities.DBSCollectInput) (activities.DBSCollectOutput, error, bool)

	mu         sync.Mutex
	knownDead  map[string]bool     // deaths loaded into the (fake) warehouse
	selections map[string][]string // selection key → survey ids
	requests   map[string][]string // DBS request id → survey ids
	lake       map[string][]string // outcome object key → deceased ids
	receipts   map[string][]string // mailing history key → ids whose SMS failed for good
	smsFailed  map[string]bool     // permanent SMS failures loaded into the (fake) warehouse
	received   map[string][]string // survey id → steps received, in order
	log        []string            // activity calls in order (not FlushAudit; CollectDBS only when it answers)
	sends      []sendRec
	counts     map[string]int // activity → calls
	intakeRuns int
	collects   map[string]int // request id → CollectDBS calls
	collectAt  []time.Time
	declaredBy []string
	selectedAt []time.Time
	receiptsAt map[string][]time.Time // SMS step → when its receipts were fetched
	// receiptsInFlight is how many more fetches of a step's receipts find one message
	// not final; receiptsExpired how many messages of a step Notify no longer holds.
	receiptsInFlight map[string]int
	receiptsExpired  map[string]int
	closedAt         time.Time
	deletedAt        time.Time
	closedScope      activities.Scope
	closedNotSent    []activities.NotSentStep
	// retention is the retention workflow the ICS started (mocked here; its own story
	// is TestRetentionWorkflow's), and when.
	retention  []workflows.RetentionInput
	retainedAt time.Time
}

func newWorld(env *testsuite.TestWorkflowEnvironment, start time.Time, accepted int, people ...person) *world {
	w := &world{env: env, start: start, people: people, accepted: accepted,
		knownDead: map[string]bool{}, selections: map[string][]string{}, requests: map[string][]string{},
		lake: map[string][]string{}, receipts: map[string][]string{}, smsFailed: map[string]bool{}, received: map[string][]string{}, counts: map[string]int{}, collects: map[string]int{},
		receiptsAt: map[string][]time.Time{}, receiptsInFlight: map[string]int{}, receiptsExpired: map[string]int{}}
	w.install()
	return w
}

// reached reports whether wave day d has begun on the workflow clock.
func (w *world) reached(d int) bool {
	return d >= 0 && !w.env.Now().UTC().Before(w.start.Add(time.Duration(d)*day))
}

func (w *world) note(name, entry string) {
	w.counts[name]++
	if entry != "" {
		w.log = append(w.log, entry)
	}
}

func (w *world) install() {
	env := w.env
	env.OnActivity(ta.Intake, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.IntakeInput) (activities.IntakeOutput, error) {
			w.mu.Lock()
			w.intakeRuns++
			run := w.intakeRuns
			w.note("Intake", "Intake "+in.ICS)
			hook := w.intakeHook
			w.mu.Unlock()
			if hook != nil {
				return hook(run, in)
			}
			return activities.IntakeOutput{RowsRead: w.accepted + 7, Accepted: w.accepted, Excluded: 5, Rejected: 2,
				NoSMS: 1, MinEligible: 4000, SampleKey: schemas.SampleKey(in.WaveID, in.ICS),
				ReportKey: "reports/" + in.ICS + "/intake.json", Objects: []schemas.LakeObject{schemas.SampleObject(in.WaveID, in.ICS)}}, nil
		})
	env.OnActivity(ta.RecordDeclaration, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeclarationInput) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("RecordDeclaration", "RecordDeclaration "+in.By)
			w.declaredBy = append(w.declaredBy, in.By)
			return nil
		})
	env.OnActivity(twa.LoadLakeObjects, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadObjectsInput) (activities.LoadObjectsOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			out := activities.LoadObjectsOutput{ByKey: map[string]activities.LoadOutput{}}
			var tables []string
			for _, o := range in.Objects {
				tables = append(tables, string(o.Table))
				if o.Table == schemas.TableOutcomeEvents {
					for _, id := range w.lake[o.Key] {
						w.knownDead[id] = true
					}
				}
				if o.Table == schemas.TableMailingHistory {
					for _, id := range w.receipts[o.Key] {
						w.smsFailed[id] = true
					}
				}
				out.ByKey[o.Key] = activities.LoadOutput{Rows: 1}
			}
			w.note("LoadLakeObjects", "Load "+strings.Join(tables, ","))
			return out, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("FlushAudit", "")
			return activities.FlushAuditOutput{}, nil
		})
	env.OnActivity(twa.SelectRecipients, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SelectInput) (activities.SelectOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("SelectRecipients", fmt.Sprintf("Select %s %s %s", in.Step, in.Channel, in.Round))
			w.selectedAt = append(w.selectedAt, w.env.Now().UTC())
			var ids []string
			for _, p := range w.people {
				if w.knownDead[p.id] || w.reached(p.respondsDay) {
					continue // outcome is no longer "no response"
				}
				if in.Channel == mailing.ChannelSMS && (!p.mobile || w.smsFailed[p.id]) {
					continue
				}
				ids = append(ids, p.id)
			}
			key := fmt.Sprintf("lake/selection/%s/%s-%s.parquet", in.ICS, in.Step, in.Round)
			w.selections[key] = ids
			return activities.SelectOutput{Key: key, Count: len(ids)}, nil
		})
	env.OnActivity(ta.SubmitDBS, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DBSSubmitInput) (activities.DBSSubmitOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("SubmitDBS", "SubmitDBS "+in.RequestID)
			w.requests[in.RequestID] = w.selections[in.SelectionKey]
			return activities.DBSSubmitOutput{Sent: len(w.selections[in.SelectionKey])}, nil
		})
	env.OnActivity(ta.CollectDBS, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DBSCollectInput) (activities.DBSCollectOutput, error) {
			w.mu.Lock()
			w.collects[in.RequestID]++
			call := w.collects[in.RequestID]
			w.collectAt = append(w.collectAt, w.env.Now().UTC())
			w.note("CollectDBS", "")
			hook := w.collectHook
			w.mu.Unlock()
			if hook != nil {
				if out, err, handled := hook(call, in); handled {
					return out, err
				}
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			w.log = append(w.log, "CollectDBS "+in.RequestID)
			ids := w.requests[in.RequestID]
			asked := make(map[string]bool, len(ids))
			for _, id := range ids {
				asked[id] = true
			}
			var dead []string
			for _, p := range w.people {
				if asked[p.id] && w.reached(p.diesDay) {
					dead = append(dead, p.id)
				}
			}
			out := activities.DBSCollectOutput{Sent: len(ids), Matched: len(ids), Deceased: len(dead)}
			if len(dead) > 0 {
				key := schemas.DBSOutcomesKey(in.WaveID, in.ICS, in.RequestID)
				out.Objects = []schemas.LakeObject{schemas.LakeOutcomeEvents.Object(key)}
				w.lake[key] = dead
			}
			return out, nil
		})
	env.OnActivity(ta.SendMailing, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("SendMailing", "Send "+in.Step.Name)
			ids := w.selections[in.SelectionKey]
			for _, id := range ids {
				w.received[id] = append(w.received[id], in.Step.Name)
			}
			w.sends = append(w.sends, sendRec{ics: in.ICS, step: in.Step.Name, channel: in.Step.Channel,
				selectionKey: in.SelectionKey, at: w.env.Now().UTC(), n: len(ids)})
			return activities.SendOutput{Channel: in.Step.Channel, Sent: len(ids),
				Objects: []schemas.LakeObject{schemas.LakeMailingHistory.Object(schemas.MailingHistoryKey(in.WaveID, in.ICS, in.Step.Name))}}, nil
		})
	env.OnActivity(ta.FetchReceipts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReceiptsInput) (activities.ReceiptsOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("FetchReceipts", "Receipts "+in.Step)
			w.receiptsAt[in.Step] = append(w.receiptsAt[in.Step], w.env.Now().UTC())
			var out activities.ReceiptsOutput
			var failed []string
			for _, p := range w.people {
				for _, got := range w.received[p.id] {
					if got != in.Step {
						continue
					}
					out.Messages++
					if p.numberDead {
						out.PermanentFailures++
						failed = append(failed, p.id)
					} else {
						out.Delivered++
					}
				}
			}
			if w.receiptsInFlight[in.Step] > 0 {
				w.receiptsInFlight[in.Step]--
				out.Delivered--
				out.InFlight++
			}
			out.Delivered -= w.receiptsExpired[in.Step]
			out.Expired = w.receiptsExpired[in.Step]
			if len(failed) > 0 {
				key := schemas.MailingHistoryKey(in.WaveID, in.ICS, in.Step)
				w.receipts[key] = failed
				out.Objects = []schemas.LakeObject{schemas.LakeMailingHistory.Object(key)}
			}
			return out, nil
		})
	env.OnActivity(twa.CloseFieldwork, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseInput) (activities.CloseOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("CloseFieldwork", "CloseFieldwork")
			w.closedAt = w.env.Now().UTC()
			w.closedScope = in.Scope
			w.closedNotSent = in.NotSent
			out := activities.CloseOutput{Outcomes: map[int]int{}}
			for _, p := range w.people {
				switch {
				case w.knownDead[p.id]:
					out.Outcomes[5]++
				case w.reached(p.respondsDay):
					out.Outcomes[1]++
				default:
					out.Outcomes[6]++
				}
			}
			return out, nil
		})
	env.OnWorkflow(workflows.RetentionWorkflow, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.RetentionInput) (workflows.RetentionResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("RetentionWorkflow", "StartRetention")
			w.retention = append(w.retention, in)
			w.retainedAt = w.env.Now().UTC()
			return workflows.RetentionResult{}, nil
		})
	env.OnActivity(ta.RecordFieldworkEndedEarly, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EndedEarlyInput) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("RecordFieldworkEndedEarly", "EndedEarly "+in.Reason)
			return nil
		})
	env.OnActivity(ta.DeleteRestricted, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Scope) (activities.RetentionOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.note("DeleteRestricted", "DeleteRestricted")
			w.deletedAt = w.env.Now().UTC()
			return activities.RetentionOutput{Deleted: 3}, nil
		})
}

func (w *world) sendAt(step string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.sends {
		if s.step == step {
			return s.at, true
		}
	}
	return time.Time{}, false
}

func (w *world) sentSteps() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, s := range w.sends {
		out = append(out, s.step)
	}
	return out
}

// ---- helpers ---------------------------------------------------------------------

func status(env *testsuite.TestWorkflowEnvironment) (workflows.ICSStatus, error) {
	var st workflows.ICSStatus
	v, err := env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// snapshots collects status queries taken in delayed callbacks (which do not run on
// the test goroutine, so assertions wait until the workflow has finished).
type snapshots struct {
	mu   sync.Mutex
	byAt map[string]workflows.ICSStatus
	errs []error
}

func (s *snapshots) take(env *testsuite.TestWorkflowEnvironment, name string) {
	st, err := status(env)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAt == nil {
		s.byAt = map[string]workflows.ICSStatus{}
	}
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
	}
	s.byAt[name] = st
}

func (s *snapshots) get(t *testing.T, name string) workflows.ICSStatus {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(t, s.errs)
	st, ok := s.byAt[name]
	require.True(t, ok, "no status snapshot %q (callback never ran)", name)
	return st
}

// updateOutcome records how one update went.
type updateOutcome struct {
	accepted, rejected, completed bool
	err                           error
	value                         any
}

type updates struct {
	mu  sync.Mutex
	out map[string]*updateOutcome
}

func (u *updates) callback(id string) *testsuite.TestUpdateCallback {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.out == nil {
		u.out = map[string]*updateOutcome{}
	}
	o := &updateOutcome{}
	u.out[id] = o
	return &testsuite.TestUpdateCallback{
		OnAccept: func() { u.mu.Lock(); o.accepted = true; u.mu.Unlock() },
		OnReject: func(err error) { u.mu.Lock(); o.rejected = true; o.err = err; u.mu.Unlock() },
		OnComplete: func(v any, err error) {
			u.mu.Lock()
			o.completed, o.value = true, v
			if err != nil {
				o.err = err
			}
			u.mu.Unlock()
		},
	}
}

func (u *updates) declare(env *testsuite.TestWorkflowEnvironment, id, by string) {
	env.UpdateWorkflow(workflows.UpdateDeclare, id, u.callback(id), workflows.DeclareRequest{By: by})
}

func (u *updates) move(env *testsuite.TestWorkflowEnvironment, id, step string, d int) {
	env.UpdateWorkflow(workflows.UpdateMove, id, u.callback(id), workflows.MoveRequest{Step: step, Day: d})
}

func (u *updates) get(t *testing.T, id string) updateOutcome {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	o, ok := u.out[id]
	require.True(t, ok, "update %s was never sent", id)
	return *o
}

// requireRejected asserts the validator refused the update with a message containing want.
func (u *updates) requireRejected(t *testing.T, id, want string) {
	t.Helper()
	o := u.get(t, id)
	require.True(t, o.rejected, "update %s should have been rejected: %+v", id, o)
	require.False(t, o.accepted, "update %s", id)
	require.ErrorContains(t, o.err, want, "update %s", id)
}

func (u *updates) requireAccepted(t *testing.T, id string) {
	t.Helper()
	o := u.get(t, id)
	require.True(t, o.accepted && o.completed, "update %s should have been accepted and completed: %+v", id, o)
	require.NoError(t, o.err, "update %s", id)
}

// decodeValue turns an update's result into T, whether the test environment hands back
// the value itself or its payloads.
func decodeValue[T any](t *testing.T, v any) T {
	t.Helper()
	var out T
	switch x := v.(type) {
	case T:
		return x
	case *T:
		return *x
	case *commonpb.Payloads:
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(x, &out))
		return out
	case converter.EncodedValue:
		require.NoError(t, x.Get(&out))
		return out
	}
	t.Fatalf("update result of type %T", v)
	return out
}

func requireCanceled(t *testing.T, env *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var ce *temporal.CanceledError
	require.ErrorAs(t, env.GetWorkflowError(), &ce)
}

// ---- 1. the full 8-week timetable ---------------------------------------------------

// fieldworkPeople: one of each story the timetable must get right.
func fieldworkPeople() []person {
	return []person{
		{id: "S001", mobile: true, diesDay: -1, respondsDay: -1},                   // never responds
		{id: "S002", mobile: false, diesDay: 1, respondsDay: -1},                   // dies after the invitation
		{id: "S003", mobile: true, diesDay: -1, respondsDay: 15},                   // responds after reminder 1
		{id: "S004", mobile: false, diesDay: -1, respondsDay: 57},                  // no mobile; answered on the last day, loaded after the close
		{id: "S005", mobile: true, diesDay: 1, respondsDay: -1},                    // dies after the invitation, has a mobile
		{id: "S006", mobile: true, diesDay: -1, respondsDay: -1, numberDead: true}, // the number is no longer in use
	}
}

func runFullTimetable(t *testing.T, accepted int) (*world, *testsuite.TestWorkflowEnvironment, *updates, *snapshots, wavespec.Spec) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := 2 * time.Hour
	w := newWorld(env, t0.Add(declareAt), accepted, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { snaps.take(env, "before-declaration") }, declareAt-time.Minute)
	env.RegisterDelayedCallback(func() { u.declare(env, "declare-1", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { snaps.take(env, "day-2") }, declareAt+2*day)
	env.RegisterDelayedCallback(func() { snaps.take(env, "day-55") }, declareAt+55*day)
	env.RegisterDelayedCallback(func() { snaps.take(env, "day-57") }, declareAt+57*day)
	// The status as each step's send starts: its reply is in, and it is being sent.
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name != "SendMailing" {
			return
		}
		var in activities.SendInput
		if err := args.Get(&in); err != nil {
			t.Errorf("SendMailing's input: %v", err)
			return
		}
		snaps.take(env, "sending "+in.Step.Name)
	})
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	return w, env, u, snaps, spec
}

func TestICSWorkflow_FullTimetable(t *testing.T) {
	w, env, u, snaps, spec := runFullTimetable(t, 4321)
	start := t0.Add(2 * time.Hour)

	u.requireAccepted(t, "declare-1")
	d := decodeValue[workflows.DeclarationState](t, u.get(t, "declare-1").value)
	assert.Equal(t, "Dr A. Jones", d.By)
	assert.Equal(t, start, d.At)
	assert.Equal(t, []string{"Dr A. Jones"}, w.declaredBy)

	// Who got what.
	assert.Equal(t, map[string][]string{
		"S001": {"invitation", "sms1", "reminder1", "sms2", "reminder2", "sms3"},
		"S002": {"invitation"},                      // died on day 1: the reminder-1 DBS check finds it
		"S003": {"invitation", "sms1", "reminder1"}, // responded on day 15
		"S004": {"invitation", "reminder1", "reminder2"},
		// Died on day 1: the SMS step's own DBS check (day 3) finds it.
		"S005": {"invitation"},
		// sms1's receipt says permanent-failure: no more SMS, letters still go.
		"S006": {"invitation", "sms1", "reminder1", "reminder2"},
	}, w.received)

	// When: every step at start + day×24h, close on day 56, the closing record two days
	// later (once the daily loads have brought in the supplier's last files) and then the
	// retention workflow started to delete 30 days after the close (retention_days counts
	// from the close, not from the closing record: 28 days after it).
	require.Len(t, w.sends, len(spec.Schedule.Steps))
	for i, st := range spec.Schedule.Steps {
		s := w.sends[i]
		assert.Equal(t, st.Name, s.step)
		assert.Equal(t, st.Channel, s.channel)
		assert.Equal(t, start.Add(time.Duration(st.Day)*day), s.at, "step %s sent at day %v", st.Name, s.at.Sub(start).Hours()/24)
		assert.True(t, strings.HasSuffix(s.selectionKey, st.Name+"-checked.parquet"), "%s %s must go to the DBS-checked selection, got %s", st.Channel, st.Name, s.selectionKey)
	}
	assert.Equal(t, start.Add(58*day), w.closedAt)
	assert.Equal(t, activities.Scope{WaveID: testWID, ICS: testICS}, w.closedScope)
	assert.Empty(t, w.closedNotSent, "every step went: the closing names none not sent")
	assert.Equal(t, []workflows.RetentionInput{{WaveID: testWID, ICS: testICS, After: 28 * day, Landed: []activities.LandedFile{
		{Key: "incoming/" + testICS + "/sample.csv", Rows: w.accepted + 7}, {Key: "incoming/" + testICS + "/mailing.csv"}}}}, w.retention)
	assert.Equal(t, start.Add(58*day), w.retainedAt)
	assert.True(t, w.deletedAt.IsZero(), "the ICS workflow deletes nothing itself")

	// The exact order of work: every step (SMS too) is selected, checked, re-selected,
	// then sent; deaths are loaded before the re-selection; the receipts of the SMS step
	// before a step are fetched, and its permanent failures loaded, before the selection.
	req := func(step string) string { return fmt.Sprintf("%s-%s-%s-1", testWID, testICS, step) }
	want := []string{"Intake QE1", "Load sample", "RecordDeclaration Dr A. Jones"}
	for i, st := range spec.Schedule.Steps {
		if i > 0 && spec.Schedule.Steps[i-1].Channel == mailing.ChannelSMS {
			want = append(want, "Receipts "+spec.Schedule.Steps[i-1].Name)
			if spec.Schedule.Steps[i-1].Name == "sms1" {
				want = append(want, "Load mailing_history") // S006's number failed
			}
		}
		want = append(want, fmt.Sprintf("Select %s %s due", st.Name, st.Channel))
		want = append(want, "SubmitDBS "+req(st.Name), "CollectDBS "+req(st.Name))
		if st.Name == "sms1" || st.Name == "reminder1" {
			want = append(want, "Load outcome_events")
		}
		want = append(want, fmt.Sprintf("Select %s %s checked", st.Name, st.Channel))
		want = append(want, "Send "+st.Name, "Load mailing_history")
	}
	want = append(want, "Receipts sms3", "CloseFieldwork", "StartRetention")
	assert.Equal(t, want, w.log)

	// The status tells the same story.
	before := snaps.get(t, "before-declaration")
	assert.Equal(t, workflows.StageDeclaration, before.Stage)
	assert.Nil(t, before.Declaration)

	d2 := snaps.get(t, "day-2")
	assert.Equal(t, workflows.StageFieldwork, d2.Stage)
	assert.Equal(t, "sms1 due on day 3", d2.WaitingOn)
	assert.Equal(t, workflows.MailingSent, d2.Mailings[0].State)
	assert.Equal(t, workflows.MailingScheduled, d2.Mailings[1].State)
	assert.Equal(t, start.Add(3*day), d2.Mailings[1].DueAt)

	for _, st := range spec.Schedule.Steps {
		sending := snaps.get(t, "sending "+st.Name)
		assert.Equal(t, workflows.StageMailing, sending.Stage, "the stage while %s is sent, after its DBS reply", st.Name)
		assert.Equal(t, st.Name, sending.WaitingOn)
	}

	d55 := snaps.get(t, "day-55")
	assert.Equal(t, workflows.StageFieldwork, d55.Stage)
	assert.Equal(t, "fieldwork to close on day 56", d55.WaitingOn)

	// Closed on day 56, nothing more mailed, the closing record waiting for the loads.
	d57 := snaps.get(t, "day-57")
	assert.Equal(t, workflows.StageClosing, d57.Stage)
	assert.Equal(t, "the supplier's last files: the closing record on day 58", d57.WaitingOn)
	assert.Nil(t, d57.Outcomes)

	var res workflows.ICSResult
	require.NoError(t, env.GetWorkflowResult(&res))
	final := res.Status
	assert.Equal(t, workflows.StageClosed, final.Stage)
	assert.Equal(t, &workflows.RetentionState{WorkflowID: workflows.RetentionWorkflowID(testWID, testICS), DeleteAt: start.Add(86 * day)}, final.Retention)
	assert.Equal(t, testWID, final.WaveID)
	assert.Equal(t, t0, final.StartedAt)
	require.NotNil(t, final.Intake)
	assert.Equal(t, 4321, final.Intake.Accepted)
	assert.Equal(t, 1, final.Intake.Runs)
	require.NotNil(t, final.Declaration)
	assert.Equal(t, "Dr A. Jones", final.Declaration.By)

	wantSent := map[string]int{"invitation": 6, "sms1": 3, "reminder1": 4, "sms2": 1, "reminder2": 3, "sms3": 1}
	for _, m := range final.Mailings {
		assert.Equal(t, workflows.MailingSent, m.State, m.Step)
		assert.Equal(t, wantSent[m.Step], m.Sent, "sent for %s", m.Step)
		assert.Equal(t, wantSent[m.Step], m.Selected, "selected for %s", m.Step)
		assert.Equal(t, start.Add(time.Duration(m.Day)*day), m.SentAt, m.Step)
		assert.Equal(t, m.DueAt, m.SentAt, m.Step)
	}

	// Each SMS step's receipts are fetched once, four days after it went out: final by
	// then (Notify tries a phone for 72 hours), and still held by Notify, which deletes
	// a message after its data retention of 7 days (the next step may be 11 days off).
	assert.Equal(t, map[string][]time.Time{
		"sms1": {start.Add((3 + mailing.ReceiptsAfterDays) * day)},
		"sms2": {start.Add((17 + mailing.ReceiptsAfterDays) * day)},
		"sms3": {start.Add((31 + mailing.ReceiptsAfterDays) * day)},
	}, w.receiptsAt)

	sms1 := final.Mailings[1]
	assert.Equal(t, "sms1", sms1.Step)
	assert.True(t, sms1.ReceiptsFinal)
	assert.True(t, sms1.ReceiptsDueAt.IsZero(), "no receipts pass is due once every receipt is final")
	assert.Equal(t, 2, sms1.Delivered)
	assert.Equal(t, 1, sms1.PermanentFailures)

	require.Len(t, final.DBS, 6)
	for i, c := range []struct {
		step               string
		sent, dead, dayNum int
	}{{"invitation", 6, 0, 0}, {"sms1", 4, 1, 3}, {"reminder1", 5, 1, 14}, {"sms2", 1, 0, 17}, {"reminder2", 3, 0, 28}, {"sms3", 1, 0, 31}} {
		got := final.DBS[i]
		assert.Equal(t, req(c.step), got.RequestID)
		assert.Equal(t, c.step, got.ForStep)
		assert.Equal(t, c.sent, got.Sent, c.step)
		assert.Equal(t, c.sent, got.Matched, c.step)
		assert.Equal(t, c.dead, got.Deceased, c.step)
		assert.True(t, got.Replied, c.step)
		assert.False(t, got.Overdue, c.step)
		assert.Equal(t, start.Add(time.Duration(c.dayNum)*day), got.SentAt, c.step)
	}
	// S004's answer, received on day 57, counts: the closing record came after it.
	assert.Equal(t, map[int]int{1: 2, 5: 2, 6: 2}, final.Outcomes)
}

// A receipts pass that finds a message not yet final comes again a day later, until
// every one is; a message Notify no longer holds (receipt-expired) is final and
// counted in the status, and fieldwork goes on.
func TestICSWorkflow_ReceiptsPassRepeatsUntilFinal(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	w := newWorld(env, t0.Add(time.Hour), 20, fieldworkPeople()...)
	w.receiptsInFlight["sms1"] = 2
	w.receiptsExpired["sms1"] = 1
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "x") }, time.Hour)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	start := t0.Add(time.Hour)
	first := start.Add((3 + mailing.ReceiptsAfterDays) * day)
	assert.Equal(t, []time.Time{first, first.Add(day), first.Add(2 * day)}, w.receiptsAt["sms1"])
	var res workflows.ICSResult
	require.NoError(t, env.GetWorkflowResult(&res))
	sms1 := res.Status.Mailings[1]
	assert.True(t, sms1.ReceiptsFinal)
	assert.Equal(t, 1, sms1.ReceiptsExpired)
	assert.Equal(t, 1, sms1.Delivered)
	assert.Equal(t, 1, sms1.PermanentFailures)
	assert.Equal(t, workflows.StageClosed, res.Status.Stage)
	for _, m := range res.Status.Mailings {
		assert.Equal(t, workflows.MailingSent, m.State, m.Step)
	}
}

// The workflow passes keys and counts, never people: its history must not grow with
// the sample. The same timetable for 10 and 100,000 accepted makes the same calls.
func TestICSWorkflow_HistoryIndependentOfSampleSize(t *testing.T) {
	type trace struct {
		activities map[string]int
		timers     int
	}
	run := func(accepted int) trace {
		spec := testSpec(t, testICS)
		env := newEnv(t)
		// A sample of `accepted` people, every one with a mobile and nobody responding.
		people := make([]person, 0, accepted)
		for i := range accepted {
			people = append(people, person{id: fmt.Sprintf("S%06d", i), mobile: true, diesDay: -1, respondsDay: -1})
		}
		w := newWorld(env, t0.Add(time.Hour), accepted, people...)
		tr := trace{activities: map[string]int{}}
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			tr.activities[info.ActivityType.Name]++
		})
		env.SetOnTimerScheduledListener(func(string, time.Duration) { tr.timers++ })
		u := &updates{}
		env.RegisterDelayedCallback(func() { u.declare(env, "d", "x") }, time.Hour)
		env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
		require.NoError(t, env.GetWorkflowError())
		w.mu.Lock()
		defer w.mu.Unlock()
		require.Len(t, w.received, accepted, "everyone is mailed")
		require.Len(t, w.received[people[accepted-1].id], 6)
		return tr
	}
	small, large := run(10), run(100_000)
	assert.Equal(t, small, large)
	// And concretely: 6 steps, 3 of them letters with a DBS check each.
	assert.Equal(t, map[string]int{
		"Intake": 1, "RecordDeclaration": 1,
		"SelectRecipients": 6 + 6, "SubmitDBS": 6, "CollectDBS": 6, "SendMailing": 6, "FetchReceipts": 3,
		"LoadLakeObjects": 1 + 6, "FlushAudit": 1 + 6 + 3 + 1, // a flush after each SMS step's receipts pass
		"CloseFieldwork": 1,
	}, small.activities)
}

// ---- 2. the declaration gate ----------------------------------------------------------

func TestICSWorkflow_DeclarationGate(t *testing.T) {
	cases := []struct {
		name      string
		shortfall bool
		// declarations to try, in order, one hour apart; want is "" for accepted or a
		// fragment of the validator's error.
		tries []struct{ by, want string }
	}{
		{name: "empty name refused, then signed, then a second refused", tries: []struct{ by, want string }{
			{"", "must name who signs it"},
			{"   ", "must name who signs it"}, // blank: it would sign for nobody and hold the declaration
			{"Dr A. Jones", ""},
			{"Dr B. Smith", "already declared by Dr A. Jones"},
		}},
		{name: "shortfall refused", shortfall: true, tries: []struct{ by, want string }{
			{"Dr A. Jones", "eligible sample for QE1 is short: 3990 accepted, 4000 needed"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec(t, testICS)
			env := newEnv(t)
			w := newWorld(env, t0, 4000, fieldworkPeople()...)
			if tc.shortfall {
				w.intakeHook = func(_ int, in activities.IntakeInput) (activities.IntakeOutput, error) {
					return activities.IntakeOutput{Accepted: 3990, MinEligible: 4000, Shortfall: true, SampleKey: schemas.SampleKey(in.WaveID, in.ICS),
						Warnings: []string{"sample.csv: unknown column NOTES is ignored"},
						Objects:  []schemas.LakeObject{schemas.SampleObject(in.WaveID, in.ICS)}}, nil
				}
			}
			u := &updates{}
			snaps := &snapshots{}
			env.RegisterDelayedCallback(func() { snaps.take(env, "waiting") }, 30*time.Minute)
			declaredAt := time.Duration(-1)
			for i, try := range tc.tries {
				at := time.Duration(i+1) * time.Hour
				if try.want == "" {
					declaredAt = at
				}
				env.RegisterDelayedCallback(func() { u.declare(env, fmt.Sprintf("declare-%d", i), try.by) }, at)
			}
			// Without a (valid) declaration nothing is selected, however long we wait.
			env.RegisterDelayedCallback(func() { snaps.take(env, "day-20") }, 20*day)
			env.RegisterDelayedCallback(env.CancelWorkflow, 20*day+time.Hour)
			env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
			requireCanceled(t, env)

			st := snaps.get(t, "waiting")
			assert.Equal(t, workflows.StageDeclaration, st.Stage)
			if tc.shortfall {
				assert.Equal(t, "a larger sample: 3990 eligible, 4000 needed (replace the files and revalidate)", st.WaitingOn)
				assert.True(t, st.Intake.Shortfall)
				// The intake's warnings are the signatory's to read, in the status.
				assert.Equal(t, []string{"sample.csv: unknown column NOTES is ignored"}, st.Intake.Warnings)
			} else {
				assert.Equal(t, "the sample declaration (`ice wave declare W1 --ics QE1 --by NAME`)", st.WaitingOn)
			}
			assert.Nil(t, st.Declaration)

			for i, try := range tc.tries {
				id := fmt.Sprintf("declare-%d", i)
				if try.want == "" {
					u.requireAccepted(t, id)
				} else {
					u.requireRejected(t, id, try.want)
				}
			}

			w.mu.Lock()
			defer w.mu.Unlock()
			if declaredAt < 0 {
				assert.Zero(t, w.counts["SelectRecipients"], "no selection without a declaration")
				assert.Zero(t, w.counts["SendMailing"])
				assert.Empty(t, w.declaredBy)
				assert.Equal(t, workflows.StageDeclaration, snaps.get(t, "day-20").Stage)
			} else {
				require.NotEmpty(t, w.selectedAt)
				assert.Equal(t, t0.Add(declaredAt), w.selectedAt[0], "the first selection comes with the declaration, not before")
				assert.Equal(t, []string{"Dr A. Jones"}, w.declaredBy)
				assert.Equal(t, "Dr A. Jones", snaps.get(t, "day-20").Declaration.By)
			}
		})
	}
}

// An opt-out names its person once, by record or by access code, and its reason is a
// code: free text, which would be recorded in the history, the lake and the warehouse,
// is refused by the update's validator (a client other than the CLI), before anything
// is recorded; so is a --record or --access-code that has not the form of one (an NHS
// number, a name, a phone number typed in the wrong place), which an accepted update
// would record in the history as its argument, the activity's input and its failure,
// and the failure in the worker's log and the audit trail. A code is passed on.
func TestICSWorkflow_OptOutValidator(t *testing.T) {
	const freeText = "Barbara Hunt's daughter phoned from 07700 900123"
	tries := []struct {
		name string
		req  workflows.OptOutRequest
		want string // "" for accepted
	}{
		{"nobody", workflows.OptOutRequest{Reason: "too_ill"}, "name the person by --record"},
		{"both", workflows.OptOutRequest{SurveyRecordID: "S001", AccessCode: "ABCD-EFGH-JK22"}, "not both"},
		{"free text", workflows.OptOutRequest{SurveyRecordID: "SABCDEFGH23456789", Reason: freeText}, "the reason is a code, one of does_not_want, too_ill, deceased, other"},
		{"withdraw_linkage", workflows.OptOutRequest{SurveyRecordID: "SABCDEFGH23456789", Reason: "withdraw_linkage"}, "the reason is a code"},
		{"an NHS number for a record", workflows.OptOutRequest{SurveyRecordID: "943 476 5919", Reason: "too_ill"}, "--record is not a survey record id"},
		{"a name for a record", workflows.OptOutRequest{SurveyRecordID: "Barbara Hunt", Reason: "too_ill"}, "--record is not a survey record id"},
		{"a name and number for an access code", workflows.OptOutRequest{AccessCode: "Hunt 07700 900123"}, "--access-code is not an access code"},
		{"a code", workflows.OptOutRequest{SurveyRecordID: "SABCDEFGH23456789", Reason: "too_ill"}, ""},
		{"no reason: the default", workflows.OptOutRequest{SurveyRecordID: " sabcdefgh2345678a "}, ""},
		{"an access code", workflows.OptOutRequest{AccessCode: "abcd efgh jk22"}, ""},
	}
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	newWorld(env, t0.Add(declareAt), 4000, fieldworkPeople()...)
	var mu sync.Mutex
	var recorded []activities.OptOutInput
	env.OnActivity(ta.RecordOptOut, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OptOutInput) (activities.OptOutOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			recorded = append(recorded, in)
			return activities.OptOutOutput{SurveyRecordID: in.SurveyRecordID}, nil
		})
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	for i, try := range tries {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(workflows.UpdateOptOut, try.name, u.callback(try.name), try.req)
		}, declareAt+time.Duration(i+1)*time.Hour)
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	for _, try := range tries {
		if try.want == "" {
			u.requireAccepted(t, try.name)
		} else {
			u.requireRejected(t, try.name, try.want)
			for _, v := range []string{"Hunt", "476", "900123"} {
				assert.NotContains(t, u.get(t, try.name).err.Error(), v, "the refusal repeats what was given")
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, recorded, 3, "only the accepted opt-outs reach the activity")
	assert.Equal(t, "too_ill", recorded[0].Reason)
	assert.Equal(t, " sabcdefgh2345678a ", recorded[1].SurveyRecordID)
	assert.Equal(t, "abcd efgh jk22", recorded[2].AccessCode)
}

// Two data engineers opting the same person out at the same moment (from two
// terminals, or one by record and one by access code): the first opt-out stands, the
// second is refused saying so, and the ICS counts one late opt-out. RecordOptOut reads
// whether the person was opted out and then writes the opt-out, so two of them running
// at once would both find none, both write (the second over the first's time and
// reason) and both answer "opted out": the workflow records its opt-outs one at a time.
// The activity here is the real mailing.RecordOptOut over a file store; each call
// waits (briefly) for a second one to be in flight, so an overlap is never missed.
func TestICSWorkflow_ConcurrentOptOutsOfOnePersonRecordOne(t *testing.T) {
	const person = "SABCDEFGH23456789"
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, lake.PutRows(ctx, st, schemas.ContactsKey(testWID, testICS), schemas.ContactLayout(),
		[]schemas.Contact{{SurveyRecordID: person, ICS: testICS, AccessCode: "ABCD-EFGH-JK22"}}))

	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	newWorld(env, t0.Add(declareAt), 4000, fieldworkPeople()...)
	var mu sync.Mutex
	inFlight, most := 0, 0
	arrived := make(chan struct{}, 2)
	env.OnActivity(ta.RecordOptOut, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.OptOutInput) (activities.OptOutOutput, error) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			arrived <- struct{}{}
			select { // the other, if it is in flight too
			case <-arrived:
			case <-time.After(300 * time.Millisecond):
			}
			res, err := mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: in.WaveID, ICS: in.ICS,
				SurveyRecordID: in.SurveyRecordID, AccessCode: in.AccessCode, Reason: in.Reason}, time.Now())
			if err != nil {
				return activities.OptOutOutput{}, activities.ApplicationError(err)
			}
			return activities.OptOutOutput{SurveyRecordID: res.SurveyRecordID, Objects: res.Objects}, nil
		})
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateOptOut, "by-record", u.callback("by-record"),
			workflows.OptOutRequest{SurveyRecordID: person, Reason: "too_ill"})
		env.UpdateWorkflow(workflows.UpdateOptOut, "by-code", u.callback("by-code"),
			workflows.OptOutRequest{AccessCode: "ABCD-EFGH-JK22", Reason: "does_not_want"})
	}, declareAt+time.Hour)
	env.RegisterDelayedCallback(func() { snaps.take(env, "after") }, declareAt+3*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	first, second := u.get(t, "by-record"), u.get(t, "by-code")
	require.True(t, first.accepted && first.completed && second.accepted && second.completed, "%+v %+v", first, second)
	refused := 0
	var stood string
	for name, o := range map[string]updateOutcome{"by-record": first, "by-code": second} {
		if o.err != nil {
			refused++
			assert.ErrorContains(t, o.err, "already opted out", name)
			assert.ErrorContains(t, o.err, "the first opt-out stands", name)
		} else {
			stood = name
		}
	}
	assert.Equal(t, 1, refused, "exactly one of two opt-outs of one person is refused: %+v %+v", first, second)
	assert.Equal(t, 1, most, "opt-outs were recorded at the same time")
	assert.Equal(t, 1, snaps.get(t, "after").LateOptOuts, "one person opted out")

	rows, err := lake.GetRows[schemas.OutcomeEvent](ctx, st, schemas.OptOutKey(testWID, testICS, person), schemas.OutcomeEventLayout())
	require.NoError(t, err)
	require.Len(t, rows, 1)
	want := map[string]string{"by-record": "too_ill", "by-code": "does_not_want"}[stood]
	assert.Equal(t, want, rows[0].Reason, "the lake holds the opt-out that was answered as recorded")
}

// ---- 3. intake failure, then revalidation ------------------------------------------

func TestICSWorkflow_IntakeFailureThenRevalidate(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	w := newWorld(env, t0, 4100, fieldworkPeople()...)
	w.intakeHook = func(run int, in activities.IntakeInput) (activities.IntakeOutput, error) {
		if run == 1 {
			return activities.IntakeOutput{}, activities.ApplicationError(fault.Errorf(fault.BadInput, "incoming/QE1/sample.csv row 17: nhs_number fails its check digit"))
		}
		return activities.IntakeOutput{RowsRead: 4200, Accepted: 4100, Excluded: 100, MinEligible: 4000, SampleKey: schemas.SampleKey(in.WaveID, in.ICS),
			Objects: []schemas.LakeObject{schemas.SampleObject(in.WaveID, in.ICS)}}, nil
	}
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { snaps.take(env, "failed"); u.declare(env, "too-early", "Dr A. Jones") }, time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRevalidate, nil) }, 3*time.Hour)
	env.RegisterDelayedCallback(func() { snaps.take(env, "revalidated") }, 4*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Hour)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	failed := snaps.get(t, "failed")
	assert.Equal(t, workflows.StageIntakeFailed, failed.Stage)
	assert.Equal(t, "incoming/QE1/sample.csv row 17: nhs_number fails its check digit", failed.IntakeError)
	assert.Equal(t, "a corrected file and `ice wave revalidate`", failed.WaitingOn)
	require.NotNil(t, failed.Intake)
	assert.Equal(t, 1, failed.Intake.Runs)
	assert.Zero(t, failed.Intake.Accepted)
	u.requireRejected(t, "too-early", "intake failed for QE1")

	ok := snaps.get(t, "revalidated")
	assert.Equal(t, workflows.StageDeclaration, ok.Stage)
	assert.Empty(t, ok.IntakeError)
	require.NotNil(t, ok.Intake)
	assert.Equal(t, 2, ok.Intake.Runs)
	assert.Equal(t, 4100, ok.Intake.Accepted)
	assert.Equal(t, 4200, ok.Intake.RowsRead)

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 2, w.intakeRuns, "intake ran once, then once more on revalidate (the bad input is not retried)")
	// Cancelled at the declaration, the ICS still starts its retention: the files it
	// sent hold personal data.
	assert.Equal(t, []string{"Intake QE1", "Intake QE1", "Load sample", "StartRetention", "EndedEarly cancelled"}, w.log)
	assert.Zero(t, w.counts["SelectRecipients"])
	require.Len(t, w.retention, 1)
	assert.Equal(t, 30*day, w.retention[0].After)
	assert.Equal(t, 4200, w.retention[0].Landed[0].Rows, "the retention is told what the last intake counted")
}

// An ICS that fails (here its intake, on a Configuration error no retry can mend)
// still starts its retention: the files it sent hold personal data, and nothing else
// would ever delete them.
func TestICSWorkflow_FailureStartsRetention(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	w := newWorld(env, t0, 4100, fieldworkPeople()...)
	w.intakeHook = func(int, activities.IntakeInput) (activities.IntakeOutput, error) {
		return activities.IntakeOutput{}, activities.ApplicationError(fault.Errorf(fault.Configuration, "no pseudonymisation key configured"))
	}
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "no pseudonymisation key configured")

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, []string{"Intake QE1", "StartRetention",
		"EndedEarly no pseudonymisation key configured (Configuration; not retried: a person must fix it; in activity Intake)"}, w.log)
	require.Len(t, w.retention, 1)
	assert.Equal(t, 30*day, w.retention[0].After)
	assert.Equal(t, spec.ICSs[0].SampleFile, w.retention[0].Landed[0].Key, "the retention is told which files to delete")
}

// ---- 4. DBS overdue and mismatch -----------------------------------------------------

func TestICSWorkflow_DBSOverdueThenReply(t *testing.T) {
	spec := testSpec(t, testICS)
	// The test environment stops retrying after 10 attempts, so poll hourly with a 3h
	// deadline rather than every minute for 48h.
	spec.DBS.PollEvery = wavespec.Duration(time.Hour)
	spec.DBS.ReplyDeadline = wavespec.Duration(3 * time.Hour)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	const replyOnCall = 6 // calls at +0h … +4h find nothing; the 6th (+5h) finds the reply
	w.collectHook = replyLate("invitation", replyOnCall)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { snaps.take(env, "before-deadline") }, declareAt+2*time.Hour+30*time.Minute)
	env.RegisterDelayedCallback(func() { snaps.take(env, "overdue") }, declareAt+3*time.Hour+30*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	before := snaps.get(t, "before-deadline")
	require.Len(t, before.DBS, 1)
	assert.False(t, before.DBS[0].Overdue)
	assert.Equal(t, "the DBS reply to W1-QE1-invitation-1", before.WaitingOn)

	over := snaps.get(t, "overdue")
	assert.Equal(t, workflows.StageDBS, over.Stage)
	assert.Equal(t, "the DBS reply to W1-QE1-invitation-1, now OVERDUE: the mailing waits", over.WaitingOn)
	require.Len(t, over.DBS, 1)
	assert.True(t, over.DBS[0].Overdue)
	assert.False(t, over.DBS[0].Replied)
	assert.Equal(t, workflows.MailingChecking, over.Mailings[0].State)
	assert.Zero(t, over.Mailings[0].Sent)

	w.mu.Lock()
	defer w.mu.Unlock()
	require.Len(t, w.collectAt, replyOnCall)
	for i, at := range w.collectAt {
		assert.Equal(t, start.Add(time.Duration(i)*time.Hour), at, "poll %d on the PollEvery interval", i+1)
	}
	require.NotEmpty(t, w.sends)
	assert.Equal(t, "invitation", w.sends[0].step)
	assert.Equal(t, start.Add(5*time.Hour), w.sends[0].at, "the invitation goes when the reply comes, not before")
	assert.Equal(t, 6, w.sends[0].n)
}

func TestICSWorkflow_DBSReplyMismatchThenRetry(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	const mismatch = "reply file names request W1-QE1-sms1-1, not W1-QE1-invitation-1"
	w.collectHook = func(call int, in activities.DBSCollectInput) (activities.DBSCollectOutput, error, bool) {
		if in.RequestID == "W1-QE1-invitation-1" {
			return activities.DBSCollectOutput{}, activities.ApplicationError(fault.Wrap(fault.ReplyMismatch, errors.New(mismatch))), true
		}
		return activities.DBSCollectOutput{}, nil, false
	}
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { snaps.take(env, "rejected") }, declareAt+6*time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRetryDBS, nil) }, declareAt+8*time.Hour)
	env.RegisterDelayedCallback(func() { snaps.take(env, "retried") }, declareAt+9*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	rej := snaps.get(t, "rejected")
	assert.Equal(t, workflows.StageDBS, rej.Stage)
	assert.Contains(t, rej.WaitingOn, "`ice wave retry-dbs` sends a new request")
	require.Len(t, rej.DBS, 1)
	assert.Equal(t, "W1-QE1-invitation-1", rej.DBS[0].RequestID)
	assert.Equal(t, mismatch, rej.DBS[0].Rejected)
	assert.False(t, rej.DBS[0].Replied)
	assert.Equal(t, workflows.MailingChecking, rej.Mailings[0].State)

	ok := snaps.get(t, "retried")
	require.Len(t, ok.DBS, 2)
	assert.Equal(t, "W1-QE1-invitation-2", ok.DBS[1].RequestID)
	assert.True(t, ok.DBS[1].Replied)
	assert.Empty(t, ok.DBS[1].Rejected)
	assert.Equal(t, mismatch, ok.DBS[0].Rejected, "the rejected request stays on record")
	assert.Equal(t, workflows.MailingSent, ok.Mailings[0].State)

	w.mu.Lock()
	defer w.mu.Unlock()
	var submits []string
	for _, e := range w.log {
		if id, found := strings.CutPrefix(e, "SubmitDBS "); found {
			submits = append(submits, id)
		}
	}
	assert.Equal(t, []string{"W1-QE1-invitation-1", "W1-QE1-invitation-2"}, submits)
	assert.Equal(t, 1, w.collects["W1-QE1-invitation-1"], "a mismatch is not retried")
	require.NotEmpty(t, w.sends)
	assert.Equal(t, start.Add(8*time.Hour), w.sends[0].at, "the invitation waits for the new request's reply")
}

// ---- 5. pause, resume, move ----------------------------------------------------------

func TestICSWorkflow_PauseResume(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalPause, nil) }, declareAt+2*day) // sms1 is due on day 3
	env.RegisterDelayedCallback(func() { snaps.take(env, "paused") }, declareAt+4*day)                      // past its due time
	// Anything else that wakes the workflow during the pause must not release the held
	// mailing: a second pause signal and a move of a later step.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalPause, nil)
		u.move(env, "move-during-pause", "sms2", 18)
	}, declareAt+4*day+time.Hour)
	env.RegisterDelayedCallback(func() { snaps.take(env, "still-paused") }, declareAt+4*day+2*time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalResume, nil) }, declareAt+5*day) // sends at once
	env.RegisterDelayedCallback(func() { snaps.take(env, "resumed") }, declareAt+5*day+time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+20*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	p := snaps.get(t, "paused")
	assert.True(t, p.Paused)
	assert.Equal(t, workflows.StageFieldwork, p.Stage)
	assert.Equal(t, "resume (this ICS is paused)", p.WaitingOn, "the ICS is paused, not (by this signal) the wave")
	assert.Equal(t, workflows.MailingScheduled, p.Mailings[1].State)
	assert.Equal(t, start.Add(3*day), p.Mailings[1].DueAt)

	u.requireAccepted(t, "move-during-pause")
	sp := snaps.get(t, "still-paused")
	assert.True(t, sp.Paused)
	assert.Equal(t, workflows.MailingScheduled, sp.Mailings[1].State, "a wake-up during the pause does not send the held step")
	assert.Equal(t, 18, sp.Mailings[3].Day)

	r := snaps.get(t, "resumed")
	assert.False(t, r.Paused)
	assert.Equal(t, workflows.MailingSent, r.Mailings[1].State)
	assert.Equal(t, start.Add(5*day), r.Mailings[1].SentAt)

	at, ok := w.sendAt("sms1")
	require.True(t, ok)
	assert.Equal(t, start.Add(5*day), at, "held while paused, sent as soon as resumed")
	at, ok = w.sendAt("reminder1")
	require.True(t, ok)
	assert.Equal(t, start.Add(14*day), at, "later steps keep their own day")
	at, ok = w.sendAt("sms2")
	require.True(t, ok)
	assert.Equal(t, start.Add(18*day), at, "moved during the pause")
	assert.Equal(t, []string{"invitation", "sms1", "reminder1", "sms2"}, w.sentSteps())
}

func TestICSWorkflow_MoveMailing(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	moves := []struct {
		id, step string
		day      int
		want     string // "" = accepted
	}{
		{"move-reminder1", "reminder1", 10, ""},
		{"move-sent", "invitation", 7, "mailing invitation is already sent and cannot be moved"},
		{"move-after-close", "sms2", 56, "day 56 is outside fieldwork (0..55)"},
		{"move-negative", "sms2", -1, "day -1 is outside fieldwork"},
		{"move-unknown", "reminder9", 20, `no mailing step "reminder9" in the schedule`},
	}
	for i, m := range moves {
		env.RegisterDelayedCallback(func() { u.move(env, m.id, m.step, m.day) }, declareAt+4*day+time.Duration(i)*time.Minute)
	}
	env.RegisterDelayedCallback(func() { snaps.take(env, "moved") }, declareAt+4*day+time.Hour)
	// Once reminder1 has gone (day 10), it can no longer be moved.
	env.RegisterDelayedCallback(func() { u.move(env, "move-reminder1-again", "reminder1", 12) }, declareAt+11*day)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+20*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	for _, m := range moves {
		if m.want == "" {
			u.requireAccepted(t, m.id)
		} else {
			u.requireRejected(t, m.id, m.want)
		}
	}
	u.requireRejected(t, "move-reminder1-again", "mailing reminder1 is already sent and cannot be moved")
	ms := decodeValue[workflows.MailingStatus](t, u.get(t, "move-reminder1").value)
	assert.Equal(t, "reminder1", ms.Step)
	assert.Equal(t, 10, ms.Day)

	st := snaps.get(t, "moved")
	assert.Equal(t, 10, st.Mailings[2].Day)
	assert.Equal(t, 17, st.Mailings[3].Day, "refused moves change nothing")
	assert.Equal(t, 0, st.Mailings[0].Day)

	at, ok := w.sendAt("reminder1")
	require.True(t, ok)
	assert.Equal(t, start.Add(10*day), at, "reminder1 goes on its new day")
	at, ok = w.sendAt("sms2")
	require.True(t, ok)
	assert.Equal(t, start.Add(17*day), at)
	assert.Equal(t, []string{"invitation", "sms1", "reminder1", "sms2"}, w.sentSteps())
	w.mu.Lock()
	defer w.mu.Unlock()
	dbs := []string{}
	for _, e := range w.log {
		if strings.HasPrefix(e, "SubmitDBS") {
			dbs = append(dbs, e)
		}
	}
	assert.Equal(t, []string{"SubmitDBS W1-QE1-invitation-1", "SubmitDBS W1-QE1-sms1-1", "SubmitDBS W1-QE1-reminder1-1", "SubmitDBS W1-QE1-sms2-1"}, dbs)
}

// An ICS paused before reminder1 and left paused past its close day closes on that day
// all the same: the steps not sent by then are recorded as not sent (fieldwork
// closed), nothing is mailed at or after the close (nor on a resume after it), the
// receipts of the SMS step sent before the pause are fetched while paused, and the
// closing record is taken at its time, FinalLoadDays after the close.
func TestICSWorkflow_PausedPastCloseDay(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	closeAt := start.Add(56 * day)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalPause, nil) }, declareAt+10*day) // reminder1 is due on day 14
	env.RegisterDelayedCallback(func() { snaps.take(env, "day-55") }, declareAt+55*day)
	env.RegisterDelayedCallback(func() { snaps.take(env, "closed") }, declareAt+56*day+time.Hour)
	// Resumed after the close day, before the closing record: nothing overdue goes.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalResume, nil) }, declareAt+57*day)
	env.RegisterDelayedCallback(func() { snaps.take(env, "resumed") }, declareAt+57*day+time.Hour)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.Equal(t, []string{"invitation", "sms1"}, w.sentSteps(), "nothing is mailed after the pause, nor at or after the close")
	for _, s := range w.sends {
		assert.True(t, s.at.Before(closeAt), "%s sent at %v, on or after the close %v", s.step, s.at, closeAt)
	}
	w.mu.Lock()
	assert.Equal(t, []time.Time{start.Add((3 + mailing.ReceiptsAfterDays) * day)}, w.receiptsAt["sms1"][:1],
		"sms1's receipts are fetched on their day, paused or not")
	closedAt, retainedAt := w.closedAt, w.retainedAt
	w.mu.Unlock()
	assert.Equal(t, start.Add(58*day), closedAt, "the closing record at its time, after the final loads")
	assert.Equal(t, start.Add(58*day), retainedAt)
	w.mu.Lock()
	var notSent []string
	for _, n := range w.closedNotSent {
		notSent = append(notSent, n.Step+": "+n.Why)
	}
	w.mu.Unlock()
	assert.Equal(t, []string{"reminder1: fieldwork closed", "sms2: fieldwork closed", "reminder2: fieldwork closed", "sms3: fieldwork closed"}, notSent,
		"the closing (and its audit event) names every step not sent, and why")

	d55 := snaps.get(t, "day-55")
	assert.Equal(t, workflows.StageFieldwork, d55.Stage)
	assert.Equal(t, workflows.WaitingForResume, d55.WaitingOn)

	for _, name := range []string{"closed", "resumed"} {
		c := snaps.get(t, name)
		assert.Equal(t, workflows.StageClosing, c.Stage, name)
		assert.Equal(t, "the supplier's last files: the closing record on day 58", c.WaitingOn, name)
		for _, m := range c.Mailings[2:] {
			assert.Equal(t, workflows.MailingNotSent, m.State, "%s: %s", name, m.Step)
			assert.Equal(t, workflows.NotSentFieldworkClosed, m.NotSent, "%s: %s", name, m.Step)
		}
	}

	var res workflows.ICSResult
	require.NoError(t, env.GetWorkflowResult(&res))
	final := res.Status
	assert.Equal(t, workflows.StageClosed, final.Stage)
	require.Len(t, final.Mailings, 6)
	for i, m := range final.Mailings {
		if i < 2 {
			assert.Equal(t, workflows.MailingSent, m.State, m.Step)
			assert.Empty(t, m.NotSent, m.Step)
			continue
		}
		assert.Equal(t, workflows.MailingNotSent, m.State, m.Step)
		assert.Equal(t, workflows.NotSentFieldworkClosed, m.NotSent, m.Step)
		assert.Zero(t, m.Sent, m.Step)
		assert.True(t, m.SentAt.IsZero(), m.Step)
	}
	// S004 answered on day 57, after the close: the closing record two days later counts
	// them. S002's death (day 1) would have been found by reminder1's DBS check, which
	// never ran.
	assert.Equal(t, map[int]int{1: 2, 5: 1, 6: 3}, final.Outcomes)
}

// A step whose DBS reply has not come by the close day is not sent: the wait for the
// reply ends at the close, and the closing record is taken at its time.
func TestICSWorkflow_DBSReplyOutstandingAtClose(t *testing.T) {
	spec := testSpec(t, testICS)
	spec.DBS.PollEvery = wavespec.Duration(3 * day)
	spec.DBS.ReplyDeadline = wavespec.Duration(6 * day)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	// sms3 (day 31)'s reply never comes; the test environment gives up after 10 attempts
	// of an activity: polled every 3 days, from day 31 to the close it tries 9 times.
	w.collectHook = replyLate("sms3", 0)
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.Equal(t, []string{"invitation", "sms1", "reminder1", "sms2", "reminder2"}, w.sentSteps())
	w.mu.Lock()
	closedAt := w.closedAt
	w.mu.Unlock()
	assert.Equal(t, start.Add(58*day), closedAt)
	var res workflows.ICSResult
	require.NoError(t, env.GetWorkflowResult(&res))
	sms3 := res.Status.Mailings[5]
	w.mu.Lock()
	assert.Equal(t, []activities.NotSentStep{{Step: "sms3", Why: workflows.NotSentFieldworkClosed}}, w.closedNotSent)
	w.mu.Unlock()
	assert.Equal(t, workflows.MailingNotSent, sms3.State)
	assert.Equal(t, workflows.NotSentFieldworkClosed, sms3.NotSent)
	require.Len(t, res.Status.DBS, 6)
	assert.False(t, res.Status.DBS[5].Replied)
}

// Day 0 is the invitation's day (SPEC §6): when the invitation waits for its DBS reply,
// the later steps and the close count from when it went out, not from the declaration,
// so the fieldwork still lasts 56 days from the invitation and each gap stays whole.
func TestICSWorkflow_DaysCountFromTheInvitation(t *testing.T) {
	spec := testSpec(t, testICS)
	spec.DBS.PollEvery = wavespec.Duration(time.Hour)
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	const replyOnCall = 6 // the invitation's reply is found at the 6th poll, 5 hours on
	w.collectHook = replyLate("invitation", replyOnCall)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { snaps.take(env, "day-2") }, declareAt+2*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	invited := start.Add(5 * time.Hour)
	require.Len(t, w.sends, len(spec.Schedule.Steps))
	for i, st := range spec.Schedule.Steps {
		assert.Equal(t, invited.Add(time.Duration(st.Day)*day), w.sends[i].at, "%s on day %d after the invitation", st.Name, st.Day)
	}
	w.mu.Lock()
	closedAt := w.closedAt
	w.mu.Unlock()
	assert.Equal(t, invited.Add(58*day), closedAt, "the close on day 56 after the invitation, the closing record two days later")

	d2 := snaps.get(t, "day-2")
	assert.Equal(t, invited, d2.DayZero)
	assert.Equal(t, invited.Add(3*day), d2.Mailings[1].DueAt)
	var res workflows.ICSResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, invited, res.Status.DayZero)
}

// replyLate is a collectHook under which the DBS reply to step's first request is not
// ready until the onCall-th poll (never, with 0); every other reply is the world's.
func replyLate(step string, onCall int) func(int, activities.DBSCollectInput) (activities.DBSCollectOutput, error, bool) {
	return func(call int, in activities.DBSCollectInput) (activities.DBSCollectOutput, error, bool) {
		if strings.HasSuffix(in.RequestID, "-"+step+"-1") && (onCall == 0 || call < onCall) {
			return activities.DBSCollectOutput{}, activities.ApplicationError(dbs.ErrReplyNotReady), true
		}
		return activities.DBSCollectOutput{}, nil, false
	}
}
