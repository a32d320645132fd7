package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/workflows"
)

// dailyEnv is a test environment with the daily load registered and a call log that
// records, per ICS, which activities ran in which order.
type dailyEnv struct {
	env *testsuite.TestWorkflowEnvironment
	mu  sync.Mutex
	log map[string][]string // ICS → activity (and table) in call order
}

func newDailyEnv(t *testing.T) *dailyEnv {
	e := &dailyEnv{env: newEnv(t), log: map[string][]string{}}
	e.env.RegisterWorkflow(workflows.DailyLoadWorkflow)
	// The dev stack's simulator, registered by name as sim/devsim registers it (and
	// mocked by the test that asks for it).
	e.env.RegisterActivityWithOptions(func(context.Context, activities.SimulateInput) (activities.SimulateOutput, error) {
		return activities.SimulateOutput{}, errors.New("the simulator was not expected")
	}, activity.RegisterOptions{Name: activities.ActivitySimulateResponses})
	e.env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(activities.FlushAuditOutput{}, nil).Maybe()
	e.env.OnActivity(twa.LoadLakeObjects, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadObjectsInput) (activities.LoadObjectsOutput, error) {
			out := activities.LoadObjectsOutput{ByKey: map[string]activities.LoadOutput{}}
			for _, o := range in.Objects {
				e.record(in.ICS, "warehouse:"+string(o.Table))
				out.ByKey[o.Key] = activities.LoadOutput{Rows: 3}
			}
			return out, nil
		})
	return e
}

func (e *dailyEnv) record(ics, what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log[ics] = append(e.log[ics], what)
}

// onLoad mocks LoadResponses: the ICSs in empty get no files; the others get one lake
// object per warehouse table. Every call's load date is sent to dates.
func (e *dailyEnv) onLoad(dates chan<- time.Time, empty ...string) {
	e.env.OnActivity(ta.LoadResponses, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadResponsesInput) (activities.LoadResponsesOutput, error) {
			e.record(in.ICS, "load")
			if dates != nil {
				dates <- in.Date
			}
			for _, ics := range empty {
				if ics == in.ICS {
					return activities.LoadResponsesOutput{NoFiles: true, LoadDate: in.Date.Format(time.DateOnly)}, nil
				}
			}
			const sha = "0123456789abcdef0123"
			return activities.LoadResponsesOutput{LoadDate: in.Date.Format(time.DateOnly), Files: 2, RowsRead: 10, Loaded: 9, Rejected: 1,
				Objects: []schemas.LakeObject{
					schemas.LakeResponseOutcomes.Object(schemas.ResponsePartKey(schemas.LakeResponseOutcomes, testWID, in.ICS, in.Date, sha)),
					schemas.LakeResponseRejections.Object(schemas.ResponsePartKey(schemas.LakeResponseRejections, testWID, in.ICS, in.Date, sha)),
					schemas.LakeResponses.Object(schemas.ResponsePartKey(schemas.LakeResponses, testWID, in.ICS, in.Date, sha)),
				}}, nil
		})
}

func TestDailyLoadSimulatesLoadsThenWarehousesPerICS(t *testing.T) {
	e := newDailyEnv(t)
	var simErr error
	e.env.OnActivity(activities.ActivitySimulateResponses, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SimulateInput) (activities.SimulateOutput, error) {
			e.record(in.ICS, "simulate")
			if in.DayLength != time.Hour || in.PatientVersion != "patient-2026.1" {
				simErr = fmt.Errorf("simulator asked with day length %s and version %s", in.DayLength, in.PatientVersion)
			}
			return activities.SimulateOutput{FieldworkDay: 3}, nil
		})
	e.onLoad(nil)
	date := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, workflows.DailyLoadInput{
		WaveID: testWID, ICS: []string{"QE1", "QJK"}, Date: date, Simulate: true, SimDayLength: time.Hour,
		Questionnaires: activities.Questionnaires{PatientVersion: "patient-2026.1", CarerVersion: "carer-2026.1"},
	})
	require.True(t, e.env.IsWorkflowCompleted())
	require.NoError(t, e.env.GetWorkflowError())
	require.NoError(t, simErr)
	var res workflows.DailyLoadResult
	require.NoError(t, e.env.GetWorkflowResult(&res))
	require.Equal(t, "2026-03-05", res.Date)
	require.Empty(t, res.NoFiles)
	want := []string{"simulate", "load", "warehouse:outcome_events", "warehouse:response_rejections", "warehouse:responses"}
	for _, ics := range []string{"QE1", "QJK"} {
		require.Equal(t, want, e.log[ics], ics)
	}
	require.Len(t, res.ICS, 2)
	for _, r := range res.ICS {
		require.Empty(t, r.Error)
		require.NotNil(t, r.Simulated)
		require.Equal(t, 9, r.Load.Loaded)
		require.Len(t, r.Warehouse, 3)
	}
}

