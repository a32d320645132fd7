package dbssim

import (
	"fmt"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// nhs returns a valid NHS number starting with the 9 digits of prefix.
func nhs(t testing.TB, prefix string) string {
	t.Helper()
	for p := prefix; ; {
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(p[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check != 10 {
			return fmt.Sprintf("%s%d", p, check)
		}
		var n int
		fmt.Sscanf(p, "%d", &n)
		p = fmt.Sprintf("%09d", n+1)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func contact(t testing.TB, id, nhsPrefix string) schemas.Contact {
	return schemas.Contact{SurveyRecordID: id, ICSRecordID: "ICS-" + id, ICS: "QMM", NHSNumber: nhs(t, nhsPrefix),
		DateOfBirth: date(1940, 3, 7), Gender: "2", Title: "Mrs", FirstName: "Ada", LastName: "Lovelace",
		Address1: "1 High Street", Postcode: "NR1 1AA"}
}

func fileStore(t *testing.T) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fakeClock is an injectable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }
