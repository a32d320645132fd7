package dbs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/dbs/dbstest"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// countingTransport counts Submit calls reaching the wrapped transport.
type countingTransport struct {
	Transport
	submits int
}

func (c *countingTransport) Submit(ctx context.Context, id string, body []byte) error {
	c.submits++
	return c.Transport.Submit(ctx, id, body)
}

func TestSubmitAndCollectWithFakeDBS(t *testing.T) {
	ctx, col := audit.WithCollector(context.Background())
	st := dbstest.FileStore(t)
	const wave, ics = "2025-02", "QMM"
	contactsKey := schemas.RestrictedPrefix(wave, ics) + "contacts.parquet"

	alive := dbstest.Contact(t, "S1", "943476591")
	dead := dbstest.Contact(t, "S2", "401023213")
	moved := dbstest.Contact(t, "S3", "500000001")
	responded := dbstest.Contact(t, "S4", "500000002") // excluded by the filter
	unknown := dbstest.Contact(t, "S5", "500000003")
	putContacts(t, st, contactsKey, []schemas.Contact{alive, dead, moved, responded, unknown})

	clk := &dbstest.Clock{T: time.Date(2025, 2, 3, 9, 0, 0, 0, time.UTC)}
	sim := newFakeDBS(st, "")
	sim.Now = clk.Now
	sim.Delay = 30 * time.Minute
	sim.Deaths[dead.NHSNumber] = dbstest.Date(2025, 1, 20)
	newNumber := dbstest.NHS(t, "700000001")
	sim.Superseded[moved.NHSNumber] = newNumber
	sim.NoMatch[unknown.NHSNumber] = true
	tr := &countingTransport{Transport: sim}
	include := func(id string) bool { return id != "S4" }

	res, err := Submit(ctx, st, tr, wave, ics, "dbs-1", contactsKey, include)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || res.Excluded != 1 || !res.Transmitted || res.RequestKey != "restricted/2025-02/QMM/dbs/dbs-1-request.csv" {
		t.Errorf("submit result = %+v", res)
	}
	// The contacts change, then the activity is retried: the same request is re-sent
	// (not rebuilt), and the transport does not send it twice.
	putContacts(t, st, contactsKey, []schemas.Contact{alive})
	res2, err := Submit(ctx, st, tr, wave, ics, "dbs-1", contactsKey, include)
	if err != nil {
		t.Fatal(err)
	}
	if res2 != res {
		t.Errorf("retried submit = %+v, want %+v", res2, res)
	}
	if outbox, _ := st.List(ctx, fakeDBSPrefix+"outbox/"); len(outbox) != 1 {
		t.Errorf("simulator outbox holds %d requests, want 1", len(outbox))
	}
	putContacts(t, st, contactsKey, []schemas.Contact{alive, dead, moved, responded, unknown})

	// Not ready until the delay has passed.
	o, ready, err := Collect(ctx, st, tr, wave, ics, "dbs-1")
	if err != nil || ready || o != nil {
		t.Fatalf("early collect: %+v ready=%v err=%v", o, ready, err)
	}
	clk.Advance(30 * time.Minute)
	o, ready, err = Collect(ctx, st, tr, wave, ics, "dbs-1")
	if err != nil || !ready {
		t.Fatalf("collect: ready=%v err=%v", ready, err)
	}
	if o.Sent != 4 || o.Matched != 3 || o.Deceased != 1 || o.Superseded != 1 || o.Unmatched != 1 {
		t.Errorf("outcome = %+v", o)
	}
	if !slices.Equal(o.DeceasedIDs, []string{"S2"}) || !slices.Equal(o.SupersededIDs, []string{"S3"}) || !slices.Equal(o.UnmatchedIDs, []string{"S5"}) {
		t.Errorf("lists: deceased %v superseded %v unmatched %v", o.DeceasedIDs, o.SupersededIDs, o.UnmatchedIDs)
	}

	// Results in the restricted area, one per requested record.
	results, err := lake.GetRows[schemas.DBSResult](ctx, st, o.ResultsKey, schemas.DBSResultLayout())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]schemas.DBSResult{}
	for _, r := range results {
		byID[r.SurveyRecordID] = r
	}
	if len(results) != 4 || !byID["S2"].Deceased || byID["S2"].DateOfDeath == nil || !byID["S2"].DateOfDeath.Equal(dbstest.Date(2025, 1, 20)) ||
		!byID["S3"].Superseded || byID["S5"].TraceStatus != 21 || byID["S1"].RequestID != "dbs-1" || byID["S1"].CheckedAt.IsZero() {
		t.Errorf("results = %+v", results)
	}
	if ok, _ := store.Exists(ctx, st, schemas.DBSExchangeKey(wave, ics, "dbs-1", schemas.DBSReply)); !ok {
		t.Error("reply not stored in the restricted area")
	}

	// The superseded number is applied to a new contacts object.
	if o.UpdatedContactsKey != schemas.DBSExchangeKey(wave, ics, "dbs-1", schemas.DBSUpdatedContacts) || o.NHSNumbersUpdated != 1 {
		t.Fatalf("updated contacts: key %q, %d changes", o.UpdatedContactsKey, o.NHSNumbersUpdated)
	}
	updated, err := lake.GetRows[schemas.Contact](ctx, st, o.UpdatedContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(updated) != 5 {
		t.Fatalf("updated contacts hold %d rows, want all 5", len(updated))
	}
	for _, c := range updated {
		want := map[string]string{"S1": alive.NHSNumber, "S2": dead.NHSNumber, "S3": newNumber, "S4": responded.NHSNumber, "S5": unknown.NHSNumber}[c.SurveyRecordID]
		if c.NHSNumber != want {
			t.Errorf("%s: NHS number not as expected after update", c.SurveyRecordID)
		}
	}

	// Collect again (an activity retry): same outcome, from the stored reply.
	o2, ready, err := Collect(ctx, st, tr, wave, ics, "dbs-1")
	if err != nil || !ready || o2.Deceased != 1 || o2.Superseded != 1 || o2.NHSNumbersUpdated != 1 {
		t.Errorf("second collect: %+v ready=%v err=%v", o2, ready, err)
	}

	kinds := eventKinds(col)
	for _, k := range []string{"dbs_request_submitted", "dbs_nhs_number_superseded", "dbs_reply_reconciled"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("audit lacks %s: %v", k, kinds)
		}
	}
	assertNoIdentifiers(t, col, alive.NHSNumber, dead.NHSNumber, moved.NHSNumber, newNumber, unknown.NHSNumber, "Lovelace", "NR1 1AA", "19400307", "20250120")
}

