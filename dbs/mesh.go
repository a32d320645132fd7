package dbs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"icesurvey/fault"
	"icesurvey/mesh"
	"icesurvey/schemas"
	"icesurvey/store"
)

// MESH defaults. DBS's real workflow IDs and mailbox come from the DBS onboarding
// pack; these are configurable and the defaults are assumptions.
const (
	// DefaultRequestWorkflow is the Mex-WorkflowID of a DBS batch trace request.
	DefaultRequestWorkflow = "SPINE_PDS_MESH_V1"
	// DefaultLedgerPrefix is where MESHTransport keeps its per-request ledger. It is
	// restricted because it holds the reply until Collect has stored it.
	DefaultLedgerPrefix = schemas.DBSMeshLedgerPrefix
)

// ErrSubmitInDoubt is returned (wrapped) when an earlier attempt to send a request
// failed in a way that leaves unknown whether MESH accepted it (e.g. the connection
// dropped after the body was sent). The request is not sent again automatically: an
// operator checks MESH tracking, then calls MarkSent or ForgetAttempt.
// It is a fault.Conflict.
var ErrSubmitInDoubt = fault.New(fault.Conflict, "dbs: an earlier send of this request may have reached MESH; not sending it again")

// DeliveryReportError is MESH reporting that a request could not be delivered
// (a REPORT message linked to it, with Mex-StatusSuccess other than SUCCESS).
type DeliveryReportError struct {
	RequestID   string
	MessageID   string // the report's message ID
	Code        string
	Description string
}

// FaultKind implements fault.Classified: an undeliverable request is a
// configuration problem (the mailbox or workflow ID), never fixed by a retry.
func (e *DeliveryReportError) FaultKind() fault.Kind { return fault.Configuration }

func (e *DeliveryReportError) Error() string {
	return fmt.Sprintf("dbs: MESH could not deliver request %s (report %s, code %s): %s", e.RequestID, e.MessageID, e.Code, e.Description)
}

// MESHTransport sends DBS requests from our MESH mailbox to the DBS mailbox and
// picks the replies out of our inbox.
//
// Requests are sent with Mex-LocalID = requestID and file name {requestID}.csv. A
// reply is recognised by Mex-LocalID = requestID (DBS is assumed to echo it), or by
// Mex-LinkedMsgID naming the message we sent; if ReplyWorkflowID is set, only DATA
// messages of that workflow count.
//
// A ledger in a store makes Submit idempotent across process restarts (intent →
// sent records per request) and makes Fetch safe: the reply is written to the
// ledger before the MESH message is acknowledged, so a crash between the two never
// loses it, and a later Fetch returns it again.
type MESHTransport struct {
	Client          *mesh.Client
	DBSMailbox      string // Mex-To
	WorkflowID      string // DefaultRequestWorkflow when empty
	ReplyWorkflowID string // optional filter on replies
	Ledger          store.Store
	LedgerPrefix    string // DefaultLedgerPrefix when empty

	mu   sync.Mutex
	meta map[string]mesh.Headers // inbox message ID → headers, for messages not ours
}

type ledgerIntent struct {
	At     time.Time `json:"at"`
	SHA256 string    `json:"sha256"`
}

type ledgerSent struct {
	MessageID string    `json:"message_id"`
	SentAt    time.Time `json:"sent_at"`
	SHA256    string    `json:"sha256"`
}

type ledgerReply struct {
	MessageID    string `json:"message_id"`
	Acknowledged bool   `json:"acknowledged"`
}

func (t *MESHTransport) key(requestID, name string) string {
	p := t.LedgerPrefix
	if p == "" {
		p = DefaultLedgerPrefix
	}
	return schemas.DBSLedgerKey(p, requestID, name)
}

func (t *MESHTransport) readJSON(ctx context.Context, key string, v any) (bool, error) {
	b, err := store.ReadAll(ctx, t.Ledger, key)
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dbs: mesh ledger: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("dbs: mesh ledger %s: %w", key, err)
	}
	return true, nil
}

func (t *MESHTransport) writeJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("dbs: mesh ledger %s: %w", key, err)
	}
	if err := store.PutBytes(ctx, t.Ledger, key, b); err != nil {
		return fmt.Errorf("dbs: mesh ledger: %w", err)
	}
	return nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (t *MESHTransport) check() error {
	if t.Client == nil || t.Ledger == nil || t.DBSMailbox == "" {
		return fault.New(fault.Configuration, "dbs: MESHTransport needs Client, Ledger and DBSMailbox")
	}
	return nil
}

// Submit implements Transport.
func (t *MESHTransport) Submit(ctx context.Context, requestID string, body []byte) error {
	if err := ValidRequestID(requestID); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	sum := digest(body)
	var sent ledgerSent
	if ok, err := t.readJSON(ctx, t.key(requestID, schemas.DBSLedgerSent), &sent); err != nil {
		return err
	} else if ok {
		if sent.SHA256 != sum {
			return fmt.Errorf("dbs: mesh submit %s: %w", requestID, ErrSubmitConflict)
		}
		return nil
	}
	var intent ledgerIntent
	if ok, err := t.readJSON(ctx, t.key(requestID, schemas.DBSLedgerIntent), &intent); err != nil {
		return err
	} else if ok {
		if intent.SHA256 != sum {
			return fmt.Errorf("dbs: mesh submit %s: %w", requestID, ErrSubmitConflict)
		}
		return fmt.Errorf("dbs: mesh submit %s (attempt started %s): %w", requestID, intent.At.Format(time.RFC3339), ErrSubmitInDoubt)
	}
	if err := t.writeJSON(ctx, t.key(requestID, schemas.DBSLedgerIntent), ledgerIntent{At: time.Now().UTC(), SHA256: sum}); err != nil {
		return err
	}
	wf := t.WorkflowID
	if wf == "" {
		wf = DefaultRequestWorkflow
	}
	msgID, err := t.Client.Send(ctx, t.DBSMailbox, wf, requestID+".csv", body, mesh.WithLocalID(requestID))
	if err != nil {
		var me *mesh.Error
		if errors.As(err, &me) && (me.Status != 0 || !me.Dialed) {
			// MESH answered with an error, or we never connected: nothing was
			// delivered, so a retry may send afresh.
			if derr := t.Ledger.Delete(ctx, t.key(requestID, schemas.DBSLedgerIntent)); derr != nil {
				return fmt.Errorf("dbs: mesh submit %s: %w (and clearing the attempt failed: %v)", requestID, err, derr)
			}
		}
		return fmt.Errorf("dbs: mesh submit %s: %w", requestID, err)
	}
	if err := t.writeJSON(ctx, t.key(requestID, schemas.DBSLedgerSent), ledgerSent{MessageID: msgID, SentAt: time.Now().UTC(), SHA256: sum}); err != nil {
		return fmt.Errorf("dbs: mesh submit %s: sent as message %s but not recorded: %w", requestID, msgID, err)
	}
	return nil
}

// MarkSent resolves an in-doubt submission that MESH tracking shows was accepted
// as messageID: the request counts as sent and is not sent again.
func (t *MESHTransport) MarkSent(ctx context.Context, requestID, messageID string, body []byte) error {
	if err := ValidRequestID(requestID); err != nil {
		return err
	}
	return t.writeJSON(ctx, t.key(requestID, schemas.DBSLedgerSent), ledgerSent{MessageID: messageID, SentAt: time.Now().UTC(), SHA256: digest(body)})
}

// ForgetAttempt resolves an in-doubt submission that MESH tracking shows never
// arrived: the next Submit sends the request.
func (t *MESHTransport) ForgetAttempt(ctx context.Context, requestID string) error {
	if err := ValidRequestID(requestID); err != nil {
		return err
	}
	if err := t.Ledger.Delete(ctx, t.key(requestID, schemas.DBSLedgerIntent)); err != nil {
		return fmt.Errorf("dbs: mesh ledger: %w", err)
	}
	return nil
}

