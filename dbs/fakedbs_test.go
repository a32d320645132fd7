package dbs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// fakeDBS is this package's stand-in for DBS in its own tests: a file drop that answers
// a request, once Delay has passed on its clock, from registers of deaths and of
// superseded, unmatched and multiply matched numbers. (The dev stack's full simulator is
// sim/dbssim, which imports this package and so cannot serve its tests.)
type fakeDBS struct {
	Store         store.Store
	Prefix        string
	Deaths        map[string]time.Time
	Superseded    map[string]string
	NoMatch       map[string]bool
	MultipleMatch map[string]bool
	Delay         time.Duration
	Now           func() time.Time
}

const fakeDBSPrefix = "restricted/_dbs-fake/"

func newFakeDBS(st store.Store, prefix string) *fakeDBS {
	if prefix == "" {
		prefix = fakeDBSPrefix
	}
	return &fakeDBS{Store: st, Prefix: prefix, Deaths: map[string]time.Time{}, Superseded: map[string]string{},
		NoMatch: map[string]bool{}, MultipleMatch: map[string]bool{}, Now: time.Now}
}

func (f *fakeDBS) drop() *FileDropTransport {
	out, in := schemas.FileDropDirs(f.Prefix)
	return &FileDropTransport{Store: f.Store, Outbox: out, Inbox: in}
}

func (f *fakeDBS) Submit(ctx context.Context, requestID string, body []byte) error {
	if err := f.drop().Submit(ctx, requestID, body); err != nil {
		return err
	}
	key := schemas.DBSSimulatorPendingKey(f.Prefix, requestID)
	if ok, err := store.Exists(ctx, f.Store, key); err != nil || ok {
		return err
	}
	b, _ := json.Marshal(f.Now().UTC())
	return store.PutBytes(ctx, f.Store, key, b)
}

func (f *fakeDBS) Fetch(ctx context.Context, requestID string) ([]byte, bool, error) {
	reply, ready, err := f.drop().Fetch(ctx, requestID)
	if err != nil || ready {
		return reply, ready, err
	}
	b, err := store.ReadAll(ctx, f.Store, schemas.DBSSimulatorPendingKey(f.Prefix, requestID))
	if err != nil {
		return nil, false, err
	}
	var at time.Time
	if err := json.Unmarshal(b, &at); err != nil {
		return nil, false, err
	}
	if f.Now().Before(at.Add(f.Delay)) {
		return nil, false, nil
	}
	req, err := f.drop().Request(ctx, requestID)
	if err != nil {
		return nil, false, err
	}
	if reply, err = f.Respond(req); err != nil {
		return nil, false, err
	}
	return reply, true, f.drop().PutReply(ctx, requestID, reply)
}

// Respond answers a request CSV: no number or NoMatch 21, MultipleMatch 22, Superseded
// 40 with the new number, a cross-check-only row 30, else 20; a matched row carries the
// date of death of its (new, else requested) number.
func (f *fakeDBS) Respond(request []byte) ([]byte, error) {
	rows, err := ParseRequest(request)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("fake DBS: empty request")
	}
	out := make([]schemas.DBSResponseRow, 0, len(rows))
	for _, r := range rows {
		resp := schemas.DBSResponseRow{UniqueReference: r.UniqueReference, NHSNumber: r.NHSNumber, TraceStatus: schemas.DBSSingleMatch}
		switch {
		case r.NHSNumber == "" || f.NoMatch[r.NHSNumber]:
			resp.NHSNumber, resp.TraceStatus = "", schemas.DBSNoMatch
		case f.MultipleMatch[r.NHSNumber]:
			resp.NHSNumber, resp.TraceStatus = "", schemas.DBSMultipleMatch
		case f.Superseded[r.NHSNumber] != "":
			resp.NHSNumber, resp.TraceStatus = f.Superseded[r.NHSNumber], schemas.DBSSuperseded
		case r.FamilyName == "" && r.GivenName == "" && r.Postcode == "":
			resp.TraceStatus = schemas.DBSCrossChecked
		}
		if resp.TraceStatus.Matched() {
			if d, ok := f.Deaths[resp.NHSNumber]; ok {
				resp.DateOfDeath = &d
			} else if d, ok := f.Deaths[r.NHSNumber]; ok {
				resp.DateOfDeath = &d
			}
		}
		out = append(out, resp)
	}
	return EncodeResponse(out), nil
}
