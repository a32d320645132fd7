package waveclient

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
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
			got := retryingOf("wave/W/linkage", "LinkageWorkflow", []*workflowpb.PendingActivityInfo{tc.pending})
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
