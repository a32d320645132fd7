// Package england is England's clock (Europe/London: GMT in winter, BST in summer),
// on which the programme counts its days and shows its times. The time zone database
// is linked in, so it resolves on machines without one.
package england

import (
	"time"
	_ "time/tzdata" // Europe/London must resolve on machines without a zoneinfo database
)

// Location is Europe/London.
var Location = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("england: Europe/London: " + err.Error()) // time/tzdata is linked in
	}
	return loc
}()

// In is t on England's clock.
func In(t time.Time) time.Time { return t.In(Location) }

// Day is the calendar date in England on which t falls, as midnight UTC (the form of a
// DATE): 23:30 UTC on 31 March in summer time is 1 April.
func Day(t time.Time) time.Time {
	y, m, d := t.In(Location).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
