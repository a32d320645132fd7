package dashdata

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"icesurvey/freetext"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/web"
)

// FreeTextStore reads an ICS's free text from the store's restricted area for the
// dashboard's free-text page, and keeps the audit record of every read beside it
// (schemas.FreeTextReadKey). The dashboard itself never touches the store: it gets
// this as two interfaces, and passes every comment through freetext.Read (access
// check, redaction) before anything is shown. Give it a store whose credentials reach
// only the restricted area it needs.
type FreeTextStore struct {
	Store store.Store
}

var (
	_ web.FreeTextSource = FreeTextStore{}
	_ web.AuditSink      = FreeTextStore{}
)

// Comments returns every free-text answer of one ICS of one wave, in key then row order.
func (f FreeTextStore) Comments(ctx context.Context, wave, ics string) ([]freetext.Comment, error) {
	infos, err := f.Store.List(ctx, schemas.FreeTextRoot(wave, ics))
	if err != nil {
		return nil, fmt.Errorf("dashdata: listing free text of %s: %w", ics, err)
	}
	var out []freetext.Comment
	for _, in := range infos {
		if !schemas.IsFreeTextLoadKey(wave, ics, in.Key) {
			continue
		}
		err := lake.Scan(ctx, f.Store, in.Key, schemas.FreeTextLayout(), func(r *schemas.FreeTextRow) error {
			out = append(out, freetext.Comment{ResponseID: r.ResponseID, QuestionID: r.QuestionID, Text: r.Text})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dashdata: reading free text: %w", err)
		}
	}
	return out, nil
}

// RecordFreeText writes one read's audit event as a JSON object of its own, after
// checking it; the page is shown only when this succeeds.
func (f FreeTextStore) RecordFreeText(ctx context.Context, e freetext.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("dashdata: free-text audit event: %w", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	key := schemas.FreeTextReadKey(e.Wave, e.ICS, e.At, hex.EncodeToString(id))
	if err := f.Store.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("dashdata: writing the free-text audit record: %w", err)
	}
	return nil
}

// FreeTextReads returns the audit records of one ICS's free-text reads, oldest first.
func (f FreeTextStore) FreeTextReads(ctx context.Context, wave, ics string) ([]freetext.AuditEvent, error) {
	infos, err := f.Store.List(ctx, schemas.FreeTextReadsPrefix(wave, ics))
	if err != nil {
		return nil, err
	}
	var out []freetext.AuditEvent
	for _, in := range infos {
		b, err := store.ReadAll(ctx, f.Store, in.Key)
		if err != nil {
			return nil, err
		}
		var e freetext.AuditEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("dashdata: %s: %w", in.Key, err)
		}
		out = append(out, e)
	}
	return out, nil
}
