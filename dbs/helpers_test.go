package dbs

import (
	"context"
	"strings"
	"testing"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

func putContacts(t *testing.T, st store.Store, key string, cs []schemas.Contact) {
	t.Helper()
	if err := lake.PutRows(context.Background(), st, key, schemas.ContactLayout(), cs); err != nil {
		t.Fatal(err)
	}
}

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
