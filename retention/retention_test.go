package retention_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"icesurvey/dbs"
	"icesurvey/retention"
	"icesurvey/schemas"
	"icesurvey/store"
)

const (
	wave = "W1"
	ics  = "QE1"
)

var day = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

// world is one ICS's store after fieldwork, with another ICS's beside it.
type world struct {
	st      store.Store
	scope   retention.Scope
	landed  []string // the files as received and their reports
	mailing []string // the mailing process's objects
	kept    []string // what the retention must leave
	drop    *dbs.FileDropTransport
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, drop: &dbs.FileDropTransport{Store: st, Outbox: schemas.DBSFileDropOutbox, Inbox: schemas.DBSFileDropInbox}}
	sample, mailingFile := schemas.LandingKey(wave, ics, "sample.csv"), schemas.LandingKey(wave, ics, "mailing.csv")
	w.landed = []string{sample, mailingFile, schemas.RejectionReportKey(sample),
		schemas.ResponseLandingKey(wave, ics, day, schemas.ResponseFileName(schemas.ChannelOnline, "csv"))}
	w.mailing = []string{
		schemas.ContactsKey(wave, ics),
		schemas.DBSExchangeKey(wave, ics, "req-1", schemas.DBSRequest),
		schemas.DBSExchangeKey(wave, ics, "req-1", schemas.DBSRequestManifest),
		schemas.DBSExchangeKey(wave, ics, "req-1", schemas.DBSReply),
		schemas.DBSExchangeKey(wave, ics, "req-2", schemas.DBSRequest),
		schemas.PrintFileKey(wave, ics, "invitation"),
		schemas.PrintManifestKey(schemas.PrintFileKey(wave, ics, "invitation")),
		schemas.LedgerEntryKey(schemas.SMSLedgerPrefix(wave, ics, "sms1"), "ref"),
	}
	w.kept = []string{
		schemas.FreeTextKey(wave, ics, day, "0123456789abcdef"),
		schemas.SampleKey(wave, ics),
		schemas.DeclarationKey(wave, ics),
		schemas.ContactsKey(wave, "QE2"),                            // another ICS
		schemas.LandingKey(wave, "QE2", "sample.csv"),               // another ICS's file
		schemas.LandingKey("W2", ics, "sample.csv"),                 // another wave's
		schemas.FileDropKey(schemas.DBSFileDropOutbox, "other-req"), // another request
	}
	put := func(k, body string) {
		if err := store.PutBytes(context.Background(), st, k, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	put(sample, "RECORD_ID,NHS_NUMBER\n1,9434765919\n2,9434765870\n3,\"4010232137\"\n")
	put(mailingFile, "RECORD_ID,FIRST_NAME\n1,Ann\n")
	put(w.landed[2], "file,row,field\n")
	put(w.landed[3], "SURVEY_RECORD_ID\nS1\nS2\n")
	for _, k := range append(append([]string{}, w.mailing...), w.kept...) {
		put(k, "x")
	}
	for _, id := range []string{"req-1", "req-2"} {
		if err := w.drop.Submit(context.Background(), id, []byte("request "+id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.drop.PutReply(context.Background(), "req-1", []byte("reply")); err != nil {
		t.Fatal(err)
	}
	w.scope = retention.Scope{WaveID: wave, ICS: ics, Landed: []retention.LandedFile{{Key: sample, Rows: 3}, {Key: mailingFile}}}
	return w
}

func (w *world) plan(t *testing.T) retention.Plan {
	t.Helper()
	keys, err := retention.List(context.Background(), w.st, w.scope)
	if err != nil {
		t.Fatal(err)
	}
	p, err := retention.MakePlan(w.scope, keys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanListsEveryIdentifiableObjectAndNothingKept(t *testing.T) {
	w := newWorld(t)
	p := w.plan(t)
	if want := sorted(w.landed); !slices.Equal(p.Landed, want) {
		t.Errorf("landed\n got %v\nwant %v", p.Landed, want)
	}
	if want := sorted(w.mailing); !slices.Equal(p.Identifiable, want) {
		t.Errorf("identifiable\n got %v\nwant %v", p.Identifiable, want)
	}
	if want := []string{"req-1", "req-2"}; !slices.Equal(p.DBSRequests, want) {
		t.Errorf("DBS requests %v, want %v", p.DBSRequests, want)
	}
}

// Files the spec named outside the restricted landing area (even at the store's root)
// go too, with their rejection reports; their neighbours stay.
func TestPlanFindsFilesNamedAnywhere(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	root, nested := "sample.csv", "incoming/QE1/mailing.csv"
	for _, k := range []string{root, schemas.RejectionReportKey(root), nested, "incoming/QE1/other.csv", "rejections.csv.bak"} {
		if err := store.PutBytes(ctx, w.st, k, []byte("A\n1\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.scope.Landed = []retention.LandedFile{{Key: root}, {Key: nested}}
	p := w.plan(t)
	want := sorted(append([]string{root, schemas.RejectionReportKey(root), nested}, w.landed...))
	if !slices.Equal(p.Landed, want) {
		t.Errorf("landed\n got %v\nwant %v", p.Landed, want)
	}
}

func TestPlanRefusesToDeleteWhatIsKept(t *testing.T) {
	// A spec naming a file in the lake (or the free text) as its sample: the retention
	// must not delete it.
	for _, key := range []string{schemas.SampleKey(wave, ics), schemas.FreeTextKey(wave, ics, day, "ab")} {
		s := retention.Scope{WaveID: wave, ICS: ics, Landed: []retention.LandedFile{{Key: key}}}
		_, err := retention.MakePlan(s, []string{key})
		if !errors.Is(err, retention.ErrProtected) {
			t.Errorf("%s: %v, want ErrProtected", key, err)
		}
	}
	for _, s := range []retention.Scope{{ICS: ics}, {WaveID: wave}, {WaveID: "a/b", ICS: ics}} {
		if _, err := retention.MakePlan(s, nil); err == nil {
			t.Errorf("scope %+v accepted", s)
		}
	}
}

func TestLineageThenDelete(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	p := w.plan(t)

	// Deleting before the lineage is recorded is refused, and deletes nothing.
	if _, err := retention.Delete(ctx, w.st, w.scope, p, w.drop.Forget); !errors.Is(err, retention.ErrNoLineage) {
		t.Fatalf("delete before lineage: %v, want ErrNoLineage", err)
	}
	if ok, _ := store.Exists(ctx, w.st, w.landed[0]); !ok {
		t.Fatal("a landed file went before its lineage was recorded")
	}

	l, err := retention.RecordLineage(ctx, w.st, w.scope, p, day)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]retention.FileLineage{}
	for _, f := range l.Files {
		byKey[f.Key] = f
	}
	if len(byKey) != len(w.landed) {
		t.Fatalf("lineage of %d files, want %d: %+v", len(byKey), len(w.landed), l.Files)
	}
	s := byKey[w.landed[0]]
	if s.Rows != 3 || s.RowsCounted || s.Size != int64(len("RECORD_ID,NHS_NUMBER\n1,9434765919\n2,9434765870\n3,\"4010232137\"\n")) || len(s.SHA256) != 64 {
		t.Errorf("sample lineage %+v", s)
	}
	if m := byKey[w.landed[1]]; m.Rows != 1 || !m.RowsCounted {
		t.Errorf("mailing lineage %+v: want 1 counted row", m)
	}
	if r := byKey[w.landed[3]]; r.Rows != 2 || !r.RowsCounted {
		t.Errorf("extract lineage %+v: want 2 counted rows", r)
	}

	d, err := retention.Delete(ctx, w.st, w.scope, p, w.drop.Forget)
	if err != nil {
		t.Fatal(err)
	}
	// req-1: request and reply; req-2: request.
	if d.Landed != len(w.landed) || d.Identifiable != len(w.mailing) || d.TransportCopies != 3 {
		t.Errorf("deleted %+v", d)
	}
	for _, k := range append(append([]string{}, w.landed...), w.mailing...) {
		if ok, _ := store.Exists(ctx, w.st, k); ok {
			t.Errorf("%s survived retention", k)
		}
	}
	for _, k := range append(w.kept, schemas.RetentionLineageKey(wave, ics)) {
		if ok, _ := store.Exists(ctx, w.st, k); !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	for _, id := range []string{"req-1", "req-2"} {
		for _, k := range []string{schemas.FileDropKey(schemas.DBSFileDropOutbox, id), schemas.FileDropKey(schemas.DBSFileDropInbox, id)} {
			if ok, _ := store.Exists(ctx, w.st, k); ok {
				t.Errorf("%s survived retention", k)
			}
		}
	}

	// Again: the lineage stays as recorded, and nothing more is deleted.
	p2 := w.plan(t)
	l2, err := retention.RecordLineage(ctx, w.st, w.scope, p2, day.Add(time.Hour))
	if err != nil || len(l2.Files) != len(l.Files) {
		t.Fatalf("lineage again: %v, %d files", err, len(l2.Files))
	}
	if d2, err := retention.Delete(ctx, w.st, w.scope, p2, w.drop.Forget); err != nil || d2.Total() != 0 {
		t.Errorf("delete again: %+v %v", d2, err)
	}
}

// A file replaced after the intake (its digest differs) is not deleted unseen.
func TestLineageRefusesAReplacedFile(t *testing.T) {
	w := newWorld(t)
	w.scope.Landed[0].SHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
	_, err := retention.RecordLineage(context.Background(), w.st, w.scope, w.plan(t), day)
	if err == nil {
		t.Fatal("a sample whose digest differs from the intake's was recorded")
	}
}

// A crash after the transport's copies and some objects went: the retry still
// deletes the rest.
func TestDeleteResumesAfterAPartialRun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	p := w.plan(t)
	if _, err := retention.RecordLineage(ctx, w.st, w.scope, p, day); err != nil {
		t.Fatal(err)
	}
	for _, k := range p.Landed[:2] {
		if err := w.st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	d, err := retention.Delete(ctx, w.st, w.scope, w.plan(t), w.drop.Forget)
	if err != nil {
		t.Fatal(err)
	}
	if d.Landed != len(w.landed)-2 || d.Identifiable != len(w.mailing) {
		t.Errorf("deleted %+v", d)
	}
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// The retention's start is known from its lineage object, written even when the ICS
// left no landed file to record; DeleteLanded deletes a file landed since, its lineage
// first, and refuses a key that is no landed file of the ICS.
func TestStartedAndDeleteLanded(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := retention.Scope{WaveID: wave, ICS: ics}
	if ok, err := retention.Started(ctx, st, wave, ics); ok || err != nil {
		t.Fatalf("started before the retention: %v %v", ok, err)
	}
	if _, err := retention.RecordLineage(ctx, st, s, retention.Plan{}, day); err != nil {
		t.Fatal(err)
	}
	if ok, err := retention.Started(ctx, st, wave, ics); !ok || err != nil {
		t.Fatalf("not started after a retention with no landed file: %v %v", ok, err)
	}

	late := schemas.ResponseLandingKey(wave, ics, day, "optouts.csv")
	if err := store.PutBytes(ctx, st, late, []byte("SURVEY_RECORD_ID\nS1\nS2\n")); err != nil {
		t.Fatal(err)
	}
	files, n, err := retention.DeleteLanded(ctx, st, s, []string{late}, day)
	if err != nil || n != 1 || len(files) != 1 || files[0].Key != late || files[0].Rows != 2 || files[0].Size != 23 {
		t.Fatalf("DeleteLanded: %+v %d %v", files, n, err)
	}
	if ok, _ := store.Exists(ctx, st, late); ok {
		t.Error("the late file stayed")
	}
	if _, n, err := retention.DeleteLanded(ctx, st, s, []string{late}, day); err != nil || n != 0 {
		t.Errorf("again: %d deleted, %v", n, err)
	}
	for _, k := range []string{schemas.SampleKey(wave, ics), schemas.ContactsKey(wave, ics)} {
		if _, _, err := retention.DeleteLanded(ctx, st, s, []string{k}, day); err == nil {
			t.Errorf("%s deleted as a landed file", k)
		}
	}
}
