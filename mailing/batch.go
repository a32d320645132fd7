package mailing

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"icesurvey/audit"
	"icesurvey/notify"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Sender sends SMS through Notify; *notify.Client implements it.
type Sender interface {
	SendSMS(ctx context.Context, m notify.SMS) (*notify.Notification, error)
	FindByReference(ctx context.Context, ref string) ([]notify.Notification, error)
}

// Notify is everything the SMS steps need from GOV.UK Notify (*notify.Client): sends
// and look-ups by reference (Sender) and delivery receipts (ReceiptSource).
type Notify interface {
	Sender
	ReceiptSource
}

// SMSMessage is one text message of a batch. It formats (%v, slog) as its reference
// only, so a stray log line cannot print the phone number.
type SMSMessage struct {
	SurveyRecordID  string
	PhoneNumber     string
	TemplateID      string
	Personalisation map[string]string
	// Reference is the idempotency key (Reference(wave, ics, id, step)).
	Reference string
}

func (m SMSMessage) String() string       { return "sms " + m.Reference }
func (m SMSMessage) LogValue() slog.Value { return slog.StringValue(m.Reference) }
func (m SMSMessage) GoString() string     { return m.String() }

// BatchResult counts what a batch did.
type BatchResult struct {
	// Sent is the number of messages sent by this run.
	Sent int `json:"sent"`
	// AlreadySent is the number found already sent: in the ledger, or at Notify.
	AlreadySent int `json:"already_sent"`
	// Failed is the number refused for the recipient's details, now or before.
	Failed int `json:"failed"`
	// PermanentFailures are the survey record ids of the failed messages, sorted:
	// stop messages on this channel to these people.
	PermanentFailures []string `json:"permanent_failures,omitempty"`
}

// DefaultWorkers is the number of concurrent sends in a batch. The client's rate
// limiter (one per API key in a worker, shared by every batch), not the worker count,
// bounds the request rate; enough workers are needed to keep the limiter busy when
// Notify answers slowly (16 at 200 ms a request is 80 a second, above the limit of 50).
const DefaultWorkers = 16

// DefaultChunkSize is the number of messages per ledger chunk: a step of 4,000
// messages writes 8 ledger objects, and a crash costs at most this many look-ups by
// reference on the re-run.
const DefaultChunkSize = 1000

// BatchOption adjusts a batch.
type BatchOption func(*batchConfig)

type batchConfig struct {
	workers int
	chunk   int
	settle  time.Duration
	now     func() time.Time
}

// DefaultSettle is how long a re-run waits, before it looks for its pending references
// at Notify, when the run before it may have stopped only just now. A request that run
// had in flight may still be on its way through Notify after the run gave up on it (its
// context cancelled, its connection dropped): looked for too soon, the message is not
// found yet, sent again, and the person gets it twice. Notify answers a request in well
// under this, or not at all.
const DefaultSettle = 5 * time.Second

// settleHorizon is how long after a chunk was begun the run that began it may still
// have had requests in flight: beyond it (a crashed worker's activity is retried after
// its heartbeat times out, well within it, and no attempt outlives the activity's
// start-to-close timeout) a re-run does not wait.
const settleHorizon = 3 * time.Hour

// WithSettle sets how long a re-run waits before looking for its pending references
// (default DefaultSettle; tests shorten it).
func WithSettle(d time.Duration) BatchOption { return func(c *batchConfig) { c.settle = max(0, d) } }

// WithWorkers sets the number of concurrent sends (default DefaultWorkers).
func WithWorkers(n int) BatchOption { return func(c *batchConfig) { c.workers = max(1, n) } }

// WithChunkSize sets the number of messages per ledger chunk (default DefaultChunkSize).
func WithChunkSize(n int) BatchOption { return func(c *batchConfig) { c.chunk = max(1, n) } }

// SendSMSBatch sends each message at most once, even across crashes and re-runs, and
// at least once unless Notify refuses it for the recipient's details.
//
// The ledger under ledgerPrefix (in the restricted area) is written in chunks (see
// ledger.go): a chunk's references are recorded before any of them is sent, and their
// outcomes once known. A re-run skips references with an outcome; a reference recorded
// as about to be sent but without an outcome is first looked for at Notify (the process
// may have stopped between the send and the ledger write) and sent only if Notify has
// none. A message Notify refuses for the recipient's details (not a mobile number) is
// recorded as failed and reported in PermanentFailures; any other error
// (authentication, unknown template, retries exhausted, a ledger write failing) stops
// the batch and is returned with the counts so far, and the batch can be re-run safely.
//
// progress, if not nil, is called with the number of messages dealt with so far, one
// call at a time; keep it quick (a heartbeat).
func SendSMSBatch(ctx context.Context, st store.Store, client Sender, ledgerPrefix string, msgs []SMSMessage,
	progress func(done int), opts ...BatchOption) (BatchResult, error) {
	items := make([]item, len(msgs))
	for i, m := range msgs {
		if m.PhoneNumber == "" {
			return BatchResult{}, fmt.Errorf("mailing: SMS batch %s: message %s has no phone number", ledgerPrefix, m.Reference)
		}
		items[i] = item{ref: m.Reference, id: m.SurveyRecordID, send: func(ctx context.Context) (*notify.Notification, error) {
			return client.SendSMS(ctx, notify.SMS{PhoneNumber: m.PhoneNumber, TemplateID: m.TemplateID,
				Personalisation: m.Personalisation, Reference: m.Reference})
		}}
	}
	return runBatch(ctx, st, client.FindByReference, ChannelSMS, ledgerPrefix, items, progress, opts)
}

