package mailing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
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

// LetterSender sends letters through Notify; *notify.Client implements it.
type LetterSender interface {
	SendLetter(ctx context.Context, l notify.Letter) (*notify.Notification, error)
	FindByReference(ctx context.Context, ref string) ([]notify.Notification, error)
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

func (m SMSMessage) String() string          { return "sms " + m.Reference }
func (m SMSMessage) LogValue() slog.Value    { return slog.StringValue(m.Reference) }
func (m SMSMessage) GoString() string        { return m.String() }
func (m LetterMessage) String() string       { return "letter " + m.Reference }
func (m LetterMessage) LogValue() slog.Value { return slog.StringValue(m.Reference) }
func (m LetterMessage) GoString() string     { return m.String() }

// LetterMessage is one letter of a batch sent through Notify. Personalisation holds
// the address lines (LetterAddress) and the template's fields.
type LetterMessage struct {
	SurveyRecordID  string
	TemplateID      string
	Personalisation map[string]string
	Reference       string
}

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
// limiter, not the worker count, bounds the request rate.
const DefaultWorkers = 4

// BatchOption adjusts a batch.
type BatchOption func(*batchConfig)

type batchConfig struct {
	workers int
	now     func() time.Time
}

// WithWorkers sets the number of concurrent sends (default DefaultWorkers).
func WithWorkers(n int) BatchOption { return func(c *batchConfig) { c.workers = max(1, n) } }

// SendSMSBatch sends each message at most once, even across crashes and re-runs, and
// at least once unless Notify refuses it for the recipient's details.
//
// The ledger under ledgerPrefix (in the restricted area) holds one object per reference,
// written as soon as the outcome of that reference is known. A re-run skips references
// in the ledger. For a reference not in the ledger it first asks Notify whether it
// already has a notification with that reference — the process may have stopped between
// the send and the ledger write — and sends only if not. A message Notify refuses for
// the recipient's details (not a mobile number) is recorded as failed and reported in
// PermanentFailures; any other error (authentication, unknown template, retries
// exhausted, a ledger write failing) stops the batch and is returned with the counts so
// far, and the batch can be re-run safely.
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

// SendLetterBatch is SendSMSBatch for letters sent through Notify, with the same
// ledger and guarantees. An address Notify would refuse (fewer than 3 lines, no
// postcode last) is recorded as failed without a request.
func SendLetterBatch(ctx context.Context, st store.Store, client LetterSender, ledgerPrefix string, msgs []LetterMessage,
	progress func(done int), opts ...BatchOption) (BatchResult, error) {
	items := make([]item, len(msgs))
	for i, m := range msgs {
		items[i] = item{ref: m.Reference, id: m.SurveyRecordID, send: func(ctx context.Context) (*notify.Notification, error) {
			return client.SendLetter(ctx, notify.Letter{TemplateID: m.TemplateID, Personalisation: m.Personalisation, Reference: m.Reference})
		}}
	}
	return runBatch(ctx, st, client.FindByReference, ChannelLetter, ledgerPrefix, items, progress, opts)
}

type item struct {
	ref, id string
	send    func(context.Context) (*notify.Notification, error)
}

type outcome int

const (
	outSent outcome = iota
	outAlready
	outFailed
)

func runBatch(ctx context.Context, st store.Store, find func(context.Context, string) ([]notify.Notification, error),
	channel, ledgerPrefix string, items []item, progress func(int), opts []BatchOption) (BatchResult, error) {
	cfg := batchConfig{workers: DefaultWorkers, now: time.Now}
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
	inLedger, err := ledgerKeys(ctx, st, ledgerPrefix)
	if err != nil {
		return BatchResult{}, err
	}

	b := &batch{st: st, find: find, channel: channel, prefix: ledgerPrefix, inLedger: inLedger, now: cfg.now}
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
		mu    sync.Mutex
		res   BatchResult
		done  int
		first error
		wg    sync.WaitGroup
	)
	for range min(cfg.workers, max(1, len(items))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if wctx.Err() != nil {
					continue // drain
				}
				out, err := b.process(wctx, items[i])
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
						cancel(err)
					}
					mu.Unlock()
					continue
				}
				switch out {
				case outSent:
					res.Sent++
				case outAlready:
					res.AlreadySent++
				case outFailed:
					res.Failed++
					res.PermanentFailures = append(res.PermanentFailures, items[i].id)
				}
				done++
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(res.PermanentFailures)

	details := map[string]any{
		"channel": channel, "ledger_prefix": ledgerPrefix, "messages": len(items),
		"sent": res.Sent, "already_sent": res.AlreadySent, "failed": res.Failed, "complete": first == nil && ctx.Err() == nil,
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		details["error"] = errorSummary(first)
	}
	audit.Record(ctx, channel+"_batch", details)
	if first != nil {
		return res, fmt.Errorf("mailing: %s batch %s stopped after %d of %d messages: %w", channel, ledgerPrefix, done, len(items), first)
	}
	return res, nil
}

