package mailing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"icesurvey/notify"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Ledger states.
const (
	// StateSent: Notify has a notification for the reference (sent by us, or found
	// there after a crash between the send and the ledger write).
	StateSent = "sent"
	// StateFailed: Notify refused the message for this recipient's details (a number
	// that is not a mobile, an address without a postcode). It is never retried.
	StateFailed = "failed"
)

// The ledger of one step (schemas.SMSLedgerPrefix) is written in chunks, a handful of
// objects per step rather than one per message (#13 item 8):
//
//   - before any message of a chunk is sent, its references are written in the chunk's
//     intent record (schemas.SMSLedgerIntent);
//   - once the outcome of every message of the chunk is known (or the batch stops), the
//     outcomes are written in its done record (schemas.SMSLedgerDone).
//
// A reference in an intent without an outcome in any done record may have reached
// Notify just before a crash: a re-run asks Notify for it by reference before sending
// (and only for those, so a clean run makes one request per message). A reference in
// no intent was never sent. So nothing is sent twice however the worker dies.
//
// Ledgers written one object per reference by earlier versions (schemas.LedgerEntryKey)
// are still read, as outcomes.

// LedgerEntry is the durable record that one message reference has been dealt with: a
// row of a chunk's done record (or, in older ledgers, an object of its own).
type LedgerEntry struct {
	Reference      string `json:"reference"`
	SurveyRecordID string `json:"survey_record_id"`
	Channel        string `json:"channel"`
	State          string `json:"state"`
	NotificationID string `json:"notification_id,omitempty"`
	// Recovered is true when the send was found at Notify by reference on a re-run,
	// i.e. the process stopped after sending and before writing this entry.
	Recovered bool `json:"recovered,omitempty"`
	// Error is Notify's reason for a failed entry (error kind and message).
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// ledgerIntent is a chunk's intent record.
type ledgerIntent struct {
	Chunk      int       `json:"chunk"`
	At         time.Time `json:"at"`
	References []string  `json:"references"`
}

// ledgerDone is a chunk's done record.
type ledgerDone struct {
	Chunk   int           `json:"chunk"`
	At      time.Time     `json:"at"`
	Entries []LedgerEntry `json:"entries"`
}

// ledgerState is what a ledger says: the outcome of each reference dealt with, the
// references that may have been sent without an outcome recorded, and the next chunk.
type ledgerState struct {
	done    map[string]LedgerEntry
	pending map[string]bool
	// pendingSince is when the latest chunk with pending references was begun.
	pendingSince time.Time
	nextChunk    int
	objects      int
}

func putJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("mailing: encode %s: %w", key, err)
	}
	if err := store.PutBytes(ctx, st, key, append(b, '\n')); err != nil {
		return fmt.Errorf("mailing: write ledger %s: %w", key, err)
	}
	return nil
}

func getJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		return fmt.Errorf("mailing: read ledger %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("mailing: decode ledger %s: %w", key, err)
	}
	return nil
}

func checkEntry(key string, e LedgerEntry) error {
	if e.Reference == "" || e.SurveyRecordID == "" {
		return fmt.Errorf("mailing: ledger %s has an entry without a reference or survey record id", key)
	}
	if e.State != StateSent && e.State != StateFailed {
		return fmt.Errorf("mailing: ledger %s: entry %s has unknown state %q", key, e.Reference, e.State)
	}
	return nil
}

// readLedger reads every record under prefix.
func readLedger(ctx context.Context, st store.Store, prefix string) (ledgerState, error) {
	prefix = normPrefix(prefix)
	s := ledgerState{done: map[string]LedgerEntry{}, pending: map[string]bool{}}
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return s, fmt.Errorf("mailing: list ledger %s: %w", prefix, err)
	}
	type chunkKey struct {
		n   int
		key string
	}
	var intents, dones []chunkKey
	for _, in := range infos {
		rest := strings.TrimPrefix(in.Key, prefix)
		if n, rec, ok := schemas.ParseSMSLedgerChunk(rest); ok {
			s.nextChunk = max(s.nextChunk, n+1)
			if rec == schemas.SMSLedgerIntent {
				intents = append(intents, chunkKey{n, in.Key})
			} else {
				dones = append(dones, chunkKey{n, in.Key})
			}
			continue
		}
		if schemas.IsLedgerEntry(rest) { // a per-reference entry of an older ledger
			var e LedgerEntry
			if err := getJSON(ctx, st, in.Key, &e); err != nil {
				return s, err
			}
			if err := checkEntry(in.Key, e); err != nil {
				return s, err
			}
			s.done[e.Reference] = e
			s.objects++
		}
	}
	sort.Slice(dones, func(i, j int) bool { return dones[i].n < dones[j].n })
	for _, d := range dones {
		var rec ledgerDone
		if err := getJSON(ctx, st, d.key, &rec); err != nil {
			return s, err
		}
		for _, e := range rec.Entries {
			if err := checkEntry(d.key, e); err != nil {
				return s, err
			}
			s.done[e.Reference] = e
		}
		s.objects++
	}
	for _, c := range intents {
		var rec ledgerIntent
		if err := getJSON(ctx, st, c.key, &rec); err != nil {
			return s, err
		}
		for _, ref := range rec.References {
			if _, ok := s.done[ref]; !ok {
				s.pending[ref] = true
				if rec.At.After(s.pendingSince) {
					s.pendingSince = rec.At
				}
			}
		}
		s.objects++
	}
	return s, nil
}

// ReadLedger returns the outcome of every reference the ledger under prefix records,
// sorted by reference.
func ReadLedger(ctx context.Context, st store.Store, prefix string) ([]LedgerEntry, error) {
	s, err := readLedger(ctx, st, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]LedgerEntry, 0, len(s.done))
	for _, e := range s.done {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference < out[j].Reference })
	return out, nil
}

// LedgerObjects counts the objects of the ledger under prefix (the store writes a
// step's SMS cost).
func LedgerObjects(ctx context.Context, st store.Store, prefix string) (int, error) {
	s, err := readLedger(ctx, st, prefix)
	return s.objects, err
}

// longDigits matches anything that could be a phone number, so it never reaches the
// ledger or a log even if an error message were ever to echo one.
var longDigits = regexp.MustCompile(`\+?\d[\d ()-]{5,}\d`)

func errorSummary(err error) string {
	var ae *notify.APIError
	var ve *notify.ValidationError
	var s string
	switch {
	case errors.As(err, &ae):
		parts := make([]string, 0, len(ae.Errors))
		for _, it := range ae.Errors {
			parts = append(parts, it.Error+": "+it.Message)
		}
		s = fmt.Sprintf("HTTP %d %s", ae.Status, strings.Join(parts, "; "))
	case errors.As(err, &ve):
		s = "local validation: " + ve.Field + ": " + ve.Message
	default:
		s = err.Error()
	}
	return longDigits.ReplaceAllString(s, "[number]")
}
