package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzNotify answers every request with the same status and body.
type fuzzNotify struct {
	mu       sync.Mutex
	status   int
	body     []byte
	requests int
}

func (f *fuzzNotify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = w.Write(f.body)
}

// FuzzNotifyAnswers feeds arbitrary answers to the decoders of what Notify sends back
// (a notification, a page of the list, an error) and to the client itself, which gets
// the same status and body for every request. No input may panic or page for ever; a
// decoded notification has a UUID id and reads the same re-encoded; a decoded page's
// next link keeps the filters and points past a notification of the page; an error
// keeps its status; whatever the client returns for a GET is the notification asked for.
//
// Seeds: testdata/fuzz/FuzzNotifyAnswers (Notify's documented answers: a send, a
// notification, a list page with links, errors of every kind; and nasty ones: a next
// link to another host or back to the same page, an id that is not a UUID, HTML from
// a proxy, a list whose filter the server ignored).
func FuzzNotifyAnswers(f *testing.F) {
	f.Add(uint16(200), []byte(`{"notifications": [], "links": {"current": "https://api.notifications.service.gov.uk/v2/notifications"}}`))
	srv := &fuzzNotify{}
	hs := httptest.NewServer(srv)
	f.Cleanup(hs.Close)
	c, err := New(Config{APIKey: "test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
		BaseURL: hs.URL, MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, RateLimit: 1 << 30, RateWindow: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	const id = "740e5834-3a29-46b4-9a6f-16142fde533a"
	filters := []ListFilter{{}, {Reference: "W1-QMM-sms1-S00001"}, {TemplateType: TypeSMS, Statuses: []string{StatusFailed}}}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		if n, err := decodeNotification(body); err == nil {
			if !IsUUID(n.ID) {
				t.Fatalf("notification id %q", n.ID)
			}
			b, _ := json.Marshal(n)
			again, err := decodeNotification(b)
			if err != nil || !reflect.DeepEqual(normalised(n), normalised(again)) {
				t.Fatalf("re-encoded notification reads %+v, %v; was %+v", again, err, n)
			}
			_ = n.Outcome().String()
		}
		for _, asked := range filters {
			p, err := decodePage(body, "/v2/notifications", asked)
			if err != nil {
				continue
			}
			for _, n := range p.Notifications {
				if !IsUUID(n.ID) || !asked.matches(&n) {
					t.Fatalf("page kept %+v for filter %+v", n, asked)
				}
			}
			if p.Next != nil && (!IsUUID(p.Next.OlderThan) || p.Next.Reference != asked.Reference || p.Next.TemplateType != asked.TemplateType) {
				t.Fatalf("next %+v for filter %+v", p.Next, asked)
			}
		}
		st := int(status)
		if st < 200 || st > 599 {
			st = 200
		}
		if e := decodeAPIError(st, body); e.Status != st || len(e.Errors) == 0 || e.Error() == "" {
			t.Fatalf("error answer decoded as %+v", e)
		}

		srv.mu.Lock()
		srv.status, srv.body, srv.requests = st, body, 0
		srv.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if n, err := c.Get(ctx, id); err == nil && !strings.EqualFold(n.ID, id) {
			t.Fatalf("Get(%s) returned %s", id, n.ID)
		}
		if err := c.List(ctx, ListFilter{TemplateType: TypeSMS}, func(Notification) error { return nil }); err != nil && ctx.Err() != nil {
			t.Fatalf("List did not end: %v", err)
		}
		if _, err := c.SendSMS(ctx, SMS{PhoneNumber: "07700900123", TemplateID: id, Reference: "r"}); err != nil && ctx.Err() != nil {
			t.Fatalf("SendSMS did not end: %v", err)
		}
		srv.mu.Lock()
		n := srv.requests
		srv.mu.Unlock()
		if n > 50 {
			t.Fatalf("%d requests for one answer", n)
		}
	})
}

// normalised drops what JSON does not carry exactly (time zones' names).
func normalised(n *Notification) Notification {
	out := *n
	for _, t := range []**time.Time{&out.CreatedAt, &out.SentAt, &out.CompletedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return out
}
