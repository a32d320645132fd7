package dbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// now is the clock for CheckedAt; tests replace it.
var now = time.Now

// The parts of one DBS exchange are kept in the restricted area of the ICS's wave
// (schemas.DBSExchangeKey): the request as sent and its manifest (contacts key,
// counts, digest), the reply as received, one schemas.DBSResult per requested record,
// and the contacts with superseded NHS numbers replaced.

// SubmitResult describes a submitted request. It holds no identifiable data.
type SubmitResult struct {
	RequestID  string `json:"request_id"`
	RequestKey string `json:"request_key"`
	Records    int    `json:"records"`  // rows in the request
	Excluded   int    `json:"excluded"` // contacts the include filter left out
	SHA256     string `json:"sha256"`   // of the request CSV
	// Transmitted is false when there was nobody to check: no request is sent and
	// Collect returns an empty outcome at once.
	Transmitted bool `json:"transmitted"`
}

type manifest struct {
	RequestID   string    `json:"request_id"`
	Wave        string    `json:"wave"`
	ICS         string    `json:"ics"`
	ContactsKey string    `json:"contacts_key"`
	Records     int       `json:"records"`
	Excluded    int       `json:"excluded"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// checkScope checks the wave, ICS and request ID a request is filed under: a
// malformed one is a fault.BadInput no retry can fix.
func checkScope(wave, ics, requestID string) error {
	for _, f := range []struct{ name, v string }{{"wave", wave}, {"ics", ics}} {
		if f.v == "" || strings.ContainsAny(f.v, "/\\") || f.v == "." || f.v == ".." {
			return fault.Errorf(fault.BadInput, "dbs: invalid %s %q", f.name, f.v)
		}
	}
	return ValidRequestID(requestID)
}

func readManifest(ctx context.Context, st store.Store, wave, ics, requestID string) (*manifest, bool, error) {
	b, err := store.ReadAll(ctx, st, schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSRequestManifest))
	if errors.Is(err, store.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("dbs: request %s: read manifest: %w", requestID, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("dbs: request %s: decode manifest: %w", requestID, err)
	}
	return &m, true, nil
}

// Submit builds the DBS request for the contacts at contactsKey (restricted
// Parquet of schemas.Contact) that include accepts (nil includes everyone), writes
// it to the restricted area and submits it through tr.
//
// It is idempotent for one requestID: the first call fixes the request (CSV and
// manifest are written once), and a repeated call re-submits that same stored body,
// which the transport does not send twice. Reusing a requestID for a different
// contacts object is an error.
func Submit(ctx context.Context, st store.Store, tr Transport, wave, ics, requestID string, contactsKey string, include func(surveyRecordID string) bool) (SubmitResult, error) {
	if err := checkScope(wave, ics, requestID); err != nil {
		return SubmitResult{}, err
	}
	reqKey := schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSRequest)
	m, ok, err := readManifest(ctx, st, wave, ics, requestID)
	if err != nil {
		return SubmitResult{}, err
	}
	var body []byte
	if ok {
		if m.ContactsKey != contactsKey {
			return SubmitResult{}, fmt.Errorf("dbs: request %s was built from %s, not %s: %w", requestID, m.ContactsKey, contactsKey, ErrSubmitConflict)
		}
		if body, err = store.ReadAll(ctx, st, reqKey); err != nil {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: read stored request: %w", requestID, err)
		}
		if digest(body) != m.SHA256 {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: stored request does not match its manifest digest", requestID)
		}
	} else {
		contacts, err := lake.GetRows[schemas.Contact](ctx, st, contactsKey, schemas.ContactLayout())
		if err != nil {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: read contacts: %w", requestID, err)
		}
		var chosen []schemas.Contact
		for _, c := range contacts {
			if include == nil || include(c.SurveyRecordID) {
				chosen = append(chosen, c)
			}
		}
		if body, err = BuildRequest(chosen); err != nil {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: %w", requestID, err)
		}
		m = &manifest{
			RequestID: requestID, Wave: wave, ICS: ics, ContactsKey: contactsKey,
			Records: len(chosen), Excluded: len(contacts) - len(chosen),
			SHA256: digest(body), CreatedAt: now().UTC(),
		}
		if err := store.PutBytes(ctx, st, reqKey, body); err != nil {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: store request: %w", requestID, err)
		}
		mb, _ := json.Marshal(m)
		// The manifest is written last: it marks the request as fixed.
		if err := store.PutBytes(ctx, st, schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSRequestManifest), mb); err != nil {
			return SubmitResult{}, fmt.Errorf("dbs: request %s: store manifest: %w", requestID, err)
		}
	}
	res := SubmitResult{
		RequestID: requestID, RequestKey: reqKey, Records: m.Records, Excluded: m.Excluded,
		SHA256: m.SHA256, Transmitted: m.Records > 0,
	}
	if res.Transmitted {
		if err := tr.Submit(ctx, requestID, body); err != nil {
			return res, fmt.Errorf("dbs: request %s: submit: %w", requestID, err)
		}
	}
	audit.Record(ctx, "dbs_request_submitted", map[string]any{
		"request_id":  requestID,
		"wave":        wave,
		"ics":         ics,
		"records":     res.Records,
		"excluded":    res.Excluded,
		"sha256":      res.SHA256,
		"transmitted": res.Transmitted,
		"transport":   fmt.Sprintf("%T", tr),
	})
	return res, nil
}

// Collect fetches the reply to requestID, checks it against the stored request,
// and writes the reply and one schemas.DBSResult per requested record to the
// restricted area. When DBS reports superseded NHS numbers (status 40) it writes
// the contacts with the new numbers to UpdatedContactsKey and reports it in the
// outcome. ready is false while the reply has not arrived.
//
// The reply is stored before it is parsed, so a retried Collect works from the
// same reply even after the transport has acknowledged it. A malformed reply
// (*ParseError) or one that does not answer the request (*ReplyMismatchError) is
// recorded in the audit trail and returned: the mailing must wait.
func Collect(ctx context.Context, st store.Store, tr Transport, wave, ics, requestID string) (*Outcome, bool, error) {
	if err := checkScope(wave, ics, requestID); err != nil {
		return nil, false, err
	}
	m, ok, err := readManifest(ctx, st, wave, ics, requestID)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("dbs: collect %s: %w", requestID, ErrNotSubmitted)
	}
	if m.Records == 0 {
		return &Outcome{RequestID: requestID}, true, nil
	}
	reqBody, err := store.ReadAll(ctx, st, schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSRequest))
	if err != nil {
		return nil, false, fmt.Errorf("dbs: collect %s: read request: %w", requestID, err)
	}
	reqRows, err := ParseRequest(reqBody)
	if err != nil {
		return nil, false, fmt.Errorf("dbs: collect %s: stored request: %w", requestID, err)
	}

	replyKey := schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSReply)
	reply, err := store.ReadAll(ctx, st, replyKey)
	if errors.Is(err, store.ErrNotExist) {
		var ready bool
		reply, ready, err = tr.Fetch(ctx, requestID)
		if err != nil {
			return nil, false, fmt.Errorf("dbs: collect %s: fetch: %w", requestID, err)
		}
		if !ready {
			return nil, false, nil
		}
		if err := store.PutBytes(ctx, st, replyKey, reply); err != nil {
			return nil, false, fmt.Errorf("dbs: collect %s: store reply: %w", requestID, err)
		}
	} else if err != nil {
		return nil, false, fmt.Errorf("dbs: collect %s: read stored reply: %w", requestID, err)
	}

	reject := func(err error) (*Outcome, bool, error) {
		audit.Record(ctx, "dbs_reply_rejected", map[string]any{
			"request_id": requestID, "wave": wave, "ics": ics,
			"reply_sha256": digest(reply), "reason": err.Error(),
		})
		return nil, true, fmt.Errorf("dbs: collect %s: %w", requestID, err)
	}
	rows, err := ParseResponse(reply)
	if err != nil {
		return reject(err)
	}
	requested := make([]string, len(reqRows))
	requestedNHS := make(map[string]string, len(reqRows))
	for i, r := range reqRows {
		requested[i] = r.UniqueReference
		requestedNHS[r.UniqueReference] = r.NHSNumber
	}
	out, err := Reconcile(requested, rows)
	if err != nil {
		var mm *ReplyMismatchError
		if errors.As(err, &mm) {
			mm.RequestID = requestID
		}
		return reject(err)
	}
	out.RequestID = requestID
	out.ReplyKey = replyKey

	checked := now().UTC()
	for i := range out.Results {
		out.Results[i].RequestID = requestID
		out.Results[i].CheckedAt = checked
	}
	out.ResultsKey = schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSResults)
	if err := lake.PutRows(ctx, st, out.ResultsKey, schemas.DBSResultLayout(), out.Results); err != nil {
		return nil, false, fmt.Errorf("dbs: collect %s: write results: %w", requestID, err)
	}

	if len(out.NewNHSNumbers) > 0 {
		n, err := applySuperseded(ctx, st, m.ContactsKey, schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSUpdatedContacts), requestedNHS, out.NewNHSNumbers)
		if err != nil {
			return nil, false, fmt.Errorf("dbs: collect %s: %w", requestID, err)
		}
		out.UpdatedContactsKey = schemas.DBSExchangeKey(wave, ics, requestID, schemas.DBSUpdatedContacts)
		out.NHSNumbersUpdated = n
		audit.Record(ctx, "dbs_nhs_number_superseded", map[string]any{
			"request_id": requestID, "wave": wave, "ics": ics,
			"superseded": out.Superseded, "contacts_updated": n,
			"contacts_key": m.ContactsKey, "updated_contacts_key": out.UpdatedContactsKey,
		})
	}

	details := out.Counts()
	details["wave"] = wave
	details["ics"] = ics
	details["reply_sha256"] = digest(reply)
	details["results_key"] = out.ResultsKey
	audit.Record(ctx, "dbs_reply_reconciled", details)
	return out, true, nil
}

// applySuperseded writes the contacts at from to to, replacing each superseded NHS
// number. A contact is changed only while it still holds the number that was sent,
// so applying the same reply twice changes nothing the second time.
func applySuperseded(ctx context.Context, st store.Store, from, to string, requestedNHS, newNHS map[string]string) (int, error) {
	contacts, err := lake.GetRows[schemas.Contact](ctx, st, from, schemas.ContactLayout())
	if err != nil {
		return 0, fmt.Errorf("read contacts to update: %w", err)
	}
	changed := 0
	for i := range contacts {
		c := &contacts[i]
		nn, ok := newNHS[c.SurveyRecordID]
		if !ok {
			continue
		}
		cur := strings.ReplaceAll(strings.TrimSpace(c.NHSNumber), " ", "")
		if cur == requestedNHS[c.SurveyRecordID] && cur != nn {
			c.NHSNumber = nn
			changed++
		}
	}
	if err := lake.PutRows(ctx, st, to, schemas.ContactLayout(), contacts); err != nil {
		return 0, fmt.Errorf("write updated contacts: %w", err)
	}
	return changed, nil
}
