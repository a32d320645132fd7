package waveclient

import (
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestRetryingOfPicksFailuresNotWaits(t *testing.T) {
	next := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	pending := func(name string, attempt int32, f *failurepb.Failure) *workflowpb.PendingActivityInfo {
		return &workflowpb.PendingActivityInfo{ActivityType: &commonpb.ActivityType{Name: name}, Attempt: attempt, LastFailure: f,
			NextAttemptScheduleTime: timestamppb.New(next)}
	}
	appFailure := func(msg, typ string) *failurepb.Failure {
		return &failurepb.Failure{Message: msg, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
			ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: typ}}}
	}
	running := func(p *workflowpb.PendingActivityInfo) *workflowpb.PendingActivityInfo {
		p.State = enumspb.PENDING_ACTIVITY_STATE_STARTED
		p.NextAttemptScheduleTime = nil
		return p
	}
	timeout := &failurepb.Failure{Message: "activity StartToClose timeout", FailureInfo: &failurepb.Failure_TimeoutFailureInfo{
		TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{}}}
	for _, tc := range []struct {
		name    string
		pending *workflowpb.PendingActivityInfo
		want    string // the report, "" for none
	}{
		{"first attempt running", pending("BuildLinkageRelease", 1, nil), ""},
		{"an unclassified failure", pending("BuildLinkageRelease", 3, appFailure("store: put lake/x: not a directory", "*fmt.wrapError")),
			"BuildLinkageRelease (in LinkageWorkflow wave/W/linkage) failed 2 times and is retried, next at 01:02:03 UTC; last failure: store: put lake/x: not a directory"},
		{"one failure", pending("LoadResponses", 2, appFailure("disk full", "")),
			"LoadResponses (in LinkageWorkflow wave/W/linkage) failed 1 time and is retried, next at 01:02:03 UTC; last failure: disk full"},
		{"a worker lost mid-attempt", pending("ValidateExtract", 2, timeout),
			"ValidateExtract (in LinkageWorkflow wave/W/linkage) failed 1 time and is retried, next at 01:02:03 UTC; last failure: activity StartToClose timeout"},
		{"its next attempt running now", running(pending("BuildLinkageRelease", 4, appFailure("not a directory", "*fmt.wrapError"))),
			"BuildLinkageRelease (in LinkageWorkflow wave/W/linkage) failed 3 times and is retried, attempt 4 running now; last failure: not a directory"},
		{"a poll for a reply", pending("CollectDBSReply", 40, appFailure("no reply yet", "NotReady")), ""},
		{"the warehouse's lock held by a reader", pending("LoadWarehouse", 4, appFailure("warehouse busy", "Busy")), ""},
		{"attempt 2 with its failure not kept", pending("X", 2, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := retryingOf("wave/W/linkage", "LinkageWorkflow", []*workflowpb.PendingActivityInfo{tc.pending}, next)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("reported %v, want nothing", got)
			case tc.want != "" && (len(got) != 1 || got[0].String() != tc.want):
				t.Errorf("got %v\nwant %s", got, tc.want)
			case len(got) == 1 && got[0].Kind != "":
				t.Errorf("kind %q: an unclassified error has no fault kind", got[0].Kind)
			}
		})
	}
}

// An activity no worker has taken — the warehouse worker is not running, say — failed
// nothing, so a command waiting on it (ice warehouse reload, ice publish) waited in
// silence for ever, and a status listed nothing. Once it has waited longer than
// notTakenAfter it is reported, with its task queue.
func TestRetryingOfSaysWhatNoWorkerHasTaken(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 20, 0, 0, time.UTC)
	scheduled := func(ago time.Duration, state enumspb.PendingActivityState) *workflowpb.PendingActivityInfo {
		return &workflowpb.PendingActivityInfo{ActivityType: &commonpb.ActivityType{Name: "ReloadLakePartition"}, Attempt: 1,
			State: state, ScheduledTime: timestamppb.New(now.Add(-ago)),
			ActivityOptions: &activitypb.ActivityOptions{TaskQueue: &taskqueuepb.TaskQueue{Name: "ice-warehouse"}}}
	}
	for _, tc := range []struct {
		name    string
		pending *workflowpb.PendingActivityInfo
		want    string
	}{
		{"waiting a moment", scheduled(30*time.Second, enumspb.PENDING_ACTIVITY_STATE_SCHEDULED), ""},
		{"running", scheduled(time.Hour, enumspb.PENDING_ACTIVITY_STATE_STARTED), ""},
		{"not taken for ten minutes", scheduled(10*time.Minute, enumspb.PENDING_ACTIVITY_STATE_SCHEDULED),
			"ReloadLakePartition (in WarehouseReloadWorkflow wave/W/warehouse-reload) has waited 10m0s for a worker of task queue " +
				"ice-warehouse to take it (since 01:10:00 UTC): is one running?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := retryingOf("wave/W/warehouse-reload", "WarehouseReloadWorkflow", []*workflowpb.PendingActivityInfo{tc.pending}, now)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("reported %v, want nothing", got)
			case tc.want != "" && (len(got) != 1 || got[0].String() != tc.want):
				t.Errorf("got %v\nwant %s", got, tc.want)
			}
		})
	}
}
