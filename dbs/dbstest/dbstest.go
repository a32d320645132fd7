// Package dbstest holds the fixtures the DBS tests share: those of dbs itself and of
// its simulator (sim/dbssim). It is imported by tests only.
package dbstest

import (
	"fmt"
	"testing"
	"time"

	"icesurvey/codes"
	"icesurvey/schemas"
	"icesurvey/store"
)

// NHS returns a valid NHS number whose first nine digits are prefix, or the next
// nine-digit number up when prefix admits no check digit.
func NHS(t testing.TB, prefix string) string {
	t.Helper()
	for p := prefix; ; {
		if d, ok := codes.NHSCheckDigit(p); ok {
			return fmt.Sprintf("%s%d", p, d)
		}
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || len(p) != 9 {
			t.Fatalf("NHS number prefix %q is not nine digits", p)
		}
		p = fmt.Sprintf("%09d", n+1)
	}
}

// Date is midnight UTC of a calendar date.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Contact is a contact of survey record id in QMM, with a valid NHS number starting
// with nhsPrefix (see NHS).
func Contact(t testing.TB, id, nhsPrefix string) schemas.Contact {
	t.Helper()
	return schemas.Contact{
		SurveyRecordID: id,
		ICSRecordID:    "ICS-" + id,
		ICS:            "QMM",
		NHSNumber:      NHS(t, nhsPrefix),
		DateOfBirth:    Date(1940, 3, 7),
		Gender:         "2",
		Title:          "Mrs",
		FirstName:      "Ada",
		LastName:       "Lovelace",
		Address1:       "1 High Street",
		Postcode:       "NR1 1AA",
	}
}

// FileStore is a file store in a temporary directory of t.
func FileStore(t testing.TB) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Clock is an injectable clock that moves only when told.
type Clock struct{ T time.Time }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.T = c.T.Add(d) }