type item struct {
	ref, id string
	send    func(context.Context) (*notify.Notification, error)
}

func runBatch(ctx context.Context, st store.Store, find func(context.Context, string) ([]notify.Notification, error),
	channel, ledgerPrefix string, items []item, progress func(int), opts []BatchOption) (BatchResult, error) {
	cfg := batchConfig{workers: DefaultWorkers, chunk: DefaultChunkSize, settle: DefaultSettle, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	ledgerPrefix = normPrefix(ledgerPrefix)
	if ledgerPrefix == "" {
		return BatchResult{}, fmt.Errorf("mailing: %s batch: no ledger prefix", channel)
	}
	if err := store.ValidateKey(ledgerPrefix + "x"); err != nil {
		return BatchResult{}, fmt.Errorf("mailing: %s batch: ledger prefix %q: %w", channel, ledgerPrefix, err)
	}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if it.ref == "" || it.id == "" {
			return BatchResult{}, fmt.Errorf("mailing: %s batch %s: every message needs a reference and a survey record id", channel, ledgerPrefix)
		}
		if seen[it.ref] {
			return BatchResult{}, fmt.Errorf("mailing: %s batch %s: reference %s appears twice", channel, ledgerPrefix, it.ref)
		}
		seen[it.ref] = true
	}
	led, err := readLedger(ctx, st, ledgerPrefix)
	if err != nil {
		return BatchResult{}, err
	}
	// References sent (or not) by a run that may have stopped only just now: let what it
	// had in flight reach Notify before looking for them there.
	if len(led.pending) > 0 && cfg.settle > 0 && cfg.now().Sub(led.pendingSince) < settleHorizon {
		select {
		case <-ctx.Done():
			return BatchResult{}, ctx.Err()
		case <-time.After(cfg.settle):
		}
	}

	b := &batch{st: st, find: find, channel: channel, prefix: ledgerPrefix, pending: led.pending, now: cfg.now,
		workers: cfg.workers, progress: progress}
	var todo []item
	for _, it := range items {
		e, ok := led.done[it.ref]
		if !ok {
			todo = append(todo, it)
			continue
		}
		if e.SurveyRecordID != it.id {
			return BatchResult{}, fmt.Errorf("mailing: ledger %s records reference %s for survey record %s, not %s", ledgerPrefix, it.ref, e.SurveyRecordID, it.id)
		}
		if e.State == StateFailed {
			b.count(outFailed, it.id)
		} else {
			b.count(outAlready, it.id)
		}
	}
	var first error
	for start, n := 0, led.nextChunk; start < len(todo) && first == nil; start, n = start+cfg.chunk, n+1 {
		first = b.chunk(ctx, n, todo[start:min(start+cfg.chunk, len(todo))])
	}
	res := b.res
	sort.Strings(res.PermanentFailures)

	details := map[string]any{
		"channel": channel, "ledger_prefix": ledgerPrefix, "messages": len(items),
		"sent": res.Sent, "already_sent": res.AlreadySent, "failed": res.Failed, "complete": first == nil && ctx.Err() == nil,
		"ledger_objects_written": b.objects,
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		details["error"] = errorSummary(first)
	}
	audit.Record(ctx, channel+"_batch", details)
	if first != nil {
		return res, fmt.Errorf("mailing: %s batch %s stopped after %d of %d messages: %w", channel, ledgerPrefix, b.done, len(items), first)
	}
	return res, nil
}

type outcome int

const (
	outSent outcome = iota
	outAlready
	outFailed
)

type batch struct {
	st       store.Store
	find     func(context.Context, string) ([]notify.Notification, error)
	channel  string
	prefix   string
	pending  map[string]bool // in an intent record without an outcome: look at Notify first
	now      func() time.Time
	workers  int
	progress func(int)

	mu      sync.Mutex
	res     BatchResult
	done    int
	objects int // ledger objects written by this run
}

