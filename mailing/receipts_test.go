package mailing_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
)

// countingSource counts the requests FetchReceipts makes.
type countingSource struct {
	*notify.Client
	lists, gets atomic.Int32
}

func (c *countingSource) List(ctx context.Context, f notify.ListFilter, fn func(notify.Notification) error) error {
	c.lists.Add(1)
	return c.Client.List(ctx, f, fn)
}

func (c *countingSource) Get(ctx context.Context, id string) (*notify.Notification, error) {
	c.gets.Add(1)
	return c.Client.Get(ctx, id)
}

// Receipts reach the mailing history: a number that is no longer in use becomes
// permanent-failure, a phone that was off temporary-failure, the rest delivered; a
// message refused at send time stays as it was; a second fetch asks Notify nothing.
func TestFetchReceipts(t *testing.T) {
	ctx := context.Background()
	st, contacts, sel := sendFixture(t)
	contacts[2].Mobile = "+441632960002" // a landline: refused at send time
	if err := lake.PutRows(ctx, st, schemas.ContactsKey("W1", "QMM"), schemas.ContactLayout(), contacts); err != nil {
		t.Fatal(err)
	}
	srv, client := newNotify(t, notifytest.Options{PageSize: 2, SettleAfter: 1500 * time.Millisecond,
		PermanentFailureNumbers: []string{contacts[1].Mobile}, TemporaryFailureNumbers: []string{contacts[3].Mobile}})
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	// Another ICS's messages share the key: the listing passes over them.
	other, err := mailing.SMSMessages("W1", "QXX", step, testContacts(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailing.SendSMSBatch(ctx, newStore(t), client, "restricted/W1/QXX/ledger/sms1/", other, nil); err != nil {
		t.Fatal(err)
	}
	res, err := mailing.Send(ctx, st, client, mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: step, SelectionKey: sel}, time.Now(), nil)
	if err != nil || res.Sent != 4 || res.Failed != 1 {
		t.Fatalf("send %+v, %v", res, err)
	}
	src := &countingSource{Client: client}
	req := mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms1"}

	// Straight away nothing is final yet.
	early, err := mailing.FetchReceipts(ctx, st, src, req)
	if err != nil || early.InFlight != 4 || early.Changed != 0 || early.Objects != nil || early.Final() {
		t.Fatalf("early fetch %+v, %v", early, err)
	}

	time.Sleep(1600 * time.Millisecond)
	src.lists.Store(0)
	src.gets.Store(0)
	got, err := mailing.FetchReceipts(ctx, st, src, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Delivered != 2 || got.PermanentFailures != 1 || got.TemporaryFailures != 1 || got.Refused != 1 || got.InFlight != 0 ||
		got.Changed != 4 || !got.Final() || got.Fetched != 0 {
		t.Errorf("fetch %+v", got)
	}
	h := history(t, st, got.Objects)
	want := map[string]string{
		contacts[0].SurveyRecordID: schemas.ResultDelivered, contacts[1].SurveyRecordID: schemas.ResultPermanentFailure,
		contacts[2].SurveyRecordID: schemas.ResultPermanentFailure, contacts[3].SurveyRecordID: schemas.ResultTemporaryFailure,
		contacts[4].SurveyRecordID: schemas.ResultDelivered,
	}
	for id, r := range want {
		if h[id] != r {
			t.Errorf("%s: result %q, want %q", id, h[id], r)
		}
	}
	if src.lists.Load() != 1 || src.gets.Load() != 0 {
		t.Errorf("%d listings and %d gets", src.lists.Load(), src.gets.Load())
	}

	before := srv.Stats().Requests
	again, err := mailing.FetchReceipts(ctx, st, src, req)
	if err != nil || again.Changed != 0 || again.Objects != nil || srv.Stats().Requests != before {
		t.Errorf("second fetch %+v, %v (%d requests)", again, err, srv.Stats().Requests-before)
	}
}

// A message the listing does not show (older than Notify lists) is fetched by id.
func TestFetchReceiptsFallsBackToGet(t *testing.T) {
	ctx := context.Background()
	st, _, sel := sendFixture(t)
	_, client := newNotify(t, notifytest.Options{SettleAfter: time.Millisecond})
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	if _, err := mailing.Send(ctx, st, client, mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: step, SelectionKey: sel}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	src := &hidingSource{countingSource{Client: client}}
	got, err := mailing.FetchReceipts(ctx, st, src, mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms1"})
	if err != nil || got.Fetched != 5 || got.Delivered != 5 || src.gets.Load() != 5 {
		t.Errorf("fetch %+v, %v", got, err)
	}
	if _, err := mailing.FetchReceipts(ctx, st, nil, mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms1"}); err == nil {
		t.Error("no Notify client accepted")
	}
	if _, err := mailing.FetchReceipts(ctx, st, src, mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms9"}); err == nil {
		t.Error("a step never sent has receipts")
	}
}

// hidingSource lists nothing: the listing missed the step's messages.
type hidingSource struct{ countingSource }

func (h *hidingSource) List(context.Context, notify.ListFilter, func(notify.Notification) error) error {
	return nil
}

func TestReceiptResult(t *testing.T) {
	for _, c := range []struct {
		status, result string
		final          bool
	}{
		{notify.StatusDelivered, schemas.ResultDelivered, true},
		{notify.StatusSending, schemas.ResultSent, false},
		{notify.StatusCreated, schemas.ResultSent, false},
		{notify.StatusPermanentFailure, schemas.ResultPermanentFailure, true},
		{notify.StatusTemporaryFailure, schemas.ResultTemporaryFailure, true},
		{"a-status-from-the-future", schemas.ResultSent, false},
	} {
		if r, f := mailing.ReceiptResult(c.status); r != c.result || f != c.final {
			t.Errorf("ReceiptResult(%q) = %q, %v; want %q, %v", c.status, r, f, c.result, c.final)
		}
	}
}

// forgettingSource is Notify having lost some messages: it lists nothing, and a GET of
// a forgotten id asks the server for an id it never issued (a real 404 NoResultFound).
type forgettingSource struct {
	hidingSource
	forget map[string]bool
}

func (f *forgettingSource) Get(ctx context.Context, id string) (*notify.Notification, error) {
	if f.forget[id] {
		id = "dd4b8b9d-d414-4a83-9256-580046bf18f9"
	}
	return f.hidingSource.Get(ctx, id)
}

// A message Notify no longer holds (404 NoResultFound: deleted after the service's
// data retention period, or forgotten by a simulator) does not stop the fetch, or the
// ICS's fieldwork: it is recorded as receipt-expired, counted, final, and never asked
// about again; the others get their receipts. A rejected key still stops the fetch, as
// a configuration error a person must fix.
func TestFetchReceiptsNotFound(t *testing.T) {
	ctx := context.Background()
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	req := mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms1"}
	tests := []struct {
		name string
		// source wraps the client that sent the step (the server's clock is now); after
		// is how long after the send the receipts are fetched.
		source             func(srv *notifytest.Server, now func() time.Time, c *notify.Client, ids []string) mailing.ReceiptSource
		after              time.Duration
		delivered, expired int
		wantErr            fault.Kind
	}{
		{name: "one message forgotten", after: time.Minute, delivered: 4, expired: 1,
			source: func(_ *notifytest.Server, _ func() time.Time, c *notify.Client, ids []string) mailing.ReceiptSource {
				return &forgettingSource{hidingSource{countingSource{Client: c}}, map[string]bool{ids[2]: true}}
			}},
		{name: "every message past Notify's 7-day retention", after: 11 * 24 * time.Hour, expired: 5,
			source: func(_ *notifytest.Server, _ func() time.Time, c *notify.Client, _ []string) mailing.ReceiptSource {
				return c
			}},
		{name: "within the retention", after: 6 * 24 * time.Hour, delivered: 5,
			source: func(_ *notifytest.Server, _ func() time.Time, c *notify.Client, _ []string) mailing.ReceiptSource {
				return &hidingSource{countingSource{Client: c}}
			}},
		{name: "a rejected key", after: time.Minute, wantErr: fault.NotAuthorised,
			source: func(srv *notifytest.Server, now func() time.Time, _ *notify.Client, _ []string) mailing.ReceiptSource {
				bad, err := notify.New(notify.Config{APIKey: "test-" + srv.ServiceID() + "-11111111-1111-4111-8111-111111111111", BaseURL: srv.URL, Now: now})
				if err != nil {
					panic(err)
				}
				return bad
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, sel := sendFixture(t)
			now := time.Now()
			clock := func() time.Time { return now }
			srv := notifytest.Start(t, notifytest.Options{SettleAfter: time.Second, Retention: 7 * 24 * time.Hour, Now: clock})
			client, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, Now: clock, MaxAttempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mailing.Send(ctx, st, client, mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: step, SelectionKey: sel}, now, nil); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, n := range srv.Notifications() {
				ids = append(ids, n.ID)
			}
			now = now.Add(tt.after)
			src := tt.source(srv, clock, client, ids)
			got, err := mailing.FetchReceipts(ctx, st, src, req)
			if tt.wantErr != "" {
				if fault.KindOf(err) != tt.wantErr {
					t.Fatalf("fetch %+v, %v; want a %s error", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if got.Delivered != tt.delivered || got.Expired != tt.expired || got.InFlight != 0 || !got.Final() || got.Changed != 5 {
				t.Errorf("fetch %+v, want %d delivered and %d expired, all final", got, tt.delivered, tt.expired)
			}
			h := history(t, st, got.Objects)
			expired := 0
			for _, r := range h {
				if r == schemas.ResultReceiptExpired {
					expired++
				}
			}
			if expired != tt.expired {
				t.Errorf("%d messages receipt-expired in the history %v, want %d", expired, h, tt.expired)
			}
			before := srv.Stats().Requests
			if again, err := mailing.FetchReceipts(ctx, st, src, req); err != nil || again.Changed != 0 || again.Expired != tt.expired ||
				srv.Stats().Requests != before {
				t.Errorf("second fetch %+v, %v (%d requests): an expired receipt is asked about again", again, err, srv.Stats().Requests-before)
			}
		})
	}
}

// One Notify key serves every ICS: the statuses one ICS's listing reads of another's
// messages are kept for that ICS (final ones only), whose own fetch then lists nothing
// and gets the same results; an ICS whose retention has begun is not written to.
func TestFetchReceiptsSharesWhatOtherICSsListed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	_, client := newNotify(t, notifytest.Options{PageSize: 3, SettleAfter: 300 * time.Millisecond,
		PermanentFailureNumbers: []string{testContacts(6)[1].Mobile}})
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	send := func(ics string) {
		t.Helper()
		contacts := testContacts(6)
		if err := lake.PutRows(ctx, st, schemas.ContactsKey("W1", ics), schemas.ContactLayout(), contacts); err != nil {
			t.Fatal(err)
		}
		var sel []schemas.Selection
		for _, c := range contacts[:5] {
			sel = append(sel, schemas.Selection{SurveyRecordID: c.SurveyRecordID})
		}
		key := schemas.SelectionKey("W1", ics, "sms1", "due")
		if err := lake.PutRows(ctx, st, key, schemas.SelectionLayout(), sel); err != nil {
			t.Fatal(err)
		}
		if res, err := mailing.Send(ctx, st, client, mailing.SendRequest{Wave: "W1", ICS: ics, Step: step, SelectionKey: key}, time.Now(), nil); err != nil || res.Sent != 5 {
			t.Fatalf("send %s: %+v, %v", ics, res, err)
		}
	}
	send("QMM") // first: QMM's listing (newest first) reads the others' before its own
	send("QXX")
	send("QRR")
	// QRR's retention has begun: its restricted area is not written again.
	if err := store.PutBytes(ctx, st, schemas.RetentionLineageKey("W1", "QRR"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)

	src := &countingSource{Client: client}
	qmm, err := mailing.FetchReceipts(ctx, st, src, mailing.ReceiptsRequest{Wave: "W1", ICS: "QMM", Step: "sms1"})
	if err != nil || qmm.Delivered != 4 || qmm.PermanentFailures != 1 || qmm.SeenByOthers != 0 {
		t.Fatalf("QMM's fetch %+v, %v", qmm, err)
	}
	b, err := store.ReadAll(ctx, st, schemas.SMSReceiptsSeenKey("W1", "QXX", "sms1"))
	if err != nil {
		t.Fatalf("QXX's statuses seen by QMM's listing: %v", err)
	}
	var seen map[string]string
	if err := json.Unmarshal(b, &seen); err != nil || len(seen) != 5 {
		t.Fatalf("QXX's statuses seen: %s (%v), want its 5 messages", b, err)
	}
	if strings.Contains(string(b), "ice.") || strings.Contains(string(b), "+44") {
		t.Errorf("the record of statuses seen holds a reference or a number: %s", b)
	}
	if ok, _ := store.Exists(ctx, st, schemas.SMSReceiptsSeenKey("W1", "QRR", "sms1")); ok {
		t.Error("QRR's retention has begun, but its restricted area was written to")
	}

	src.lists.Store(0)
	qxx, err := mailing.FetchReceipts(ctx, st, src, mailing.ReceiptsRequest{Wave: "W1", ICS: "QXX", Step: "sms1"})
	if err != nil || qxx.Delivered != 4 || qxx.PermanentFailures != 1 || qxx.InFlight != 0 || qxx.SeenByOthers != 5 || qxx.Listed != 0 {
		t.Fatalf("QXX's fetch %+v, %v", qxx, err)
	}
	if src.lists.Load() != 0 || src.gets.Load() != 0 {
		t.Errorf("QXX's fetch asked Notify %d listings and %d gets, want none", src.lists.Load(), src.gets.Load())
	}
	// QRR, with no record, lists for itself and gets the same results.
	qrr, err := mailing.FetchReceipts(ctx, st, src, mailing.ReceiptsRequest{Wave: "W1", ICS: "QRR", Step: "sms1"})
	if err != nil || qrr.Delivered != 4 || qrr.PermanentFailures != 1 || qrr.SeenByOthers != 0 || qrr.Listed == 0 {
		t.Fatalf("QRR's fetch %+v, %v", qrr, err)
	}
}
