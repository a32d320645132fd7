package mailing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/notify"
	"icesurvey/retention"
	"icesurvey/schemas"
	"icesurvey/store"
)

// ReceiptSource is what fetching delivery receipts needs from GOV.UK Notify
// (*notify.Client implements it): the list endpoint, paged, and GET by id for what the
// listing no longer shows.
type ReceiptSource interface {
	List(ctx context.Context, f notify.ListFilter, fn func(notify.Notification) error) error
	Get(ctx context.Context, id string) (*notify.Notification, error)
}

// ReceiptsRequest names one SMS step whose delivery receipts are wanted.
type ReceiptsRequest struct {
	Wave, ICS string
	Step      string
}

// ReceiptsResult is what the receipts of one SMS step say.
type ReceiptsResult struct {
	// Messages is the number of messages of the step in its mailing history.
	Messages int `json:"messages"`
	// Delivered, PermanentFailures, TemporaryFailures and InFlight count the step's
	// messages by their result after this fetch (Refused: refused at send time).
	Delivered         int `json:"delivered"`
	PermanentFailures int `json:"permanent_failures"`
	TemporaryFailures int `json:"temporary_failures"`
	InFlight          int `json:"in_flight"`
	Refused           int `json:"refused"`
	// Expired counts messages Notify no longer holds (404 NoResultFound: deleted after
	// the service's data retention period), recorded as receipt-expired: their result
	// is unknown for good, and they count as sent.
	Expired int `json:"expired,omitempty"`
	// Listed is the number of notifications read from the list endpoint, Fetched the
	// number fetched one by one (GET by id) because the listing did not show them.
	Listed  int `json:"listed"`
	Fetched int `json:"fetched"`
	// SeenByOthers is the number of statuses taken from what other ICSs' listings read
	// on the shared key (schemas.SMSReceiptsSeenKey), not listed again.
	SeenByOthers int `json:"seen_by_others,omitempty"`
	// Changed is the number of messages whose result this fetch changed.
	Changed int `json:"changed"`
	// Objects is the step's mailing history, rewritten with the receipts, for the
	// warehouse (nil when nothing changed).
	Objects []schemas.LakeObject `json:"objects,omitempty"`
}

// Final reports whether no message of the step can change any more: a later fetch
// would find nothing new.
func (r ReceiptsResult) Final() bool { return r.InFlight == 0 }

// ReceiptsAfterDays is how many days after an SMS step is sent its delivery receipts
// are first fetched. GOV.UK Notify keeps trying a phone that is off for 72 hours before
// it says temporary-failure, so most receipts are final by then; and it deletes every
// message after the service's data retention period, 7 days by default (3 to 90 as the
// service chooses), after which a receipt can no longer be read (receipt-expired).
// Four days falls between the two. A service whose retention is set below 4 days loses
// its receipts: keep it at 7 or more.
const ReceiptsAfterDays = 4

// listSlack is how much earlier than the step's first ledger record a notification may
// be stamped by Notify's clock and still be one of the step's.
const listSlack = time.Hour

var errListedEnough = errors.New("listed enough")

