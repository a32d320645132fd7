package dbs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"icesurvey/audit"
	"icesurvey/dbs/dbstest"
	"icesurvey/fault"
	"icesurvey/mesh"
	"icesurvey/mesh/meshtest"
	"icesurvey/schemas"
	"icesurvey/store"
)

const (
	testKey     = "TestKey"
	ourMailbox  = "ICESURVEY01"
	dbsMailbox  = "DBSSPINE001"
	replyWF     = "SPINE_PDS_MESH_V1_RESP"
	requestWF   = DefaultRequestWorkflow
	ourPassword = "ourpass"
)

// meshFixture is a MESH server with our mailbox and a fake DBS that answers each
// request in our inbox using the fake DBS's rules, echoing Mex-LocalID.
type meshFixture struct {
	srv      *meshtest.Server
	sim      *fakeDBS
	tr       *MESHTransport
	st       store.Store
	answered atomic.Int32
}

func newMeshFixture(t *testing.T) *meshFixture {
	t.Helper()
	f := &meshFixture{srv: meshtest.New(testKey), st: dbstest.FileStore(t)}
	t.Cleanup(f.srv.Close)
	f.srv.AddMailbox(ourMailbox, ourPassword)
	f.srv.AddMailbox(dbsMailbox, "dbspass")
	f.sim = newFakeDBS(f.st, "restricted/_unused/")
	f.srv.OnMessage = func(m meshtest.Message) {
		if m.To != dbsMailbox || m.WorkflowID != requestWF {
			return
		}
		reply, err := f.sim.Respond(m.Body)
		if err != nil {
			t.Errorf("fake DBS: %v", err)
			return
		}
		// DBS reads the request from its mailbox and acknowledges it.
		if _, err := f.srv.Deliver(meshtest.Message{
			From: dbsMailbox, To: m.From, WorkflowID: replyWF,
			FileName: strings.TrimSuffix(m.FileName, ".csv") + "_RESP.csv", LocalID: m.LocalID, Body: reply,
		}); err != nil {
			t.Errorf("fake DBS deliver: %v", err)
		}
		f.answered.Add(1)
	}
	client := &mesh.Client{BaseURL: f.srv.URL, Mailbox: ourMailbox, Password: ourPassword, SharedKey: testKey}
	f.tr = &MESHTransport{Client: client, DBSMailbox: dbsMailbox, ReplyWorkflowID: replyWF, Ledger: f.st}
	return f
}

