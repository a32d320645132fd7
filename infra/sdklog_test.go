package infra

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"icesurvey/fault"
)

// The SDK logs every failed activity attempt at Error. An attempt that failed by design
// — a poll for a DBS reply not come yet, a wait for the warehouse's lock — is logged at
// Info instead; every other failure, and every other record, keeps its level. The
// worker's log recorded each DBS poll as "level=ERROR msg=Activity error ... NotReady".
func TestAwaitedActivityErrorsAreLoggedAtInfo(t *testing.T) {
	notReady := temporal.NewApplicationErrorWithCause("no reply to W1-QMM-invitation-1 yet", string(fault.NotReady), errors.New("not yet"))
	busy := temporal.NewApplicationError("the warehouse is locked", string(fault.Busy))
	for _, tc := range []struct {
		name  string
		level slog.Level // the handler's
		msg   string
		err   error
		want  string // the line's level, "" for no line
	}{
		{"a DBS poll", slog.LevelInfo, "Activity error.", notReady, "level=INFO"},
		{"a wait for the lock", slog.LevelInfo, "Activity error.", busy, "level=INFO"},
		{"a poll, wrapped", slog.LevelInfo, "Activity error.", fmt.Errorf("attempt 3: %w", notReady), "level=INFO"},
		{"a poll, under a handler at warn", slog.LevelWarn, "Activity error.", notReady, ""},
		{"bad input", slog.LevelWarn, "Activity error.", temporal.NewNonRetryableApplicationError("no sample", string(fault.BadInput), nil), "level=ERROR"},
		{"no fault kind", slog.LevelWarn, "Activity error.", errors.New("disk full"), "level=ERROR"},
		{"an application error of no kind", slog.LevelWarn, "Activity error.", temporal.NewApplicationError("odd", ""), "level=ERROR"},
		{"another record naming a poll", slog.LevelWarn, "Workflow task failed.", notReady, "level=ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			log := sdklog.NewStructuredLogger(slog.New(awaitedAtInfo(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: tc.level}))))
			// As the SDK's activity task handler logs it (internal_task_handlers.go).
			log.(sdklog.WithLogger).With("Namespace", "icesurvey").Error(tc.msg, "WorkflowID", "wave/W1/ics/QMM", "ActivityType", "CollectDBSReply", "Attempt", 3, "Error", tc.err)
			line := b.String()
			switch {
			case tc.want == "" && line != "":
				t.Errorf("logged %q, want nothing", line)
			case tc.want != "" && (!strings.Contains(line, tc.want) || !strings.Contains(line, "ActivityType=CollectDBSReply") ||
				!strings.Contains(line, "Namespace=icesurvey") || !strings.Contains(line, tc.err.Error())):
				t.Errorf("logged %q, want it at %s with its attributes", line, tc.want)
			}
		})
	}
}