func TestSubmitNobodyToCheck(t *testing.T) {
	ctx := context.Background()
	st := dbstest.FileStore(t)
	key := schemas.RestrictedPrefix("w1", "QJK") + "contacts.parquet"
	putContacts(t, st, key, []schemas.Contact{dbstest.Contact(t, "S1", "943476591")})
	tr := &countingTransport{Transport: newFakeDBS(st, "")}
	res, err := Submit(ctx, st, tr, "w1", "QJK", "r0", key, func(string) bool { return false })
	if err != nil || res.Transmitted || res.Records != 0 || res.Excluded != 1 || tr.submits != 0 {
		t.Fatalf("submit: %+v err=%v submits=%d", res, err, tr.submits)
	}
	o, ready, err := Collect(ctx, st, tr, "w1", "QJK", "r0")
	if err != nil || !ready || o.Sent != 0 {
		t.Errorf("collect: %+v ready=%v err=%v", o, ready, err)
	}
}

func TestSubmitErrors(t *testing.T) {
	ctx := context.Background()
	st := dbstest.FileStore(t)
	key := schemas.RestrictedPrefix("w1", "QJK") + "contacts.parquet"
	putContacts(t, st, key, []schemas.Contact{dbstest.Contact(t, "S1", "943476591")})
	sim := newFakeDBS(st, "")
	// A malformed wave, ICS or request ID is bad input, refused for good (the activity
	// would retry anything else for ever) with a message naming it; missing contacts
	// are left to the retry policy.
	tests := []struct {
		name, wave, ics, id, key string
		kind                     fault.Kind
		says                     string
	}{
		{"bad request id", "w1", "QJK", "../x", key, fault.BadInput, `invalid request ID "../x"`},
		{"long request id", "w1", "QJK", strings.Repeat("r", 101), key, fault.BadInput, "invalid request ID"},
		{"slash in wave", "w/1", "QJK", "r1", key, fault.BadInput, `invalid wave "w/1"`},
		{"empty ics", "w1", "", "r1", key, fault.BadInput, `invalid ics ""`},
		{"missing contacts", "w1", "QJK", "r1", key + ".missing", "", "read contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Submit(ctx, st, sim, tt.wave, tt.ics, tt.id, tt.key, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if k := fault.KindOf(err); k != tt.kind || fault.IsPermanent(err) != tt.kind.Permanent() {
				t.Errorf("submit: %v: kind %q, want %q", err, k, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("submit: %v: does not say %q", err, tt.says)
			}
			if tt.kind == "" {
				return
			}
			if _, _, err := Collect(ctx, st, sim, tt.wave, tt.ics, tt.id); fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("collect: %v, want %s saying %q", err, tt.kind, tt.says)
			}
		})
	}
	if _, err := Submit(ctx, st, sim, "w1", "QJK", "r2", key, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Submit(ctx, st, sim, "w1", "QJK", "r2", key+"2", nil); !errors.Is(err, ErrSubmitConflict) {
		t.Errorf("same request ID for other contacts: err = %v, want ErrSubmitConflict", err)
	}
	if _, _, err := Collect(ctx, st, sim, "w1", "QJK", "never"); !errors.Is(err, ErrNotSubmitted) {
		t.Errorf("collect of an unsubmitted request: err = %v", err)
	}
}