// Fetch implements Transport. A reply found in the inbox is stored in the ledger,
// then acknowledged on MESH.
func (t *MESHTransport) Fetch(ctx context.Context, requestID string) ([]byte, bool, error) {
	if err := ValidRequestID(requestID); err != nil {
		return nil, false, err
	}
	if err := t.check(); err != nil {
		return nil, false, err
	}
	replyKey := t.key(requestID, schemas.DBSLedgerReply)
	if body, err := store.ReadAll(ctx, t.Ledger, replyKey); err == nil {
		t.finishAck(ctx, requestID)
		return body, true, nil
	} else if !errors.Is(err, store.ErrNotExist) {
		return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, err)
	}
	var sent ledgerSent
	hasSent, err := t.readJSON(ctx, t.key(requestID, schemas.DBSLedgerSent), &sent)
	if err != nil {
		return nil, false, err
	}
	if !hasSent {
		hasIntent, err := store.Exists(ctx, t.Ledger, t.key(requestID, schemas.DBSLedgerIntent))
		if err != nil {
			return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, err)
		}
		if !hasIntent {
			return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, ErrNotSubmitted)
		}
	}
	ids, err := t.Client.ListInbox(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, err)
	}
	for _, id := range ids {
		h, err := t.metadata(ctx, id)
		if mesh.IsNotFound(err) {
			continue // acknowledged by someone else meanwhile
		}
		if err != nil {
			return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, err)
		}
		ours := h.LocalID == requestID || (sent.MessageID != "" && h.LinkedMessageID == sent.MessageID)
		if !ours {
			continue
		}
		if h.MessageType == mesh.MessageTypeReport {
			if h.StatusSuccess == "SUCCESS" {
				continue
			}
			return nil, false, &DeliveryReportError{RequestID: requestID, MessageID: id, Code: h.StatusCode, Description: h.StatusDescription}
		}
		if t.ReplyWorkflowID != "" && h.WorkflowID != t.ReplyWorkflowID {
			continue
		}
		body, _, err := t.Client.Download(ctx, id)
		if err != nil {
			return nil, false, fmt.Errorf("dbs: mesh fetch %s: %w", requestID, err)
		}
		if err := store.PutBytes(ctx, t.Ledger, replyKey, body); err != nil {
			return nil, false, fmt.Errorf("dbs: mesh fetch %s: store reply: %w", requestID, err)
		}
		if err := t.writeJSON(ctx, t.key(requestID, schemas.DBSLedgerReplyMeta), ledgerReply{MessageID: id}); err != nil {
			return nil, false, err
		}
		t.finishAck(ctx, requestID)
		return body, true, nil
	}
	return nil, false, nil
}

// finishAck acknowledges the stored reply's MESH message if not yet done. A failure
// is left for the next Fetch: the reply is safe in the ledger either way.
func (t *MESHTransport) finishAck(ctx context.Context, requestID string) {
	var rep ledgerReply
	ok, err := t.readJSON(ctx, t.key(requestID, schemas.DBSLedgerReplyMeta), &rep)
	if err != nil || !ok || rep.Acknowledged {
		return
	}
	if err := t.Client.Acknowledge(ctx, rep.MessageID); err != nil && !mesh.IsNotFound(err) {
		return
	}
	rep.Acknowledged = true
	_ = t.writeJSON(ctx, t.key(requestID, schemas.DBSLedgerReplyMeta), rep)
	t.mu.Lock()
	delete(t.meta, rep.MessageID)
	t.mu.Unlock()
}

func (t *MESHTransport) metadata(ctx context.Context, id string) (mesh.Headers, error) {
	t.mu.Lock()
	h, ok := t.meta[id]
	t.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := t.Client.Metadata(ctx, id)
	if err != nil {
		return h, err
	}
	t.mu.Lock()
	if t.meta == nil {
		t.meta = map[string]mesh.Headers{}
	}
	t.meta[id] = h
	t.mu.Unlock()
	return h, nil
}

// Forget implements Forgetter: every ledger record of the request goes (the reply it
// kept until the check stored it included).
func (t *MESHTransport) Forget(ctx context.Context, requestID string) ([]string, error) {
	if err := ValidRequestID(requestID); err != nil {
		return nil, err
	}
	prefix := t.key(requestID, "")
	infos, err := t.Ledger.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("dbs: mesh ledger: %w", err)
	}
	keys := make([]string, 0, len(infos))
	for _, inf := range infos {
		if strings.HasPrefix(inf.Key, prefix) {
			keys = append(keys, inf.Key)
		}
	}
	return deleteExisting(ctx, t.Ledger, keys...)
}