type batch struct {
	st       store.Store
	find     func(context.Context, string) ([]notify.Notification, error)
	channel  string
	prefix   string
	inLedger map[string]bool
	now      func() time.Time
}

func (b *batch) process(ctx context.Context, it item) (outcome, error) {
	key := schemas.LedgerEntryKey(b.prefix, it.ref)
	if b.inLedger[key] {
		e, err := readEntry(ctx, b.st, key)
		if err != nil {
			return 0, err
		}
		if e.Reference != it.ref {
			return 0, fmt.Errorf("mailing: ledger entry %s is for reference %s, not %s", key, e.Reference, it.ref)
		}
		if e.State == StateFailed {
			return outFailed, nil
		}
		return outAlready, nil
	}
	// Not in the ledger: it may still have been sent just before a crash.
	found, err := b.find(ctx, it.ref)
	if err != nil {
		return 0, fmt.Errorf("mailing: check reference %s at Notify: %w", it.ref, err)
	}
	entry := LedgerEntry{Reference: it.ref, SurveyRecordID: it.id, Channel: b.channel, State: StateSent}
	if len(found) > 0 {
		oldest := found[len(found)-1]
		entry.NotificationID, entry.Recovered, entry.At = oldest.ID, true, b.now().UTC()
		if err := writeEntry(ctx, b.st, b.prefix, entry); err != nil {
			return 0, err
		}
		return outAlready, nil
	}
	n, err := it.send(ctx)
	if err != nil {
		if notify.IsRecipientError(err) {
			entry.State, entry.Error, entry.At = StateFailed, errorSummary(err), b.now().UTC()
			if werr := writeEntry(ctx, b.st, b.prefix, entry); werr != nil {
				return 0, werr
			}
			return outFailed, nil
		}
		return 0, fmt.Errorf("mailing: send %s: %w", it.ref, err)
	}
	entry.NotificationID, entry.At = n.ID, b.now().UTC()
	// The message is out: write the ledger even if ctx was cancelled meanwhile, so a
	// stop request does not widen the send-to-ledger gap.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := writeEntry(wctx, b.st, b.prefix, entry); err != nil {
		return 0, err
	}
	return outSent, nil
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

// LetterMessages builds one letter step's Notify messages: the address from
// LetterAddress plus personalise's fields (which may not override address lines).
func LetterMessages(wave, ics string, step Step, contacts []schemas.Contact, personalise func(schemas.Contact) map[string]string) ([]LetterMessage, error) {
	if step.Channel != ChannelLetter {
		return nil, fmt.Errorf("mailing: step %q is %s, not a letter", step.Name, step.Channel)
	}
	out := make([]LetterMessage, 0, len(contacts))
	for _, c := range contacts {
		p := LetterAddress(c)
		if personalise != nil {
			for k, v := range personalise(c) {
				if _, clash := p[k]; clash || strings.HasPrefix(k, "address_line_") {
					return nil, errors.New("mailing: personalisation may not set address lines")
				}
				p[k] = v
			}
		}
		out = append(out, LetterMessage{SurveyRecordID: c.SurveyRecordID, TemplateID: step.Template, Personalisation: p,
			Reference: Reference(wave, ics, c.SurveyRecordID, step.Name)})
	}
	return out, nil
}