// count records one message's outcome; the caller must not hold b.mu.
func (b *batch) count(out outcome, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch out {
	case outSent:
		b.res.Sent++
	case outAlready:
		b.res.AlreadySent++
	case outFailed:
		b.res.Failed++
		b.res.PermanentFailures = append(b.res.PermanentFailures, id)
	}
	b.done++
	if b.progress != nil {
		b.progress(b.done)
	}
}

// chunk sends one chunk: its intent record first, then the messages, then the outcomes
// known, even when the chunk stopped part-way (so the re-run looks up only the
// messages that were in flight).
func (b *batch) chunk(ctx context.Context, n int, items []item) error {
	refs := make([]string, len(items))
	for i, it := range items {
		refs[i] = it.ref
	}
	if err := putJSON(ctx, b.st, schemas.SMSLedgerChunkKey(b.prefix, n, schemas.SMSLedgerIntent),
		ledgerIntent{Chunk: n, At: b.now().UTC(), References: refs}); err != nil {
		return err
	}
	b.objects++
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := range items {
			select {
			case jobs <- i:
			case <-wctx.Done():
				return
			}
		}
	}()
	var (
		mu      sync.Mutex
		entries []LedgerEntry
		outs    []outcome
		first   error
		wg      sync.WaitGroup
	)
	for range min(b.workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if wctx.Err() != nil {
					continue // drain
				}
				e, out, err := b.process(wctx, items[i])
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
						cancel(err)
					}
				} else {
					entries = append(entries, e)
					outs = append(outs, out)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	byRef := make(map[string]outcome, len(entries))
	for i, e := range entries {
		byRef[e.Reference] = outs[i]
	}
	if len(entries) > 0 {
		// The messages are out: record them even if ctx was cancelled meanwhile, so a
		// stop request does not widen the send-to-ledger gap.
		pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer pcancel()
		sort.Slice(entries, func(i, j int) bool { return entries[i].Reference < entries[j].Reference })
		if err := putJSON(pctx, b.st, schemas.SMSLedgerChunkKey(b.prefix, n, schemas.SMSLedgerDone),
			ledgerDone{Chunk: n, At: b.now().UTC(), Entries: entries}); err != nil {
			return err
		}
		b.objects++
	}
	// Counted only once recorded: a count is a promise the ledger keeps.
	for _, it := range items {
		if out, ok := byRef[it.ref]; ok {
			b.count(out, it.id)
		}
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// process deals with one message not yet in the ledger and says what happened.
func (b *batch) process(ctx context.Context, it item) (LedgerEntry, outcome, error) {
	entry := LedgerEntry{Reference: it.ref, SurveyRecordID: it.id, Channel: b.channel, State: StateSent}
	if b.pending[it.ref] {
		// Recorded as about to be sent, with no outcome: it may have reached Notify
		// just before the process stopped.
		found, err := b.find(ctx, it.ref)
		if err != nil {
			return entry, 0, fmt.Errorf("mailing: check reference %s at Notify: %w", it.ref, err)
		}
		if len(found) > 0 {
			oldest := found[len(found)-1]
			entry.NotificationID, entry.Recovered, entry.At = oldest.ID, true, b.now().UTC()
			return entry, outAlready, nil
		}
	}
	n, err := it.send(ctx)
	if err != nil {
		if notify.IsRecipientError(err) {
			entry.State, entry.Error, entry.At = StateFailed, errorSummary(err), b.now().UTC()
			return entry, outFailed, nil
		}
		return entry, 0, fmt.Errorf("mailing: send %s: %w", it.ref, err)
	}
	entry.NotificationID, entry.At = n.ID, b.now().UTC()
	return entry, outSent, nil
}

// SMSMessages builds one step's messages for the contacts that have a mobile number,
// with references Reference(wave, ics, id, step.Name) and the step's template.
// personalise, if not nil, gives each message's template fields.
func SMSMessages(wave, ics string, step Step, contacts []schemas.Contact, personalise func(schemas.Contact) map[string]string) ([]SMSMessage, error) {
	if step.Channel != ChannelSMS {
		return nil, fmt.Errorf("mailing: step %q is %s, not SMS", step.Name, step.Channel)
	}
	var out []SMSMessage
	for _, c := range contacts {
		if c.Mobile == "" {
			continue
		}
		m := SMSMessage{SurveyRecordID: c.SurveyRecordID, PhoneNumber: c.Mobile, TemplateID: step.Template,
			Reference: Reference(wave, ics, c.SurveyRecordID, step.Name)}
		if personalise != nil {
			m.Personalisation = personalise(c)
		}
		out = append(out, m)
	}
	return out, nil
}
