// Command sms-bench measures an SMS step against the Notify rate limit (#13 item 8).
//
// It starts the Notify test server (notify/notifytest), which enforces the per-key
// limit over a sliding window (429 past it) and records every notification, and one
// notify.Client for the key, whose limiter is shared by every send of the process as
// the worker shares it. Then -ics ICSs of -people people each (everyone with a mobile)
// send their first SMS step at once, each through the real activity
// (activities.Activities.SendMailing: selection, late opt-outs, contacts, the
// exactly-once batch and its ledger, the mailing history), and it prints per run:
//
//	messages/min  over the whole step (from the first send to the last ICS done) and
//	              in steady state (from 10 % to 90 % of the messages, without the
//	              limiter's opening burst)
//	ratio         messages per minute over the limit per minute (target ≥ 90 %)
//	objects       ledger objects written per step (one ICS), and store objects
//	              per step with the mailing history
//	requests, 429s, duplicates and missing references at the server
//
// With -crash it then checks exactly-once across crashes: a second wave whose steps are
// cancelled part-way -kills times (a worker dying mid-send) and re-run each time, then
// run to the end; the server must hold every reference exactly once.
//
//	go run ./bench/sms -ics 8 -people 600 -limit 3000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"icesurvey/activities"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
)

const template = "f33517ff-2a88-4f6e-b855-c550268ce08a"

func main() {
	icss := flag.Int("ics", 8, "ICSs sending their first SMS step at once")
	people := flag.Int("people", 4000, "people per ICS, each with a mobile")
	limit := flag.Int("limit", notify.DefaultRateLimit, "Notify rate limit: requests per window per key")
	window := flag.Duration("window", notify.DefaultRateWindow, "Notify rate-limit window")
	latency := flag.Duration("latency", 0, "added to every Notify answer (the real API is not on loopback)")
	crash := flag.Bool("crash", true, "then check exactly-once across cancelled and re-run steps")
	kills := flag.Int("kills", 5, "with -crash: how many times the steps are cancelled part-way")
	flag.Parse()
	if err := run(*icss, *people, *limit, *window, *latency, *crash, *kills); err != nil {
		fmt.Fprintln(os.Stderr, "sms-bench:", err)
		os.Exit(1)
	}
}

