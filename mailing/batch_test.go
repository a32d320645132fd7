package mailing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
)

const (
	smsTemplate    = "f33517ff-2a88-4f6e-b855-c550268ce08a"
	letterTemplate = "0c1e3b0e-6a53-4f1d-9a8e-8b1b6c1e9f10"
	ledger         = "restricted/W1/QMM/ledger/sms1/"
)

func newNotify(t *testing.T, opts notifytest.Options) (*notifytest.Server, *notify.Client) {
	t.Helper()
	srv := notifytest.Start(t, opts)
	c, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func smsBatch(t *testing.T, contacts []schemas.Contact) []mailing.SMSMessage {
	t.Helper()
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	msgs, err := mailing.SMSMessages("W1", "QMM", step, contacts, func(c schemas.Contact) map[string]string {
		return map[string]string{"access_code": c.AccessCode}
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// killingSender stands for a worker process that dies: after `after` successful sends
// it cancels the batch's context. With lose set, the send that triggers the kill has
// reached Notify but its result is lost, so the ledger is never written for it.
type killingSender struct {
	mailing.Sender
	after  int
	lose   bool
	cancel context.CancelFunc

	mu    sync.Mutex
	sends int
}

func (k *killingSender) SendSMS(ctx context.Context, m notify.SMS) (*notify.Notification, error) {
	n, err := k.Sender.SendSMS(ctx, m)
	if err != nil {
		return n, err
	}
	k.mu.Lock()
	k.sends++
	kill := k.sends == k.after
	k.mu.Unlock()
	if kill {
		k.cancel()
		if k.lose {
			return nil, context.Canceled
		}
	}
	return n, nil
}

// failingStore refuses ledger writes after the first `allow` of them, as a store that
// went away between Notify accepting a message and the ledger write.
type failingStore struct {
	store.Store
	allow int

	mu   sync.Mutex
	puts int
}

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.HasPrefix(key, ledger) {
		f.mu.Lock()
		f.puts++
		fail := f.puts > f.allow
		f.mu.Unlock()
		if fail {
			return errors.New("store unavailable")
		}
	}
	return f.Store.Put(ctx, key, r)
}

func TestSendSMSBatchExactlyOnce(t *testing.T) {
	const n = 40
	tests := []struct {
		name          string
		wrapSender    func(mailing.Sender, context.CancelFunc) mailing.Sender
		wrapStore     func(store.Store) store.Store
		serverFaults  func(*notifytest.Server)
		wantFirstErr  bool
		wantRecovered bool
	}{
		{
			name: "killed after 10 sends",
			wrapSender: func(s mailing.Sender, c context.CancelFunc) mailing.Sender {
				return &killingSender{Sender: s, after: 10, cancel: c}
			},
			wantFirstErr: true,
		},
		{
			name: "killed between a send and its ledger write",
			wrapSender: func(s mailing.Sender, c context.CancelFunc) mailing.Sender {
				return &killingSender{Sender: s, after: 7, lose: true, cancel: c}
			},
			wantFirstErr: true, wantRecovered: true,
		},
		{
			name: "ledger store fails after a send",
			// The first chunk's intent and outcomes are written; the second chunk's
			// outcomes are not.
			wrapStore:    func(s store.Store) store.Store { return &failingStore{Store: s, allow: 3} },
			wantFirstErr: true, wantRecovered: true,
		},
		{
			name:         "Notify accepts but the response is lost",
			serverFaults: func(s *notifytest.Server) { s.FailNextAfterAccept(3) },
		},
		{
			name:         "Notify 5xx and 429 during the batch",
			serverFaults: func(s *notifytest.Server) { s.FailNext(2, 502); s.FailNext(2, 429) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newNotify(t, notifytest.Options{})
			base := newStore(t)
			msgs := smsBatch(t, testContacts(n))
			if tt.serverFaults != nil {
				tt.serverFaults(srv)
			}

			// First run, which may die part-way.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var sender mailing.Sender = client
			if tt.wrapSender != nil {
				sender = tt.wrapSender(client, cancel)
			}
			var st store.Store = base
			if tt.wrapStore != nil {
				st = tt.wrapStore(base)
			}
			res1, err := mailing.SendSMSBatch(ctx, st, sender, ledger, msgs, nil, mailing.WithWorkers(4), mailing.WithChunkSize(16))
			if (err != nil) != tt.wantFirstErr {
				t.Fatalf("first run err = %v, wantErr %v", err, tt.wantFirstErr)
			}
			if d := srv.Duplicates(); len(d) != 0 {
				t.Fatalf("after first run, sent twice: %v", d)
			}

			// Re-run to completion with a healthy worker.
			var progress []int
			// (It waits a second for the first run's requests still on their way through
			// Notify: without it, a loaded machine let one be taken in after the
			// re-run had looked for it, and sent it again.)
			res2, err := mailing.SendSMSBatch(context.Background(), base, client, ledger, msgs,
				func(done int) { progress = append(progress, done) }, mailing.WithSettle(time.Second))
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			counts := srv.ReferenceCounts()
			for _, m := range msgs {
				if counts[m.Reference] != 1 {
					t.Errorf("reference %s sent %d times, want exactly 1", m.Reference, counts[m.Reference])
				}
			}
			if len(counts) != n {
				t.Errorf("server has %d references, want %d", len(counts), n)
			}
			if res2.Sent+res2.AlreadySent != n || res2.Failed != 0 {
				t.Errorf("re-run result %+v", res2)
			}
			if len(progress) != n || progress[n-1] != n {
				t.Errorf("progress calls %d, last %v", len(progress), progress[len(progress)-1:])
			}

			entries, err := mailing.ReadLedger(context.Background(), base, ledger)
			if err != nil || len(entries) != n {
				t.Fatalf("ledger has %d entries (%v), want %d", len(entries), err, n)
			}
			recovered := 0
			for _, e := range entries {
				if e.State != mailing.StateSent || e.NotificationID == "" || e.SurveyRecordID == "" {
					t.Errorf("entry %+v", e)
				}
				if e.Recovered {
					recovered++
				}
			}
			// Every message the first run counted as sent is in the ledger; the others it
			// sent were in flight or lost their outcome, and the re-run found them at Notify.
			if got := len(srv.Notifications()); recovered != got-res1.Sent-res2.Sent {
				t.Errorf("recovered %d, want Notify's %d - sent %d - re-sent %d", recovered, got, res1.Sent, res2.Sent)
			}
			if tt.wantRecovered && recovered == 0 {
				t.Errorf("no send was recovered from Notify, but one was lost before its ledger write")
			}

			// A third run touches nothing at Notify.
			before := srv.Stats().Requests
			res3, err := mailing.SendSMSBatch(context.Background(), base, client, ledger, msgs, nil)
			if err != nil || res3.AlreadySent != n || res3.Sent != 0 {
				t.Errorf("third run %+v, %v", res3, err)
			}
			if got := srv.Stats().Requests; got != before {
				t.Errorf("third run made %d requests", got-before)
			}
		})
	}
}

func TestSendSMSBatchPermanentFailure(t *testing.T) {
	srv, client := newNotify(t, notifytest.Options{})
	st := newStore(t)
	contacts := testContacts(6)
	contacts[2].Mobile = "+441632960002" // a landline: Notify refuses it
	contacts[4].Mobile = "+447700900abc"
	msgs := smsBatch(t, contacts)
	ctx, col := audit.WithCollector(context.Background())
	res, err := mailing.SendSMSBatch(ctx, st, client, ledger, msgs, nil)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	if res.Sent != 4 || res.Failed != 2 || strings.Join(res.PermanentFailures, ",") != "S00002,S00004" {
		t.Errorf("result %+v", res)
	}
	entries, _ := mailing.ReadLedger(context.Background(), st, ledger)
	digits := regexp.MustCompile(`\d{6,}`)
	for _, e := range entries {
		if e.SurveyRecordID == "S00002" {
			if e.State != mailing.StateFailed || !strings.Contains(e.Error, "Not a UK mobile") {
				t.Errorf("failed entry %+v", e)
			}
		}
		if digits.MatchString(e.Error) {
			t.Errorf("ledger error carries a number: %q", e.Error)
		}
	}
	// The audit event carries counts, never numbers.
	evs := col.Events()
	if len(evs) != 1 || evs[0].Kind != "sms_batch" || evs[0].Details["failed"] != 2 || evs[0].Details["sent"] != 4 {
		t.Fatalf("audit events %+v", evs)
	}
	if js := audit.DetailsJSON(evs[0].Details); strings.Contains(js, "7700") || strings.Contains(js, "1632") {
		t.Errorf("audit details leak a number: %s", js)
	}
	// A re-run does not try the failed numbers again and still reports them.
	before := srv.Stats().Requests
	res2, err := mailing.SendSMSBatch(context.Background(), st, client, ledger, msgs, nil)
	if err != nil || res2.Failed != 2 || res2.AlreadySent != 4 || len(res2.PermanentFailures) != 2 {
		t.Errorf("re-run %+v, %v", res2, err)
	}
	if srv.Stats().Requests != before {
		t.Errorf("re-run made requests")
	}
}

func TestSendSMSBatchConfigErrorStops(t *testing.T) {
	otherTemplate := "11111111-2222-4333-8444-555555555555"
	tests := []struct {
		name string
		opts notifytest.Options
		key  func(*notifytest.Server) string
	}{
		{"unknown template", notifytest.Options{Templates: []string{otherTemplate}}, nil},
		{"revoked key", notifytest.Options{}, func(s *notifytest.Server) string {
			return "old-" + s.ServiceID() + "-00000000-0000-4000-8000-000000000000"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newNotify(t, tt.opts)
			if tt.key != nil {
				var err error
				if client, err = notify.New(notify.Config{APIKey: tt.key(srv), BaseURL: srv.URL}); err != nil {
					t.Fatal(err)
				}
			}
			st := newStore(t)
			res, err := mailing.SendSMSBatch(context.Background(), st, client, ledger, smsBatch(t, testContacts(20)), nil)
			if err == nil || !notify.IsPermanent(err) || notify.IsRecipientError(err) {
				t.Fatalf("err = %v, want a permanent, non-recipient error", err)
			}
			if res.Failed != 0 || res.Sent != 0 {
				t.Errorf("result %+v", res)
			}
			if entries, _ := mailing.ReadLedger(context.Background(), st, ledger); len(entries) != 0 {
				t.Errorf("a configuration error was recorded against %d people", len(entries))
			}
			if got := srv.Stats().Accepted; got != 0 {
				t.Errorf("%d accepted", got)
			}
		})
	}
}

func TestSendSMSBatchInputChecks(t *testing.T) {
	_, client := newNotify(t, notifytest.Options{})
	st := newStore(t)
	msgs := smsBatch(t, testContacts(3))
	dup := append(msgs, msgs[0])
	noNumber := append([]mailing.SMSMessage(nil), msgs...)
	noNumber[1].PhoneNumber = ""
	for name, tc := range map[string]struct {
		prefix string
		msgs   []mailing.SMSMessage
	}{
		"duplicate reference": {ledger, dup},
		"no phone number":     {ledger, noNumber},
		"no ledger prefix":    {"", msgs},
		"bad ledger prefix":   {"../x/", msgs},
	} {
		if _, err := mailing.SendSMSBatch(context.Background(), st, client, tc.prefix, tc.msgs, nil); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "+4477") {
			t.Errorf("%s: error leaks a number: %v", name, err)
		}
	}
	// A message formats as its reference only.
	if s := strings.Join([]string{msgs[0].String(), msgs[0].GoString()}, " "); strings.Contains(s, "+44") {
		t.Errorf("message formatting leaks the number: %s", s)
	}
}

func TestSendSMSBatchStaysUnderRateLimit(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{RateLimit: 12, RateWindow: 400 * time.Millisecond})
	client, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, RateLimit: 10, RateWindow: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 25 messages = 25 requests: more than twice the window's limit.
	res, err := mailing.SendSMSBatch(context.Background(), newStore(t), client, ledger, smsBatch(t, testContacts(25)), nil, mailing.WithWorkers(6))
	if err != nil || res.Sent != 25 {
		t.Fatalf("batch %+v, %v", res, err)
	}
	if st := srv.Stats(); st.RateLimited != 0 {
		t.Errorf("server rate-limited %d requests", st.RateLimited)
	}
}

// A clean run makes one request per message (no look-up by reference) and writes its
// ledger in chunks: an intent and a done record each.
func TestSendSMSBatchLedgerInChunks(t *testing.T) {
	srv, client := newNotify(t, notifytest.Options{})
	st := newStore(t)
	msgs := smsBatch(t, testContacts(45))
	res, err := mailing.SendSMSBatch(context.Background(), st, client, ledger, msgs, nil, mailing.WithChunkSize(10))
	if err != nil || res.Sent != 45 {
		t.Fatalf("batch %+v, %v", res, err)
	}
	if got := srv.Stats().Requests; got != 45 {
		t.Errorf("%d requests for 45 messages, want 45", got)
	}
	infos, err := st.List(context.Background(), ledger)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 10 {
		t.Errorf("ledger has %d objects, want 10 (5 chunks × intent + done)", len(infos))
	}
	if n, err := mailing.LedgerObjects(context.Background(), st, ledger); err != nil || n != 10 {
		t.Errorf("LedgerObjects = %d, %v", n, err)
	}
	entries, err := mailing.ReadLedger(context.Background(), st, ledger)
	if err != nil || len(entries) != 45 {
		t.Fatalf("ledger entries %d, %v", len(entries), err)
	}
}

// A ledger written one object per reference by the earlier version is still honoured.
func TestSendSMSBatchReadsPerReferenceLedger(t *testing.T) {
	srv, client := newNotify(t, notifytest.Options{})
	st := newStore(t)
	msgs := smsBatch(t, testContacts(3))
	old := fmt.Sprintf(`{"reference":%q,"survey_record_id":%q,"channel":"sms","state":"sent","notification_id":"9d7c5c1e-0000-4000-8000-000000000001","at":"2026-01-01T00:00:00Z"}`,
		msgs[0].Reference, msgs[0].SurveyRecordID)
	if err := store.PutBytes(context.Background(), st, schemas.LedgerEntryKey(ledger, msgs[0].Reference), []byte(old)); err != nil {
		t.Fatal(err)
	}
	res, err := mailing.SendSMSBatch(context.Background(), st, client, ledger, msgs, nil)
	if err != nil || res.Sent != 2 || res.AlreadySent != 1 || srv.CountByReference(msgs[0].Reference) != 0 {
		t.Errorf("batch %+v, %v", res, err)
	}
}

// lateNotify stands for Notify taking one request in after the client gave up on it:
// the first send of slow blocks until the batch's context is cancelled, returns the
// cancellation to the caller, and the message is accepted `lag` later, as a request
// already on its way through Notify would be.
type lateNotify struct {
	slow string
	lag  time.Duration

	mu       sync.Mutex
	accepted map[string]int
	stalled  bool // the slow send has been taken in late once; a send again is prompt
	started  chan struct{}
}

func (n *lateNotify) accept(ref string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.accepted[ref]++
}

func (n *lateNotify) SendSMS(ctx context.Context, m notify.SMS) (*notify.Notification, error) {
	n.mu.Lock()
	first := m.Reference == n.slow && !n.stalled
	n.stalled = n.stalled || first
	n.mu.Unlock()
	if first {
		close(n.started)
		<-ctx.Done()
		time.AfterFunc(n.lag, func() { n.accept(m.Reference) })
		return nil, ctx.Err()
	}
	n.accept(m.Reference)
	return &notify.Notification{ID: "id-" + m.Reference, Reference: m.Reference}, nil
}

func (n *lateNotify) FindByReference(_ context.Context, ref string) ([]notify.Notification, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.accepted[ref] == 0 {
		return nil, nil
	}
	return []notify.Notification{{ID: "id-" + ref, Reference: ref, Status: "sending"}}, nil
}

// TestReRunWaitsForWhatTheStoppedRunHadInFlight: a run stops while Notify is still
// taking in one of its requests. A re-run that looks for it at once does not find it
// yet and sends it again (the person gets it twice); one that first lets the stopped
// run's requests settle (WithSettle) finds it and sends it once.
func TestReRunWaitsForWhatTheStoppedRunHadInFlight(t *testing.T) {
	msgs := smsBatch(t, testContacts(3))
	for _, tc := range []struct {
		settle    time.Duration
		wantTwice bool
	}{
		{0, true},
		{300 * time.Millisecond, false},
	} {
		t.Run(fmt.Sprintf("settle %s", tc.settle), func(t *testing.T) {
			st := newStore(t)
			n := &lateNotify{slow: msgs[1].Reference, lag: 100 * time.Millisecond, accepted: map[string]int{}, started: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-n.started; cancel() }()
			if _, err := mailing.SendSMSBatch(ctx, st, n, ledger, msgs, nil, mailing.WithWorkers(1)); err == nil {
				t.Fatal("the stopped run reported no error")
			}
			res, err := mailing.SendSMSBatch(context.Background(), st, n, ledger, msgs, nil, mailing.WithWorkers(1), mailing.WithSettle(tc.settle))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * n.lag) // the late acceptance has happened, whatever the re-run did
			n.mu.Lock()
			twice := n.accepted[n.slow] > 1
			n.mu.Unlock()
			if twice != tc.wantTwice {
				t.Fatalf("slow reference accepted %d times (re-run %+v), want twice: %v", n.accepted[n.slow], res, tc.wantTwice)
			}
			if !tc.wantTwice && (res.Sent+res.AlreadySent != len(msgs)) {
				t.Fatalf("re-run %+v", res)
			}
		})
	}
}
