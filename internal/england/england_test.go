package england

import (
	"testing"
	"time"
)

func TestDayIsTheDateInEngland(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC), "2026-04-01"},  // 00:30 BST
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "2026-12-31"}, // GMT
		{time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), "2026-10-25"}, // 00:30 BST, the night the clocks go back
		{time.Date(2026, 10, 25, 23, 30, 0, 0, time.UTC), "2026-10-25"}, // 23:30 GMT
	} {
		if got := Day(tc.at).Format(time.DateOnly); got != tc.want {
			t.Errorf("Day(%s) = %s, want %s", tc.at, got, tc.want)
		}
		if d := Day(tc.at); d.Location() != time.UTC || d.Hour() != 0 {
			t.Errorf("Day(%s) = %s, want midnight UTC", tc.at, d)
		}
	}
}