func run(icss, people, limit int, window time.Duration, latency time.Duration, crash bool, kills int) error {
	if icss < 1 || people < 1 {
		return fmt.Errorf("-ics and -people must be at least 1")
	}
	srv, err := notifytest.Open(notifytest.Options{RateLimit: limit, RateWindow: window})
	if err != nil {
		return err
	}
	defer srv.Close()
	hc := &http.Client{Timeout: 30 * time.Second}
	if latency > 0 {
		hc.Transport = slowTransport{http.DefaultTransport, latency}
	}
	client, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, RateLimit: limit, RateWindow: window, HTTPClient: hc})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sms-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.NewFileStore(dir)
	if err != nil {
		return err
	}
	a := &activities.Activities{Store: st, Notify: client}
	ctx := context.Background()
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: template}

	fmt.Printf("SMS step: %d ICSs × %d people at once, Notify limit %d per %s (one key, one limiter), ledger chunks of %d, %d send workers per step\n",
		icss, people, limit, window, mailing.DefaultChunkSize, mailing.DefaultWorkers)
	codes, err := prepare(ctx, st, "bench", icss, people, step)
	if err != nil {
		return err
	}
	var done atomic.Int64
	total := icss * people
	var t10, t90 atomic.Int64
	start := time.Now()
	progress := func() {
		n := done.Add(1)
		el := int64(time.Since(start))
		if n == int64(total/10) {
			t10.Store(el)
		}
		if n == int64(total*9/10) {
			t90.Store(el)
		}
	}
	counted := countingNotify{Notify: client, sent: progress}
	a.Notify = counted
	outs, err := sendAll(ctx, a, "bench", codes, step)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	sent := 0
	for _, o := range outs {
		sent += o.Sent
	}
	perMin := float64(limit) * float64(time.Minute) / float64(window)
	rate := float64(sent) / elapsed.Minutes()
	steady := float64(t90.Load()-t10.Load()) / float64(time.Minute)
	steadyRate := float64(total*9/10-total/10) / steady
	ledgerObjs, err := mailing.LedgerObjects(ctx, st, schemas.SMSLedgerPrefix("bench", codes[0], step.Name))
	if err != nil {
		return err
	}
	stats := srv.Stats()
	missing := 0
	counts := srv.ReferenceCounts()
	for _, ics := range codes {
		for i := range people {
			if counts[mailing.Reference("bench", ics, recordID(i), step.Name)] == 0 {
				missing++
			}
		}
	}
	fmt.Println()
	fmt.Printf("%-34s %12s\n", "", "value")
	row := func(k string, v any) { fmt.Printf("%-34s %12v\n", k, v) }
	row("messages sent", sent)
	row("wall time", elapsed.Round(time.Millisecond))
	row("limit, messages/min", int(perMin))
	row("messages/min, whole step", int(rate))
	row("ratio to the limit, whole step", fmt.Sprintf("%.1f %%", 100*rate/perMin))
	row("messages/min, steady (10-90 %)", int(steadyRate))
	row("ratio to the limit, steady", fmt.Sprintf("%.1f %%", 100*steadyRate/perMin))
	row("ledger objects per step (1 ICS)", ledgerObjs)
	row("store objects per step (+history)", ledgerObjs+1)
	row("Notify requests", stats.Requests)
	row("Notify 429s", stats.RateLimited)
	row("duplicates at Notify", len(srv.Duplicates()))
	row("missing at Notify", missing)
	fmt.Printf("reference: before #13 item 8 the worker sent about 1,470 messages/min (49 %% of 3,000) and wrote 8,479 objects for one ICS of 4,206 people\n")
	if len(srv.Duplicates()) > 0 || missing > 0 || stats.RateLimited > 0 {
		return fmt.Errorf("%d duplicates, %d missing, %d rate-limited", len(srv.Duplicates()), missing, stats.RateLimited)
	}
	if !crash {
		return nil
	}
	return crashCheck(ctx, st, client, srv, icss, people, kills)
}

// crashCheck sends a second wave's step, cancelling every ICS's send at a random moment
// kills times and re-running it, as a worker killed and restarted would; then it runs
// to the end and checks each reference reached Notify exactly once.
func crashCheck(ctx context.Context, st store.Store, client *notify.Client, srv *notifytest.Server, icss, people, kills int) error {
	const wave = "crash"
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: template}
	people = min(people, 400)
	icss = min(icss, 3)
	codes, err := prepare(ctx, st, wave, icss, people, step)
	if err != nil {
		return err
	}
	stopped := 0
	for range kills {
		cctx, cancel := context.WithCancel(ctx)
		// A killed process writes nothing more: once the kill comes, every write fails, so
		// the outcomes of the chunk under way are lost and the re-run must find them at Notify.
		a := &activities.Activities{Store: deadAfter{Store: st, dead: cctx.Done()}, Notify: client}
		// A moment inside the send: people/(limit per second) is a whole step; kill in the first
		// part of what is left.
		after := time.Duration(rand.IntN(1500)+200) * time.Millisecond
		t := time.AfterFunc(after, cancel)
		_, err := sendAll(cctx, a, wave, codes, step)
		t.Stop()
		cancel()
		if err != nil {
			stopped++
		}
	}
	start := time.Now()
	a := &activities.Activities{Store: st, Notify: client}
	outs, err := sendAll(ctx, a, wave, codes, step)
	if err != nil {
		return fmt.Errorf("the run after the kills: %w", err)
	}
	recovered := 0
	for _, ics := range codes {
		entries, err := mailing.ReadLedger(ctx, st, schemas.SMSLedgerPrefix(wave, ics, step.Name))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Recovered {
				recovered++
			}
		}
	}
	counts := srv.ReferenceCounts()
	dup, missing := 0, 0
	for _, ics := range codes {
		for i := range people {
			switch c := counts[mailing.Reference(wave, ics, recordID(i), step.Name)]; {
			case c == 0:
				missing++
			case c > 1:
				dup++
			}
		}
	}
	last := 0
	for _, o := range outs {
		last += o.Sent
	}
	fmt.Println()
	fmt.Printf("exactly once across crashes: %d ICSs × %d people, %d kills (%d stopped a send part-way), then a run to the end (%s, %d sent by it)\n",
		icss, people, kills, stopped, time.Since(start).Round(time.Millisecond), last)
	fmt.Printf("%-34s %12d\n%-34s %12d\n%-34s %12d\n", "sends found at Notify on re-run", recovered, "duplicates at Notify", dup, "missing at Notify", missing)
	if dup > 0 || missing > 0 {
		return fmt.Errorf("exactly once broken: %d duplicates, %d missing", dup, missing)
	}
	return nil
}