// FetchReceipts reads the delivery status of every message of one SMS step whose result
// is not final, and writes the results into the step's mailing history
// (schemas.MailingHistoryKey): permanent-failure (the person gets no more SMS: the
// warehouse's selection excludes them), temporary-failure (the next step tries again;
// nothing is re-sent within the step) or delivered. Statuses come from the list
// endpoint, newest first in pages of 250, until every message is found or the listing
// reaches notifications older than the step; what the listing did not show is fetched
// by id. A message Notify no longer holds (404 NoResultFound, deleted after the
// service's data retention period, 7 days by default) becomes receipt-expired: its
// result is unknown for good, and the step goes on; any other error of the read (a
// rejected key, a server error) is returned. It can be run any number of times; a
// message whose result is final is not asked about again. One Notify key serves every
// ICS, so the listing reads other ICSs' messages too: their final statuses are kept
// for them (schemas.SMSReceiptsSeenKey), and an ICS's fetch takes its own from there
// before it lists (ReceiptsResult.SeenByOthers), listing only for what is still missing.
func FetchReceipts(ctx context.Context, st store.Store, src ReceiptSource, req ReceiptsRequest) (ReceiptsResult, error) {
	var res ReceiptsResult
	if src == nil {
		return res, fault.New(fault.Configuration, "mailing: no GOV.UK Notify client configured for delivery receipts")
	}
	key := schemas.MailingHistoryKey(req.Wave, req.ICS, req.Step)
	var history []schemas.MailingEvent
	err := lake.Scan(ctx, st, key, schemas.MailingEventLayout(), func(e *schemas.MailingEvent) error {
		history = append(history, *e)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("mailing: receipts of %s: read its mailing history: %w", req.Step, err)
	}
	entries, err := ReadLedger(ctx, st, schemas.SMSLedgerPrefix(req.Wave, req.ICS, req.Step))
	if err != nil {
		return res, err
	}
	idByRef := make(map[string]string, len(entries))
	var earliest time.Time
	for _, e := range entries {
		if e.State == StateSent && e.NotificationID != "" {
			idByRef[e.Reference] = strings.ToLower(e.NotificationID)
			if earliest.IsZero() || e.At.Before(earliest) {
				earliest = e.At
			}
		}
	}
	// want: notification id → index in history, for messages without a final result.
	want := map[string]int{}
	for i, ev := range history {
		if ev.Channel != ChannelSMS {
			return res, fmt.Errorf("mailing: receipts of %s: message %s is a %s, not an SMS", req.Step, ev.Reference, ev.Channel)
		}
		if ev.Result != schemas.ResultSent {
			continue
		}
		if id, ok := idByRef[ev.Reference]; ok {
			want[id] = i
		}
	}
	status := map[int]string{}
	expired := map[int]bool{}
	// Final statuses another ICS's listing read for this step (the key is shared): not
	// listed again.
	seenByOthers, err := readReceiptsSeen(ctx, st, schemas.SMSReceiptsSeenKey(req.Wave, req.ICS, req.Step))
	if err != nil {
		return res, err
	}
	for id, i := range want {
		if s, ok := seenByOthers[id]; ok {
			status[i] = s
			res.SeenByOthers++
		}
	}
	if len(status) < len(want) {
		cutoff := earliest.Add(-listSlack)
		others := receiptsSeen{}
		err := src.List(ctx, notify.ListFilter{TemplateType: notify.TypeSMS}, func(n notify.Notification) error {
			res.Listed++
			id := strings.ToLower(n.ID)
			if i, ok := want[id]; ok {
				if _, known := status[i]; !known {
					status[i] = n.Status
					if len(status) == len(want) {
						return errListedEnough
					}
				}
			} else {
				others.add(req, id, n)
			}
			if n.CreatedAt != nil && n.CreatedAt.Before(cutoff) {
				return errListedEnough // newest first: the rest is older than the step
			}
			return nil
		})
		if err != nil && !errors.Is(err, errListedEnough) {
			return res, fmt.Errorf("mailing: receipts of %s: list notifications: %w", req.Step, err)
		}
		if err := others.store(ctx, st, req.Wave); err != nil {
			return res, err
		}
		for id, i := range want {
			if _, ok := status[i]; ok {
				continue
			}
			n, err := src.Get(ctx, id)
			if notify.IsNotFound(err) {
				// Deleted after Notify's data retention: nothing more can be learnt of it,
				// and one message is no reason to stop the ICS's fieldwork.
				expired[i] = true
				continue
			}
			if err != nil {
				return res, fmt.Errorf("mailing: receipts of %s: status of %s: %w", req.Step, history[i].Reference, err)
			}
			res.Fetched++
			status[i] = n.Status
		}
	}
	for i, s := range status {
		result, final := ReceiptResult(s)
		if !final {
			continue // in flight (or a status this client does not know): ask again later
		}
		history[i].Result = result
		res.Changed++
	}
	for i := range expired {
		history[i].Result = schemas.ResultReceiptExpired
		res.Changed++
	}
	res.Messages = len(history)
	for _, ev := range history {
		switch ev.Result {
		case schemas.ResultDelivered:
			res.Delivered++
		case schemas.ResultPermanentFailure:
			if _, sent := idByRef[ev.Reference]; sent {
				res.PermanentFailures++
			} else {
				res.Refused++
			}
		case schemas.ResultTemporaryFailure:
			res.TemporaryFailures++
		case schemas.ResultReceiptExpired:
			res.Expired++
		default:
			res.InFlight++
		}
	}
	if res.Changed > 0 {
		if err := lake.PutRows(ctx, st, key, schemas.MailingEventLayout(), history); err != nil {
			return res, err
		}
		res.Objects = []schemas.LakeObject{schemas.LakeMailingHistory.Object(key)}
	}
	audit.Record(ctx, "delivery_receipts", map[string]any{"step": req.Step, "messages": res.Messages,
		"delivered": res.Delivered, "permanent_failures": res.PermanentFailures, "temporary_failures": res.TemporaryFailures,
		"in_flight": res.InFlight, "refused": res.Refused, "expired": res.Expired, "listed": res.Listed, "fetched": res.Fetched, "changed": res.Changed,
		"seen_by_others": res.SeenByOthers})
	return res, nil
}

// ReceiptResult is the mailing history's result for a Notify status of an SMS, and
// whether it is final; an SMS in flight (or in a status this client does not know)
// keeps its "sent".
func ReceiptResult(status string) (result string, final bool) {
	switch notify.Classify(status) {
	case notify.OutcomeDelivered:
		return schemas.ResultDelivered, true
	case notify.OutcomePermanentFailure:
		return schemas.ResultPermanentFailure, true
	case notify.OutcomeRetryNextStep:
		return schemas.ResultTemporaryFailure, true
	}
	return schemas.ResultSent, false
}

// receiptsSeen are the final statuses a listing read of other ICSs' messages of the
// same wave, by ICS and step, then notification id. One Notify key serves every ICS,
// and a listing newest first reads every ICS's messages sent since its own step began:
// at national size (42 ICSs) each ICS listing them all again was some 14,000 requests a
// pass. Only final statuses are kept, which never change, so a status read from here is
// as good as one listed now, however old; an entry lost to two listings writing at once
// is only listed again.
type receiptsSeen map[[2]string]map[string]string

// keySegment is what an ICS code or step name from a listed reference must look like
// to name a store key: a reference is read back from Notify, not trusted.
var keySegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// add keeps n's status if it is final and n is a message of another ICS of req's wave.
func (r receiptsSeen) add(req ReceiptsRequest, id string, n notify.Notification) {
	if _, final := ReceiptResult(n.Status); !final || n.Reference == "" {
		return
	}
	wave, ics, _, step, err := ParseReference(n.Reference)
	if err != nil || wave != req.Wave || ics == req.ICS || !keySegment.MatchString(ics) || !keySegment.MatchString(step) {
		return // another service's, another wave's, ours (asked for by id), or not a key's
	}
	k := [2]string{ics, step}
	if r[k] == nil {
		r[k] = map[string]string{}
	}
	r[k][id] = n.Status
}

// store merges what was seen into each ICS's record of it, unless that ICS's retention
// has begun (its restricted area is being deleted: nothing is written there again).
// The retention writes its lineage before it lists what to delete, so a record written
// as it began is either listed and deleted by it or found here afterwards and deleted.
func (r receiptsSeen) store(ctx context.Context, st store.Store, wave string) error {
	for k, seen := range r {
		if begun, err := retention.Started(ctx, st, wave, k[0]); err != nil {
			return fmt.Errorf("mailing: receipts seen for %s: %w", k[0], err)
		} else if begun {
			continue
		}
		key := schemas.SMSReceiptsSeenKey(wave, k[0], k[1])
		had, err := readReceiptsSeen(ctx, st, key)
		if err != nil {
			return err
		}
		n := len(had)
		maps.Copy(had, seen)
		if len(had) == n {
			continue
		}
		b, err := json.Marshal(had)
		if err != nil {
			return fmt.Errorf("mailing: encode %s: %w", key, err)
		}
		if err := store.PutBytes(ctx, st, key, b); err != nil {
			return fmt.Errorf("mailing: store %s: %w", key, err)
		}
		if begun, err := retention.Started(ctx, st, wave, k[0]); err != nil {
			return fmt.Errorf("mailing: receipts seen for %s: %w", k[0], err)
		} else if begun {
			if err := st.Delete(ctx, key); err != nil {
				return fmt.Errorf("mailing: delete %s, written as %s's retention began: %w", key, k[0], err)
			}
		}
	}
	return nil
}

// readReceiptsSeen reads the statuses other ICSs' listings saw (none when there is no
// record).
func readReceiptsSeen(ctx context.Context, st store.Store, key string) (map[string]string, error) {
	out := map[string]string{}
	b, err := store.ReadAll(ctx, st, key)
	if errors.Is(err, store.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailing: read %s: %w", key, err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("mailing: %s: %w", key, err)
	}
	return out, nil
}
