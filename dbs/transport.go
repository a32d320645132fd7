package dbs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Transport carries a DBS request to DBS and its reply back.
type Transport interface {
	// Submit sends body as request requestID. It is idempotent for one requestID:
	// a repeated Submit (an activity retry) does not send a second request.
	Submit(ctx context.Context, requestID string, body []byte) error
	// Fetch returns the reply to requestID once it has arrived (ready=true), or
	// ready=false while it has not. Fetching a reply again returns it again.
	Fetch(ctx context.Context, requestID string) (reply []byte, ready bool, err error)
}

// ErrNotSubmitted is returned (wrapped) by Fetch for a request that was never
// submitted: a fault.Conflict an operator resolves.
var ErrNotSubmitted = fault.New(fault.Conflict, "dbs: request was never submitted")

// ErrSubmitConflict is returned (wrapped) when a request ID is submitted again with
// a different body: a fault.Conflict.
var ErrSubmitConflict = fault.New(fault.Conflict, "dbs: request ID already submitted with a different body")

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidRequestID checks that id is usable as a DBS request ID: it names store keys,
// files and the MESH local ID, so it is 1–100 letters, digits, '.', '_' or '-'. Any
// other is a fault.BadInput: no retry makes it valid.
func ValidRequestID(id string) error {
	if !requestIDPattern.MatchString(id) || strings.Contains(id, "..") {
		return fault.Errorf(fault.BadInput, "dbs: invalid request ID %q (want 1-100 of A-Z a-z 0-9 . _ -)", id)
	}
	return nil
}

// IsPermanent reports whether err will not go away by retrying (fault.IsPermanent): a
// malformed or mismatched reply, a conflicting or in-doubt submission, a delivery
// failure report, or a MESH refusal that is not retryable (e.g. authentication). An
// activity should fail without retry and raise it to an operator.
func IsPermanent(err error) bool { return fault.IsPermanent(err) }

// FileDropTransport exchanges files through two prefixes of a store: the request
// goes to {Outbox}/{requestID}.csv and the reply is expected at
// {Inbox}/{requestID}.csv. Both must be restricted prefixes.
type FileDropTransport struct {
	Store  store.Store
	Outbox string
	Inbox  string
}

func (t *FileDropTransport) key(prefix, requestID string) string {
	return schemas.FileDropKey(prefix, requestID)
}

// Submit implements Transport: it writes the request once; a repeat with the same
// body is a no-op and with a different body is ErrSubmitConflict.
func (t *FileDropTransport) Submit(ctx context.Context, requestID string, body []byte) error {
	if err := ValidRequestID(requestID); err != nil {
		return err
	}
	key := t.key(t.Outbox, requestID)
	prev, err := store.ReadAll(ctx, t.Store, key)
	switch {
	case err == nil && bytes.Equal(prev, body):
		return nil
	case err == nil:
		return fmt.Errorf("dbs: file drop %s: %w", requestID, ErrSubmitConflict)
	case !errors.Is(err, store.ErrNotExist):
		return fmt.Errorf("dbs: file drop %s: check outbox: %w", requestID, err)
	}
	if err := store.PutBytes(ctx, t.Store, key, body); err != nil {
		return fmt.Errorf("dbs: file drop %s: write request: %w", requestID, err)
	}
	return nil
}

// Fetch implements Transport.
func (t *FileDropTransport) Fetch(ctx context.Context, requestID string) ([]byte, bool, error) {
	if err := ValidRequestID(requestID); err != nil {
		return nil, false, err
	}
	b, err := store.ReadAll(ctx, t.Store, t.key(t.Inbox, requestID))
	if errors.Is(err, store.ErrNotExist) {
		ok, serr := store.Exists(ctx, t.Store, t.key(t.Outbox, requestID))
		if serr != nil {
			return nil, false, fmt.Errorf("dbs: file drop %s: check outbox: %w", requestID, serr)
		}
		if !ok {
			return nil, false, fmt.Errorf("dbs: file drop %s: %w", requestID, ErrNotSubmitted)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("dbs: file drop %s: read reply: %w", requestID, err)
	}
	return b, true, nil
}

// Request returns the request body submitted as requestID (for a responder).
func (t *FileDropTransport) Request(ctx context.Context, requestID string) ([]byte, error) {
	b, err := store.ReadAll(ctx, t.Store, t.key(t.Outbox, requestID))
	if err != nil {
		return nil, fmt.Errorf("dbs: file drop %s: read request: %w", requestID, err)
	}
	return b, nil
}

// PutReply stores reply as the answer to requestID (for a responder).
func (t *FileDropTransport) PutReply(ctx context.Context, requestID string, reply []byte) error {
	if err := store.PutBytes(ctx, t.Store, t.key(t.Inbox, requestID), reply); err != nil {
		return fmt.Errorf("dbs: file drop %s: write reply: %w", requestID, err)
	}
	return nil
}

// Forgetter is a Transport that keeps copies of a request or its reply in the
// pipeline's own store (a file drop's outbox and inbox, the MESH ledger). At retention
// the ICS's requests are forgotten: those copies hold NHS numbers, names and dates of
// birth. Forgetting a request twice, or one never sent, deletes nothing.
type Forgetter interface {
	Forget(ctx context.Context, requestID string) (deleted []string, err error)
}

// Forget implements Forgetter: the request in the outbox and the reply in the inbox go.
func (t *FileDropTransport) Forget(ctx context.Context, requestID string) ([]string, error) {
	if err := ValidRequestID(requestID); err != nil {
		return nil, err
	}
	return deleteExisting(ctx, t.Store, t.key(t.Outbox, requestID), t.key(t.Inbox, requestID))
}

// deleteExisting deletes those of keys that exist and names them.
func deleteExisting(ctx context.Context, st store.Store, keys ...string) ([]string, error) {
	var deleted []string
	for _, k := range keys {
		ok, err := store.Exists(ctx, st, k)
		if err != nil {
			return deleted, fmt.Errorf("dbs: forget %s: %w", k, err)
		}
		if !ok {
			continue
		}
		if err := st.Delete(ctx, k); err != nil {
			return deleted, fmt.Errorf("dbs: forget %s: %w", k, err)
		}
		deleted = append(deleted, k)
	}
	return deleted, nil
}
