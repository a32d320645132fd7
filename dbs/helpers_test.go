package dbs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
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
		// Check digit 10 is invalid: bump the prefix.
		var n int
		fmt.Sscanf(p, "%d", &n)
		p = fmt.Sprintf("%09d", n+1)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func contact(t testing.TB, id, nhsPrefix string) schemas.Contact {
	return schemas.Contact{
		SurveyRecordID: id,
		ICSRecordID:    "ICS-" + id,
		ICS:            "QMM",
		NHSNumber:      nhs(t, nhsPrefix),
		DateOfBirth:    date(1940, 3, 7),
		Gender:         "2",
		Title:          "Mrs",
		FirstName:      "Ada",
		LastName:       "Lovelace",
		Address1:       "1 High Street",
		Postcode:       "NR1 1AA",
	}
}

func fileStore(t *testing.T) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func putContacts(t *testing.T, st store.Store, key string, cs []schemas.Contact) {
	t.Helper()
	if err := lake.PutRows(context.Background(), st, key, schemas.ContactLayout(), cs); err != nil {
		t.Fatal(err)
	}
}

// fakeClock is an injectable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// assertNoIdentifiers fails if any audit event detail mentions one of the secrets.
func assertNoIdentifiers(t *testing.T, col *audit.Collector, secrets ...string) {
	t.Helper()
	for _, e := range col.Events() {
		js := audit.DetailsJSON(e.Details)
		for _, s := range secrets {
			if s != "" && strings.Contains(js, s) {
				t.Errorf("audit event %s leaks an identifier: %s", e.Kind, js)
			}
		}
	}
}

func eventKinds(col *audit.Collector) []string {
	var out []string
	for _, e := range col.Events() {
		out = append(out, e.Kind)
	}
	return out
}