func TestMESHTransportEndToEnd(t *testing.T) {
	f := newMeshFixture(t)
	f.tr.Client.ChunkSize = 100  // the request goes up in several chunks
	f.srv.DownloadChunkSize = 64 // and the reply comes back in several
	ctx, col := audit.WithCollector(context.Background())
	const wave, ics = "2025-02", "QNX"
	key := schemas.RestrictedPrefix(wave, ics) + "contacts.parquet"
	var cs []schemas.Contact
	for i, p := range []string{"943476591", "401023213", "500000001", "500000002", "500000003"} {
		cs = append(cs, dbstest.Contact(t, "S"+string(rune('1'+i)), p))
	}
	putContacts(t, f.st, key, cs)
	f.sim.Deaths[cs[1].NHSNumber] = dbstest.Date(2025, 1, 2)
	f.sim.MultipleMatch[cs[4].NHSNumber] = true

	// A message for someone else sits in our inbox and must be left alone.
	otherID, err := f.srv.Deliver(meshtest.Message{From: dbsMailbox, To: ourMailbox, WorkflowID: "OTHER", LocalID: "not-ours", Body: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}

	for i := 0; i < 3; i++ { // the first submit and two retries
		if _, err := Submit(ctx, f.st, f.tr, wave, ics, "dbs-mesh-1", key, nil); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	sent := f.srv.Sent(ourMailbox)
	if len(sent) != 1 {
		t.Fatalf("%d messages sent, want exactly 1", len(sent))
	}
	if m := sent[0]; m.Chunks < 2 || m.LocalID != "dbs-mesh-1" || m.FileName != "dbs-mesh-1.csv" || m.WorkflowID != requestWF {
		t.Errorf("sent message: chunks=%d localID=%q file=%q wf=%q", m.Chunks, m.LocalID, m.FileName, m.WorkflowID)
	}
	if f.answered.Load() != 1 {
		t.Fatalf("fake DBS answered %d times", f.answered.Load())
	}

	o, ready, err := Collect(ctx, f.st, f.tr, wave, ics, "dbs-mesh-1")
	if err != nil || !ready {
		t.Fatalf("collect: ready=%v err=%v", ready, err)
	}
	if o.Sent != 5 || o.Deceased != 1 || o.Multiple != 1 || o.Matched != 4 || !slices.Equal(o.DeceasedIDs, []string{"S2"}) {
		t.Errorf("outcome = %+v", o)
	}
	// The reply was acknowledged (gone from the inbox); the other message was not touched.
	inbox := f.srv.Inbox(ourMailbox)
	if len(inbox) != 1 || inbox[0].ID != otherID {
		t.Errorf("inbox after collect = %+v, want only %s", inbox, otherID)
	}
	// Fetching again returns the reply from the ledger.
	if _, ready, err := f.tr.Fetch(ctx, "dbs-mesh-1"); err != nil || !ready {
		t.Errorf("second fetch: ready=%v err=%v", ready, err)
	}
	assertNoIdentifiers(t, col, cs[0].NHSNumber, cs[1].NHSNumber, cs[4].NHSNumber)
}

func TestMESHTransportNotReadyThenReady(t *testing.T) {
	f := newMeshFixture(t)
	f.srv.OnMessage = nil // DBS has not answered yet
	ctx := context.Background()
	body, _ := BuildRequest([]schemas.Contact{dbstest.Contact(t, "S1", "943476591")})
	if _, _, err := f.tr.Fetch(ctx, "r1"); !errors.Is(err, ErrNotSubmitted) {
		t.Fatalf("fetch before submit: %v", err)
	}
	if err := f.tr.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	if _, ready, err := f.tr.Fetch(ctx, "r1"); err != nil || ready {
		t.Fatalf("before the reply: ready=%v err=%v", ready, err)
	}
	sent := f.srv.Sent(ourMailbox)[0]
	reply, _ := f.sim.Respond(body)
	// A reply in another workflow is ignored; DBS's reply, linked by message ID only, is found.
	if _, err := f.srv.Deliver(meshtest.Message{From: dbsMailbox, To: ourMailbox, WorkflowID: "SOMETHING_ELSE", LocalID: "r1", Body: []byte("junk")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Deliver(meshtest.Message{From: dbsMailbox, To: ourMailbox, WorkflowID: replyWF, LinkedMessageID: sent.ID, Body: reply}); err != nil {
		t.Fatal(err)
	}
	got, ready, err := f.tr.Fetch(ctx, "r1")
	if err != nil || !ready || string(got) != string(reply) {
		t.Fatalf("fetch: ready=%v err=%v body=%q", ready, err, got)
	}
	if n := len(f.srv.Inbox(ourMailbox)); n != 1 {
		t.Errorf("inbox holds %d messages, want only the unrelated one", n)
	}
}

func TestMESHTransportAckFailureKeepsReply(t *testing.T) {
	f := newMeshFixture(t)
	ctx := context.Background()
	var failPUT atomic.Bool
	failPUT.Store(true)
	f.tr.Client.Retries = -1
	f.tr.Client.HTTP = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut && failPUT.Load() {
			return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: r}, nil
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	body, _ := BuildRequest([]schemas.Contact{dbstest.Contact(t, "S1", "943476591")})
	if err := f.tr.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	reply, ready, err := f.tr.Fetch(ctx, "r1")
	if err != nil || !ready || len(reply) == 0 {
		t.Fatalf("fetch with a failing ack: ready=%v err=%v", ready, err)
	}
	if n := len(f.srv.Inbox(ourMailbox)); n != 1 {
		t.Fatalf("inbox holds %d, want the unacknowledged reply", n)
	}
	failPUT.Store(false)
	if _, ready, err := f.tr.Fetch(ctx, "r1"); err != nil || !ready {
		t.Fatalf("second fetch: ready=%v err=%v", ready, err)
	}
	if n := len(f.srv.Inbox(ourMailbox)); n != 0 {
		t.Errorf("inbox holds %d after the retried ack, want 0", n)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMESHTransportSubmitFailures(t *testing.T) {
	ctx := context.Background()
	body, _ := BuildRequest([]schemas.Contact{dbstest.Contact(t, "S1", "943476591")})

	t.Run("refused send is retried afresh", func(t *testing.T) {
		f := newMeshFixture(t)
		f.srv.FailNext(1, http.StatusServiceUnavailable)
		err := f.tr.Submit(ctx, "r1", body)
		if err == nil || !mesh.IsRetryable(err) || IsPermanent(err) {
			t.Fatalf("first submit: err = %v, want retryable", err)
		}
		if err := f.tr.Submit(ctx, "r1", body); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if n := len(f.srv.Sent(ourMailbox)); n != 1 {
			t.Errorf("%d messages sent, want 1", n)
		}
	})

	t.Run("bad credentials are permanent", func(t *testing.T) {
		f := newMeshFixture(t)
		f.tr.Client.SharedKey = "WrongKey"
		err := f.tr.Submit(ctx, "r1", body)
		if !mesh.IsAuth(err) || !IsPermanent(err) {
			t.Errorf("err = %v, want a permanent auth failure", err)
		}
	})

	// A transport missing a setting, or asked about a malformed request ID, can never
	// work: both are permanent, so the DBS activities fail at once with the reason.
	t.Run("bad settings and request ids are permanent", func(t *testing.T) {
		f := newMeshFixture(t)
		for _, tc := range []struct {
			name string
			tr   *MESHTransport
			id   string
			kind fault.Kind
			says string
		}{
			{"no mailbox", &MESHTransport{Client: f.tr.Client, Ledger: f.st}, "r1", fault.Configuration, "needs Client, Ledger and DBSMailbox"},
			{"no ledger", &MESHTransport{Client: f.tr.Client, DBSMailbox: dbsMailbox}, "r1", fault.Configuration, "needs Client, Ledger and DBSMailbox"},
			{"bad request id", f.tr, "r 1", fault.BadInput, `invalid request ID "r 1"`},
		} {
			errs := map[string]error{"submit": tc.tr.Submit(ctx, tc.id, body)}
			_, _, errs["fetch"] = tc.tr.Fetch(ctx, tc.id)
			for op, err := range errs {
				if k := fault.KindOf(err); k != tc.kind || !IsPermanent(err) || !strings.Contains(fmt.Sprint(err), tc.says) {
					t.Errorf("%s: %s: %v (kind %q), want %s saying %q", tc.name, op, err, k, tc.kind, tc.says)
				}
			}
		}
		if n := len(f.srv.Sent(ourMailbox)); n != 0 {
			t.Errorf("%d messages sent, want none", n)
		}
	})

	t.Run("lost response leaves the send in doubt", func(t *testing.T) {
		f := newMeshFixture(t)
		var lose atomic.Bool
		lose.Store(true)
		f.tr.Client.HTTP = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			res, err := http.DefaultTransport.RoundTrip(r)
			if err == nil && r.Method == http.MethodPost && lose.Load() {
				res.Body.Close()
				return nil, errors.New("connection reset by peer") // the server got it; we never hear back
			}
			return res, err
		})}
		if err := f.tr.Submit(ctx, "r1", body); err == nil {
			t.Fatal("submit with a lost response succeeded")
		}
		lose.Store(false)
		err := f.tr.Submit(ctx, "r1", body)
		if !errors.Is(err, ErrSubmitInDoubt) || !IsPermanent(err) {
			t.Fatalf("retry: err = %v, want ErrSubmitInDoubt", err)
		}
		sent := f.srv.Sent(ourMailbox)
		if len(sent) != 1 {
			t.Fatalf("%d messages sent, want 1 (no duplicate)", len(sent))
		}
		// The reply still arrives and is found by its local ID.
		if _, ready, err := f.tr.Fetch(ctx, "r1"); err != nil || !ready {
			t.Errorf("fetch while in doubt: ready=%v err=%v", ready, err)
		}
		// An operator confirms it was sent: Submit is then a no-op.
		if err := f.tr.MarkSent(ctx, "r1", sent[0].ID, body); err != nil {
			t.Fatal(err)
		}
		if err := f.tr.Submit(ctx, "r1", body); err != nil {
			t.Errorf("submit after MarkSent: %v", err)
		}
		if err := f.tr.Submit(ctx, "r1", []byte("different")); !errors.Is(err, ErrSubmitConflict) {
			t.Errorf("different body: err = %v, want ErrSubmitConflict", err)
		}
	})

	t.Run("operator forgets a failed attempt", func(t *testing.T) {
		f := newMeshFixture(t)
		f.tr.Client.HTTP = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost {
				return nil, errors.New("connection reset by peer")
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
		_ = f.tr.Submit(ctx, "r1", body)
		if err := f.tr.Submit(ctx, "r1", body); !errors.Is(err, ErrSubmitInDoubt) {
			t.Fatalf("err = %v, want in doubt", err)
		}
		f.tr.Client.HTTP = nil
		if err := f.tr.ForgetAttempt(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if err := f.tr.Submit(ctx, "r1", body); err != nil {
			t.Fatalf("submit after ForgetAttempt: %v", err)
		}
		if n := len(f.srv.Sent(ourMailbox)); n != 1 {
			t.Errorf("%d messages sent, want 1", n)
		}
	})
}

func TestMESHTransportDeliveryReport(t *testing.T) {
	f := newMeshFixture(t)
	f.srv.OnMessage = nil
	ctx := context.Background()
	body, _ := BuildRequest([]schemas.Contact{dbstest.Contact(t, "S1", "943476591")})
	if err := f.tr.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	sent := f.srv.Sent(ourMailbox)[0]
	if _, err := f.srv.Deliver(meshtest.Message{
		From: dbsMailbox, To: ourMailbox, WorkflowID: requestWF, MessageType: mesh.MessageTypeReport,
		LocalID: "r1", LinkedMessageID: sent.ID, StatusSuccess: "ERROR", StatusCode: "14", StatusDesc: "Message not collected by recipient",
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.tr.Fetch(ctx, "r1")
	var dr *DeliveryReportError
	if !errors.As(err, &dr) || dr.Code != "14" || !IsPermanent(err) {
		t.Errorf("err = %v, want a permanent DeliveryReportError", err)
	}
}
