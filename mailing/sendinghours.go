package mailing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"icesurvey/internal/england"
)

// DefaultSMSHours is the SMS sending window a wave spec leaves out (convention): texts
// reach frail, older people only at sociable hours in England, never at night.
const DefaultSMSHours = "09:00-20:00"

// InEngland is t on England's clock (Europe/London: GMT in winter, BST in summer).
func InEngland(t time.Time) time.Time { return england.In(t) }

// HoursApply reports whether sending hours apply to a wave whose fieldwork day lasts
// dayLength on its clock: only to one in real days (24h). A demonstration or test wave
// runs compressed days (seconds or minutes long), whose clock is no time of day anyone
// receives a text at; there the window is off.
func HoursApply(dayLength time.Duration) bool { return dayLength == 24*time.Hour }

// SendingHours is a daily window on England's clock within which a message may be sent:
// from Open (included) to Close (not included), each in minutes after midnight. The
// window lies within one day (it opens before it closes); "00:00-24:00" is the whole day.
type SendingHours struct {
	open, close int
}

var hhmm = regexp.MustCompile(`^([0-9]{2}):([0-9]{2})$`)

// ParseSendingHours reads a window written "HH:MM-HH:MM" (24-hour clock, England's
// local time), like "09:00-20:00". Its errors say what is wrong, not which field: the
// caller names the field.
func ParseSendingHours(s string) (SendingHours, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return SendingHours{}, fmt.Errorf("%q: want the opening and closing times of day in England joined by '-', like %q", s, DefaultSMSHours)
	}
	open, err := minuteOfDay(strings.TrimSpace(from), false)
	if err != nil {
		return SendingHours{}, fmt.Errorf("%q: opening time %w", s, err)
	}
	close, err := minuteOfDay(strings.TrimSpace(to), true)
	if err != nil {
		return SendingHours{}, fmt.Errorf("%q: closing time %w", s, err)
	}
	if open >= close {
		return SendingHours{}, fmt.Errorf("%q: opens at %s, not before it closes at %s: the window lies within one day (no overnight window; %q is the whole day)",
			s, clock(open), clock(close), "00:00-24:00")
	}
	return SendingHours{open: open, close: close}, nil
}

// minuteOfDay reads "HH:MM"; 24:00 (the end of the day) only as a closing time.
func minuteOfDay(s string, closing bool) (int, error) {
	m := hhmm.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (24-hour clock, like 09:00)", s)
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	if closing && h == 24 && mm == 0 {
		return 24 * 60, nil
	}
	if h > 23 || mm > 59 {
		if closing {
			return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59, or 24:00 for the end of the day)", s)
		}
		return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59)", s)
	}
	return h*60 + mm, nil
}

func clock(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

// String writes the window as ParseSendingHours reads it.
func (h SendingHours) String() string { return clock(h.open) + "-" + clock(h.close) }

// IsZero reports whether h is no window at all (the zero value, never parsed).
func (h SendingHours) IsZero() bool { return h.open == 0 && h.close == 0 }

// Open reports whether England's clock reads inside the window at t: at the opening
// minute it does, at the closing minute it no longer does.
func (h SendingHours) Open(t time.Time) bool {
	hour, minute, _ := england.In(t).Clock()
	m := hour*60 + minute
	return h.open <= m && m < h.close
}

// NextOpening is the first instant at or after t at which the window is open: t itself
// when it is open at t. England's clock changes by whole hours at whole minutes, so the
// clock enters the window on a whole minute; the answer is found minute by minute on
// the UTC line, which takes each clock change as it comes (the hour skipped in March,
// the hour repeated in October) with no special case. Every window is open at least one
// minute of every day but the day the clock skips it, so the answer is under two days on.
func (h SendingHours) NextOpening(t time.Time) time.Time {
	if h.IsZero() || h.Open(t) {
		return t
	}
	u := t.Truncate(time.Minute)
	for range 3 * 24 * 60 {
		u = u.Add(time.Minute)
		if h.Open(u) {
			return u
		}
	}
	return u // unreachable for a parsed window
}
