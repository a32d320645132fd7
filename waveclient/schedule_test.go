package waveclient

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"icesurvey/fault"
)

func TestSkippedRuns(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	day := func(s string) time.Time { return at(s + " 00:00") }
	for _, tc := range []struct {
		name            string
		paused, resumed string
		hour, minute    int
		lag             int
		runs            int
		from, to        string
	}{
		{"three nights", "2026-12-06 23:31", "2026-12-09 07:00", 6, 0, 1, 3, "2026-12-06", "2026-12-08"},
		{"paused before the day's run", "2026-12-06 05:00", "2026-12-06 06:30", 6, 0, 1, 1, "2026-12-05", "2026-12-05"},
		{"resumed before its time", "2026-12-06 05:00", "2026-12-06 05:59", 6, 0, 1, 0, "", ""},
		{"paused at the run's minute", "2026-12-06 06:00", "2026-12-07 06:00", 6, 0, 1, 0, "", ""},
		{"lag two days", "2026-12-06 07:00", "2026-12-08 08:00", 6, 30, 2, 2, "2026-12-05", "2026-12-06"},
		{"the same day's folder", "2026-12-06 07:00", "2026-12-07 23:00", 22, 0, 0, 2, "2026-12-06", "2026-12-07"},
	} {
		n, from, to := skippedRuns(at(tc.paused), at(tc.resumed), tc.hour, tc.minute, tc.lag)
		var wantFrom, wantTo time.Time
		if tc.from != "" {
			wantFrom, wantTo = day(tc.from), day(tc.to)
		}
		if n != tc.runs || !from.Equal(wantFrom) || !to.Equal(wantTo) {
			t.Errorf("%s: %d runs, days %s to %s; want %d, %s to %s", tc.name, n, from, to, tc.runs, tc.from, tc.to)
		}
	}
}

// noCluster is a client whose every call fails the test: a refusal must come first.
type noCluster struct{ client.Client }

func (noCluster) ScheduleClient() client.ScheduleClient {
	panic("the cluster was reached")
}

// A pause's why is kept in the schedule's note, in Temporal's database, and shown by
// `ice schedule status`: one in which the redactor finds personal data is refused
// before the cluster is reached, naming the kinds found, never the text (as a
// profile verdict's note is).
func TestPauseWhyNamesNoOne(t *testing.T) {
	for _, why := range []string{
		"Mrs Barbara Hunt rang about her paper questionnaire",
		"the supplier sent NHS number 943 476 5919 in the file",
		"ring the supplier on 07700 900123",
	} {
		t.Run(why, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("not refused before the cluster: %v", r)
				}
			}()
			err := New(noCluster{}).PauseDailyLoadSchedule(context.Background(), "W1", why)
			if err == nil || fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), "--why") {
				t.Fatalf("err %v, want a bad input about --why", err)
			}
			for _, w := range []string{"Hunt", "476", "900123"} {
				if strings.Contains(err.Error(), w) {
					t.Fatalf("the refusal repeats the text: %v", err)
				}
			}
		})
	}
}
