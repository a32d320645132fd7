package mailing_test

import (
	"strings"
	"testing"
	"time"

	"icesurvey/mailing"
)

func mustHours(t *testing.T, s string) mailing.SendingHours {
	t.Helper()
	h, err := mailing.ParseSendingHours(s)
	if err != nil {
		t.Fatalf("ParseSendingHours(%q): %v", s, err)
	}
	return h
}

func utc(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func TestParseSendingHours(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"09:00-20:00", "09:00-20:00"},
		{"08:30 - 19:45", "08:30-19:45"},
		{"00:00-24:00", "00:00-24:00"},
		{"23:58-23:59", "23:58-23:59"},
	} {
		h, err := mailing.ParseSendingHours(c.in)
		if err != nil {
			t.Errorf("ParseSendingHours(%q): %v", c.in, err)
			continue
		}
		if h.String() != c.want || h.IsZero() {
			t.Errorf("ParseSendingHours(%q) = %s, want %s", c.in, h, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", `"": want the opening and closing times of day in England joined by '-', like "09:00-20:00"`},
		{"09:00", "joined by '-'"},
		{"9-17", `opening time "9" is not a time of day HH:MM`},
		{"9:00-17:00", `opening time "9:00" is not a time of day HH:MM`},
		{"09:00-5pm", `closing time "5pm" is not a time of day HH:MM`},
		{"09:60-10:00", `opening time "09:60" is not a time of day (00:00 to 23:59)`},
		{"24:00-24:00", `opening time "24:00" is not a time of day (00:00 to 23:59)`},
		{"09:00-24:01", `closing time "24:01" is not a time of day (00:00 to 23:59, or 24:00`},
		{"20:00-09:00", "opens at 20:00, not before it closes at 09:00: the window lies within one day (no overnight window"},
		{"09:00-09:00", "opens at 09:00, not before it closes at 09:00"},
	} {
		_, err := mailing.ParseSendingHours(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSendingHours(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// The window is read on England's clock: GMT (UTC+0) in winter, BST (UTC+1) from
// 01:00 UTC on the last Sunday of March (29 March 2026) to 01:00 UTC on the last Sunday
// of October (25 October 2026).
func TestSendingHoursNextOpening(t *testing.T) {
	for _, c := range []struct {
		name  string
		hours string
		at    time.Time
		want  time.Time
	}{
		// Winter (GMT): England's clock is UTC.
		{"winter night", "09:00-20:00", utc(2026, 1, 14, 3, 0, 0), utc(2026, 1, 14, 9, 0, 0)},
		{"winter midnight", "09:00-20:00", utc(2026, 1, 14, 0, 0, 0), utc(2026, 1, 14, 9, 0, 0)},
		{"winter a second before the opening", "09:00-20:00", utc(2026, 1, 14, 8, 59, 59), utc(2026, 1, 14, 9, 0, 0)},
		{"winter at the opening minute", "09:00-20:00", utc(2026, 1, 14, 9, 0, 0), utc(2026, 1, 14, 9, 0, 0)},
		{"winter in the day", "09:00-20:00", utc(2026, 1, 14, 14, 27, 13), utc(2026, 1, 14, 14, 27, 13)},
		{"winter a second before the closing", "09:00-20:00", utc(2026, 1, 14, 19, 59, 59), utc(2026, 1, 14, 19, 59, 59)},
		{"winter at the closing minute", "09:00-20:00", utc(2026, 1, 14, 20, 0, 0), utc(2026, 1, 15, 9, 0, 0)},
		{"winter late evening", "09:00-20:00", utc(2026, 1, 14, 21, 0, 0), utc(2026, 1, 15, 9, 0, 0)},
		{"new year's eve to new year's day", "09:00-20:00", utc(2025, 12, 31, 22, 0, 0), utc(2026, 1, 1, 9, 0, 0)},
		// Summer (BST): England's clock is an hour ahead of UTC.
		{"summer 03:00 BST", "09:00-20:00", utc(2026, 7, 1, 2, 0, 0), utc(2026, 7, 1, 8, 0, 0)},
		{"summer at the opening minute (09:00 BST)", "09:00-20:00", utc(2026, 7, 1, 8, 0, 0), utc(2026, 7, 1, 8, 0, 0)},
		{"summer 09:00 UTC is 10:00 BST, open", "09:00-20:00", utc(2026, 7, 1, 9, 0, 0), utc(2026, 7, 1, 9, 0, 0)},
		{"summer 19:30 UTC is 20:30 BST, closed", "09:00-20:00", utc(2026, 7, 1, 19, 30, 0), utc(2026, 7, 2, 8, 0, 0)},
		{"summer at the closing minute (20:00 BST)", "09:00-20:00", utc(2026, 7, 1, 19, 0, 0), utc(2026, 7, 2, 8, 0, 0)},
		{"summer midnight BST is 23:00 UTC the day before", "09:00-20:00", utc(2026, 7, 1, 23, 0, 0), utc(2026, 7, 2, 8, 0, 0)},
		// March: the clocks go forward at 01:00 UTC on Sunday 29 March (01:00 GMT → 02:00 BST).
		{"the Saturday evening before the spring change", "09:00-20:00", utc(2026, 3, 28, 21, 0, 0), utc(2026, 3, 29, 8, 0, 0)},
		{"spring change night, before the change", "09:00-20:00", utc(2026, 3, 29, 0, 30, 0), utc(2026, 3, 29, 8, 0, 0)},
		{"spring change night, after the change", "09:00-20:00", utc(2026, 3, 29, 1, 30, 0), utc(2026, 3, 29, 8, 0, 0)},
		{"spring change day closes at 20:00 BST", "09:00-20:00", utc(2026, 3, 29, 19, 0, 0), utc(2026, 3, 30, 8, 0, 0)},
		{"spring change day open at 19:59 BST", "09:00-20:00", utc(2026, 3, 29, 18, 59, 0), utc(2026, 3, 29, 18, 59, 0)},
		{"a window opening in the skipped hour opens as the clock jumps in", "01:30-03:00", utc(2026, 3, 29, 0, 0, 0), utc(2026, 3, 29, 1, 0, 0)},
		{"a window wholly in the skipped hour opens the next day", "01:00-02:00", utc(2026, 3, 29, 0, 0, 0), utc(2026, 3, 30, 0, 0, 0)},
		// October: the clocks go back at 01:00 UTC on Sunday 25 October (02:00 BST → 01:00 GMT).
		{"the Saturday evening before the autumn change", "09:00-20:00", utc(2026, 10, 24, 20, 30, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"autumn Saturday at 20:00 BST is closed", "09:00-20:00", utc(2026, 10, 24, 19, 0, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"autumn change night, in the first 01:30", "09:00-20:00", utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"autumn change night, in the repeated hour", "09:00-20:00", utc(2026, 10, 25, 1, 30, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"autumn change day at 09:00 GMT", "09:00-20:00", utc(2026, 10, 25, 9, 0, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"autumn change day at 08:00 UTC is 08:00 GMT, closed", "09:00-20:00", utc(2026, 10, 25, 8, 0, 0), utc(2026, 10, 25, 9, 0, 0)},
		{"a window opening in the repeated hour opens at its first 01:30", "01:30-03:00", utc(2026, 10, 25, 0, 0, 0), utc(2026, 10, 25, 0, 30, 0)},
		{"the repeated 01:00 is outside it again until the second 01:30", "01:30-03:00", utc(2026, 10, 25, 1, 0, 0), utc(2026, 10, 25, 1, 30, 0)},
		// The whole day.
		{"the whole day at midnight", "00:00-24:00", utc(2026, 1, 14, 0, 0, 0), utc(2026, 1, 14, 0, 0, 0)},
		{"the whole day at 23:59:59", "00:00-24:00", utc(2026, 7, 1, 22, 59, 59), utc(2026, 7, 1, 22, 59, 59)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := mustHours(t, c.hours)
			got := h.NextOpening(c.at)
			if !got.Equal(c.want) {
				t.Errorf("%s: NextOpening(%s) = %s (%s in England), want %s (%s in England)", c.hours,
					c.at.Format(time.RFC3339), got.UTC().Format(time.RFC3339), mailing.InEngland(got).Format("15:04 MST"),
					c.want.Format(time.RFC3339), mailing.InEngland(c.want).Format("15:04 MST"))
			}
			if open := got.Equal(c.at); open != h.Open(c.at) {
				t.Errorf("Open(%s) = %v, but NextOpening says %v", c.at.Format(time.RFC3339), h.Open(c.at), open)
			}
			if !h.Open(got) {
				t.Errorf("not open at its own opening %s", got.Format(time.RFC3339))
			}
			// Nothing earlier after c.at is open: the opening is the first.
			for u := c.at.Truncate(time.Minute).Add(time.Minute); u.Before(got); u = u.Add(time.Minute) {
				if h.Open(u) {
					t.Fatalf("open at %s, before the opening %s", u.Format(time.RFC3339), got.Format(time.RFC3339))
				}
			}
		})
	}
}

func TestSendingHoursZeroIsNoWindow(t *testing.T) {
	var h mailing.SendingHours
	at := utc(2026, 1, 14, 3, 0, 0)
	if !h.IsZero() || !h.NextOpening(at).Equal(at) {
		t.Errorf("the zero window holds back a send: %v", h.NextOpening(at))
	}
}

func TestHoursApply(t *testing.T) {
	for d, want := range map[time.Duration]bool{24 * time.Hour: true, 5 * time.Second: false, time.Hour: false, 48 * time.Hour: false} {
		if got := mailing.HoursApply(d); got != want {
			t.Errorf("HoursApply(%s) = %v, want %v", d, got, want)
		}
	}
}
