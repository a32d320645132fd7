package linkage

import (
	"testing"
	"time"
)

// A response's date is its day in England: one received at 00:30 BST on 1 April (23:30
// UTC on 31 March) was made on 1 April, so an appointment on 31 March is before it (in
// the windows, activity_date < response_date) and its month is April.
func TestResponseDayIsTheDayInEngland(t *testing.T) {
	for _, c := range []struct{ at, want string }{
		{"2026-03-31T23:30:00Z", "2026-04-01"}, // 00:30 BST
		{"2026-03-31T22:59:59Z", "2026-03-31"}, // 23:59 BST
		{"2026-12-31T23:30:00Z", "2026-12-31"}, // 23:30 GMT: the year has not turned
		{"2026-10-24T23:30:00Z", "2026-10-25"}, // 00:30 BST, the night the clocks go back
		{"2026-10-25T23:30:00Z", "2026-10-25"}, // 23:30 GMT
	} {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		got := responseDay(at)
		if got.Format(time.DateOnly) != c.want || got.Location() != time.UTC || got.Hour() != 0 {
			t.Errorf("responseDay(%s) = %v, want %s at midnight UTC", c.at, got, c.want)
		}
	}
}