func TestDailyLoadNoFilesIsRecordedNotAnError(t *testing.T) {
	e := newDailyEnv(t)
	e.onLoad(nil, "QJK")
	e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, workflows.DailyLoadInput{
		WaveID: testWID, ICS: []string{"QE1", "QJK"}, Date: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),
		Questionnaires: activities.Questionnaires{PatientVersion: "patient-2026.1"},
	})
	require.NoError(t, e.env.GetWorkflowError())
	var res workflows.DailyLoadResult
	require.NoError(t, e.env.GetWorkflowResult(&res))
	require.Equal(t, []string{"QJK"}, res.NoFiles)
	require.Equal(t, []string{"load"}, e.log["QJK"], "no simulation asked, nothing to warehouse")
	require.Len(t, e.log["QE1"], 4)
}

func TestDailyLoadDate(t *testing.T) {
	cases := []struct {
		name      string
		in        workflows.DailyLoadInput
		scheduled time.Time
		want      string
	}{
		{name: "explicit date wins over the schedule", in: workflows.DailyLoadInput{Date: time.Date(2026, 2, 20, 15, 0, 0, 0, time.UTC), LagDays: 1},
			scheduled: time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), want: "2026-02-20"},
		{name: "scheduled start time, not the (late) start", in: workflows.DailyLoadInput{},
			scheduled: time.Date(2026, 2, 27, 23, 30, 0, 0, time.UTC), want: "2026-02-27"},
		{name: "scheduled start time minus the lag", in: workflows.DailyLoadInput{LagDays: 1},
			scheduled: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), want: "2026-02-28"},
		{name: "no schedule: the workflow's clock", in: workflows.DailyLoadInput{}, want: t0.Format(time.DateOnly)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDailyEnv(t)
			dates := make(chan time.Time, 1)
			e.onLoad(dates)
			if !c.scheduled.IsZero() {
				require.NoError(t, e.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
					workflows.SAScheduledStartTime.ValueSet(c.scheduled))))
			}
			in := c.in
			in.WaveID, in.ICS = testWID, []string{"QE1"}
			in.PatientVersion = "patient-2026.1"
			e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, in)
			require.NoError(t, e.env.GetWorkflowError())
			var res workflows.DailyLoadResult
			require.NoError(t, e.env.GetWorkflowResult(&res))
			require.Equal(t, c.want, res.Date)
			got := <-dates
			require.Equal(t, c.want, got.Format(time.DateOnly))
			require.True(t, got.Equal(time.Date(got.Year(), got.Month(), got.Day(), 0, 0, 0, 0, time.UTC)), "load date %v is not midnight UTC", got)
		})
	}
}

func TestDailyLoadOneICSFailingDoesNotStopTheOthers(t *testing.T) {
	e := newDailyEnv(t)
	e.env.OnActivity(ta.LoadResponses, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadResponsesInput) (activities.LoadResponsesOutput, error) {
			e.record(in.ICS, "load")
			if in.ICS == "QJK" {
				return activities.LoadResponsesOutput{}, activities.ApplicationError(fault.Wrap(fault.Configuration, errNoSample))
			}
			return activities.LoadResponsesOutput{Objects: []schemas.LakeObject{schemas.LakeResponses.Object("lake/responses/x.parquet")}}, nil
		})
	e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, workflows.DailyLoadInput{
		WaveID: testWID, ICS: []string{"QE1", "QJK"}, Date: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),
		Questionnaires: activities.Questionnaires{PatientVersion: "patient-2026.1"},
	})
	err := e.env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "QJK: load responses: no accepted sample")
	require.Equal(t, []string{"load", "warehouse:responses"}, e.log["QE1"])
}

func TestDailyLoadRefusesEmptyInput(t *testing.T) {
	e := newDailyEnv(t)
	e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, workflows.DailyLoadInput{WaveID: testWID})
	require.Error(t, e.env.GetWorkflowError())
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoSample = errString("no accepted sample")
