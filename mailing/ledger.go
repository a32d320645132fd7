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

// LedgerEntry is the durable record that one message reference has been dealt with.
// One small object per reference (schemas.LedgerEntryKey), written once the outcome is known.
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
	// DeliveryStatus is the latest Notify status seen by RefreshDeliveryStatus.
	DeliveryStatus  string     `json:"delivery_status,omitempty"`
	StatusCheckedAt *time.Time `json:"status_checked_at,omitempty"`
}

func writeEntry(ctx context.Context, st store.Store, prefix string, e LedgerEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("mailing: encode ledger entry %s: %w", e.Reference, err)
	}
	key := schemas.LedgerEntryKey(prefix, e.Reference)
	if err := store.PutBytes(ctx, st, key, append(b, '\n')); err != nil {
		return fmt.Errorf("mailing: write ledger entry %s: %w", key, err)
	}
	return nil
}

func readEntry(ctx context.Context, st store.Store, key string) (LedgerEntry, error) {
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		return LedgerEntry{}, fmt.Errorf("mailing: read ledger entry: %w", err)
	}
	var e LedgerEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return LedgerEntry{}, fmt.Errorf("mailing: decode ledger entry %s: %w", key, err)
	}
	if e.State != StateSent && e.State != StateFailed {
		return LedgerEntry{}, fmt.Errorf("mailing: ledger entry %s has unknown state %q", key, e.State)
	}
	return e, nil
}

// ReadLedger returns every entry under prefix, sorted by reference.
func ReadLedger(ctx context.Context, st store.Store, prefix string) ([]LedgerEntry, error) {
	keys, err := ledgerKeys(ctx, st, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]LedgerEntry, 0, len(keys))
	for k := range keys {
		e, err := readEntry(ctx, st, k)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference < out[j].Reference })
	return out, nil
}

// ledgerKeys lists the ledger's entries: objects directly under prefix ending .json.
func ledgerKeys(ctx context.Context, st store.Store, prefix string) (map[string]bool, error) {
	prefix = normPrefix(prefix)
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("mailing: list ledger %s: %w", prefix, err)
	}
	keys := make(map[string]bool, len(infos))
	for _, in := range infos {
		rest := strings.TrimPrefix(in.Key, prefix)
		if schemas.IsLedgerEntry(rest) {
			keys[in.Key] = true
		}
	}
	return keys, nil
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