func TestCollectRejectsBadReplies(t *testing.T) {
	const wave, ics = "w1", "QHM"
	a, b := dbstest.Contact(t, "S1", "943476591"), dbstest.Contact(t, "S2", "401023213")
	hdr := "UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH,TRACE_STATUS\n"
	tests := []struct {
		name     string
		reply    string
		mismatch bool
	}{
		{"malformed status", hdr + "S1," + a.NHSNumber + ",,20\nS2," + b.NHSNumber + ",,XX\n", false},
		{"missing date of death column", "UNIQUE REFERENCE,NHS_NO,TRACE_STATUS\nS1," + a.NHSNumber + ",20\nS2," + b.NHSNumber + ",20\n", false},
		{"unknown reference", hdr + "S1," + a.NHSNumber + ",,20\nS9," + b.NHSNumber + ",,20\n", true},
		{"missing row", hdr + "S1," + a.NHSNumber + ",,20\n", true},
		{"duplicate row", hdr + "S1," + a.NHSNumber + ",,20\nS1," + a.NHSNumber + ",,20\nS2," + b.NHSNumber + ",,20\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, col := audit.WithCollector(context.Background())
			st := dbstest.FileStore(t)
			key := schemas.RestrictedPrefix(wave, ics) + "contacts.parquet"
			putContacts(t, st, key, []schemas.Contact{a, b})
			drop := &FileDropTransport{Store: st, Outbox: "restricted/_drop/out", Inbox: "restricted/_drop/in/"}
			if _, err := Submit(ctx, st, drop, wave, ics, "r1", key, nil); err != nil {
				t.Fatal(err)
			}
			if ok, _ := store.Exists(ctx, st, "restricted/_drop/out/r1.csv"); !ok {
				t.Fatal("request not in the drop outbox")
			}
			if _, ready, err := Collect(ctx, st, drop, wave, ics, "r1"); ready || err != nil {
				t.Fatalf("before reply: ready=%v err=%v", ready, err)
			}
			if err := drop.PutReply(ctx, "r1", []byte(tt.reply)); err != nil {
				t.Fatal(err)
			}
			o, _, err := Collect(ctx, st, drop, wave, ics, "r1")
			if o != nil || err == nil {
				t.Fatalf("outcome %+v err %v, want a rejection", o, err)
			}
			if IsMismatch(err) != tt.mismatch || !IsPermanent(err) {
				t.Errorf("err = %v: mismatch=%v permanent=%v", err, IsMismatch(err), IsPermanent(err))
			}
			var mm *ReplyMismatchError
			if errors.As(err, &mm) && mm.RequestID != "r1" {
				t.Errorf("mismatch names request %q", mm.RequestID)
			}
			if ok, _ := store.Exists(ctx, st, schemas.DBSExchangeKey(wave, ics, "r1", schemas.DBSResults)); ok {
				t.Error("results written from a rejected reply")
			}
			if !slices.Contains(eventKinds(col), "dbs_reply_rejected") {
				t.Errorf("audit lacks the rejection: %v", eventKinds(col))
			}
			assertNoIdentifiers(t, col, a.NHSNumber, b.NHSNumber)
		})
	}
}
