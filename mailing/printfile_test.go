package mailing_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"icesurvey/fault"
	"icesurvey/mailing"
	"icesurvey/schemas"
	"icesurvey/store"
)

func testContacts(n int) []schemas.Contact {
	out := make([]schemas.Contact, n)
	for i := range out {
		out[i] = schemas.Contact{
			SurveyRecordID: fmt.Sprintf("S%05d", i), ICS: "QMM", Title: "Ms", FirstName: "Ann",
			LastName: fmt.Sprintf("Example%d", i), Address1: fmt.Sprintf("%d High Street", i+1),
			Address3: "Norwich", Postcode: "nr1 1aa", Mobile: fmt.Sprintf("+4477009%05d", i),
			AccessCode: fmt.Sprintf("AC%05d", i),
		}
	}
	return out
}

func newStore(t *testing.T) *store.FileStore {
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestWritePrintFile(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	step, _ := mailing.DefaultSchedule().Step("reminder2")
	key := schemas.PrintFileKey("W1", "QMM", step.Name)
	contacts := testContacts(5)

	m, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example/s/{access_code}", contacts)
	if err != nil {
		t.Fatalf("WritePrintFile: %v", err)
	}
	if m.Rows != 5 || m.Wave != "W1" || m.ICS != "QMM" || m.Step != "reminder2" || !m.PaperQuestionnaire || len(m.SHA256) != 64 {
		t.Errorf("manifest %+v", m)
	}
	sum, _, err := store.SHA256(ctx, st, key)
	if err != nil || sum != m.SHA256 {
		t.Errorf("file hash %s, manifest %s (%v)", sum, m.SHA256, err)
	}
	b, _ := store.ReadAll(ctx, st, key)
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], mailing.PrintColumns) || len(recs) != 6 {
		t.Fatalf("header %v, %d records", recs[0], len(recs))
	}
	row := map[string]string{}
	for i, c := range recs[0] {
		row[c] = recs[1][i]
	}
	want := map[string]string{
		"message_reference": "ice.W1.QMM.S00000.reminder2", "survey_record_id": "S00000", "last_name": "Example0",
		"postcode": "NR1 1AA", "access_code": "AC00000", "survey_url": "https://survey.example/s/AC00000",
		"mailing_step": "reminder2", "mailing_kind": "reminder", "mailing_day": "28",
		"paper_questionnaire": "Y", "carer_insert": "Y", "address_2": "",
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("column %s = %q, want %q", k, row[k], v)
		}
	}
	if strings.Contains(string(b), "+44770") {
		t.Errorf("print file carries mobile numbers")
	}

	// Same contacts in another order: nothing is written, the manifest is unchanged.
	rev := slices.Clone(contacts)
	slices.Reverse(rev)
	m2, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example/s/{access_code}", rev)
	if err != nil || m2.SHA256 != m.SHA256 || !m2.Created.Equal(m.Created) {
		t.Errorf("rewrite: %+v, %v", m2, err)
	}

	// Different contents for the same step: an explicit conflict, and nothing written.
	_, err = mailing.WritePrintFile(ctx, st, key, step, "https://survey.example/s/{access_code}", contacts[:4])
	if !errors.Is(err, mailing.ErrPrintFileConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if again, _, _ := store.SHA256(ctx, st, key); again != m.SHA256 {
		t.Errorf("conflicting write changed the file")
	}
}

func TestWritePrintFileCrashRecovery(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	step := mailing.DefaultSchedule().Steps[0]
	key := schemas.PrintFileKey("W1", "QMM", step.Name)
	contacts := testContacts(3)
	m, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example", contacts)
	if err != nil {
		t.Fatal(err)
	}
	// Crash between the print file and the manifest: the file is there, the manifest not.
	if err := st.Delete(ctx, schemas.PrintManifestKey(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example", contacts[:2]); !errors.Is(err, mailing.ErrPrintFileConflict) {
		t.Errorf("different contents over an orphan print file: err = %v, want conflict", err)
	}
	m2, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example", contacts)
	if err != nil || m2.SHA256 != m.SHA256 {
		t.Fatalf("recovery: %+v, %v", m2, err)
	}
	if got, err := mailing.ReadManifest(ctx, st, key); err != nil || got.SHA256 != m.SHA256 {
		t.Errorf("manifest not rewritten: %v", err)
	}
	// A print file altered after its manifest was written is reported, not trusted.
	if err := store.PutBytes(ctx, st, key, []byte("tampered")); err != nil {
		t.Fatal(err)
	}
	if _, err := mailing.WritePrintFile(ctx, st, key, step, "https://survey.example", contacts); err == nil || !strings.Contains(err.Error(), "does not match its manifest") {
		t.Errorf("tampered file: err = %v", err)
	}
}

func TestWritePrintFileRejects(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	inv := mailing.DefaultSchedule().Steps[0]
	sms := mailing.DefaultSchedule().Steps[1]
	good := testContacts(2)
	noPostcode := testContacts(2)
	noPostcode[1].Postcode = "NOWHERE"
	dup := append(testContacts(2), testContacts(1)...)
	otherICS := testContacts(1)
	otherICS[0].ICS = "QJK"
	unnamed := inv
	unnamed.Name = ""
	const url = "https://survey.example"
	// A step or survey URL that cannot make a print file is the wave's settings at
	// fault: fault.Configuration, which SendMailing does not retry (it would for ever).
	// The contacts' problems and an unexpected key are left to the retry policy: the
	// intake validated the contacts, and the key is the mailing's own.
	tests := []struct {
		name      string
		key       string
		step      mailing.Step
		surveyURL string
		contacts  []schemas.Contact
		wantErr   string
		kind      fault.Kind
	}{
		{"not restricted", "lake/print/inv.csv", inv, url, good, "restricted outbox", ""},
		{"restricted but not outbox", "restricted/W1/QMM/contacts/inv.csv", inv, url, good, "restricted outbox", ""},
		{"sms step", schemas.PrintFileKey("W1", "QMM", "sms1"), sms, url, good, `step "sms1" is sms, not a letter`, fault.Configuration},
		{"unnamed step", schemas.PrintFileKey("W1", "QMM", "inv"), unnamed, url, good, "step has no name", fault.Configuration},
		{"no survey url", schemas.PrintFileKey("W1", "QMM", "inv"), inv, " ", good, "no survey URL", fault.Configuration},
		{"bad postcode", schemas.PrintFileKey("W1", "QMM", "inv"), inv, url, noPostcode, "S00001 lacks a valid postcode", ""},
		{"duplicate id", schemas.PrintFileKey("W1", "QMM", "inv"), inv, url, dup, "more than once", ""},
		{"other ICS", schemas.PrintFileKey("W1", "QMM", "inv"), inv, url, otherICS, "belongs to ICS QJK", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mailing.WritePrintFile(ctx, st, tt.key, tt.step, tt.surveyURL, tt.contacts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if k := fault.KindOf(err); k != tt.kind || fault.IsPermanent(err) != tt.kind.Permanent() {
				t.Errorf("err = %v: kind %q, want %q", err, k, tt.kind)
			}
			for _, c := range tt.contacts {
				if strings.Contains(err.Error(), c.LastName) || strings.Contains(err.Error(), c.Address1) {
					t.Errorf("error leaks identifiable data: %v", err)
				}
			}
		})
	}
	if infos, _ := st.List(ctx, ""); len(infos) != 0 {
		t.Errorf("rejected writes left %d objects", len(infos))
	}
}