// countingNotify counts each message Notify accepted, for the steady-state rate.
type countingNotify struct {
	mailing.Notify
	sent func()
}

func (c countingNotify) SendSMS(ctx context.Context, m notify.SMS) (*notify.Notification, error) {
	n, err := c.Notify.SendSMS(ctx, m)
	if err == nil {
		c.sent()
	}
	return n, err
}

// deadAfter is the store as a killed worker sees it: nothing is written once dead is closed.
type deadAfter struct {
	store.Store
	dead <-chan struct{}
}

func (d deadAfter) Put(ctx context.Context, key string, r io.Reader) error {
	select {
	case <-d.dead:
		return fmt.Errorf("the worker was killed before writing %s", key)
	default:
		return d.Store.Put(ctx, key, r)
	}
}

// slowTransport adds a fixed delay to every answer, as a network between the worker
// and Notify does.
type slowTransport struct {
	next  http.RoundTripper
	delay time.Duration
}

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err == nil {
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
		}
	}
	return res, err
}

func recordID(i int) string { return fmt.Sprintf("S%06d", i) }

// prepare writes each ICS's contacts and the step's selection (everyone).
func prepare(ctx context.Context, st store.Store, wave string, icss, people int, step mailing.Step) ([]string, error) {
	var codes []string
	for n := range icss {
		ics := fmt.Sprintf("Q%02d", n)
		codes = append(codes, ics)
		contacts := make([]schemas.Contact, people)
		sel := make([]schemas.Selection, people)
		for i := range contacts {
			contacts[i] = schemas.Contact{SurveyRecordID: recordID(i), ICS: ics, Title: "Ms", FirstName: "Ann", LastName: "Example",
				Address1: "1 High Street", Postcode: "NR1 1AA", Mobile: fmt.Sprintf("+4477009%05d", (n*people+i)%100000),
				AccessCode: fmt.Sprintf("AC%02d%06d", n, i)}
			sel[i] = schemas.Selection{SurveyRecordID: contacts[i].SurveyRecordID}
		}
		if err := lake.PutRows(ctx, st, schemas.ContactsKey(wave, ics), schemas.ContactLayout(), contacts); err != nil {
			return nil, err
		}
		if err := lake.PutRows(ctx, st, schemas.SelectionKey(wave, ics, step.Name, "checked"), schemas.SelectionLayout(), sel); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// sendAll runs the SendMailing activity of every ICS at once, as the worker runs them.
func sendAll(ctx context.Context, a *activities.Activities, wave string, codes []string, step mailing.Step) ([]activities.SendOutput, error) {
	outs := make([]activities.SendOutput, len(codes))
	errs := make([]error, len(codes))
	var wg sync.WaitGroup
	for i, ics := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = a.SendMailing(ctx, activities.SendInput{Scope: activities.Scope{WaveID: wave, ICS: ics}, Step: step,
				SelectionKey: schemas.SelectionKey(wave, ics, step.Name, "checked"), SurveyURL: "https://survey.example"})
		}()
	}
	wg.Wait()
	var msgs []string
	for i, err := range errs {
		if err != nil {
			msgs = append(msgs, codes[i]+": "+err.Error())
		}
	}
	sort.Strings(msgs)
	if len(msgs) > 0 {
		return outs, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return outs, nil
}
