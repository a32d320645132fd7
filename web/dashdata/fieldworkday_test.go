package dashdata

import (
	"testing"
	"time"
)

// The dashboard's fieldwork days are calendar days in England counted from the day of
// the first mailing, as the warehouse's response_rates_by_day counts them, not 24-hour
// periods from the moment of the first mailing.
func TestFieldworkDayIsADayInEngland(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := at("2026-10-24T16:00:00Z") // 17:00 BST, Saturday
	for _, c := range []struct {
		at   string
		want int
	}{
		{"2026-10-24T16:00:00Z", 0},
		{"2026-10-24T22:59:00Z", 0}, // 23:59 BST Saturday
		{"2026-10-24T23:30:00Z", 1}, // 00:30 BST Sunday: the next day, 7.5 hours on
		{"2026-10-25T15:00:00Z", 1}, // 15:00 GMT Sunday, after the clocks went back
		{"2026-10-26T00:30:00Z", 2}, // 00:30 GMT Monday
		{"2026-11-07T09:00:00Z", 14},
		{"2026-10-24T09:00:00Z", 0}, // before the first mailing, on its day
		{"2026-10-23T09:00:00Z", 0}, // a day before: counted on day 0, not dropped
	} {
		if got := fieldworkDay(start, at(c.at)); got != c.want {
			t.Errorf("fieldworkDay(%s, %s) = %d, want %d", start.Format(time.RFC3339), c.at, got, c.want)
		}
	}
	// The spring change: first mailing 09:00 GMT Friday 27 March 2026, the clocks go
	// forward on the Sunday; Monday 00:30 BST (Sunday 23:30 UTC) is day 3.
	if got := fieldworkDay(at("2026-03-27T09:00:00Z"), at("2026-03-29T23:30:00Z")); got != 3 {
		t.Errorf("spring: fieldworkDay = %d, want 3", got)
	}
}
