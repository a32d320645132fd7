// Package dbssim simulates the Demographics Batch Service for the dev stack and tests:
// a dbs.Transport that answers each batch trace request from registers of deaths and
// of superseded, unmatched, multiply matched and cross-check-failing NHS numbers. It
// is reached only from the dev stack (infra/devstack) and tests, never from the
// production worker (internal/importrules checks). It keeps its requests and replies
// in the store's restricted area: they are identifiable.
package dbssim

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"icesurvey/dbs"
	"icesurvey/schemas"
	"icesurvey/store"
)

// DefaultSimulatorPrefix is where a Simulator keeps its requests and replies.
const DefaultSimulatorPrefix = schemas.DBSSimulatorPrefix

// Simulator is a stand-in for DBS, for `ice dev` and tests. It is a dbs.Transport that
// answers each request from a register of deaths and configurable sets of
// superseded, unmatched, multiply-matched and cross-check-failing NHS numbers, once
// Delay has passed on its clock since the request was submitted.
//
// Requests, their submission times and replies are kept in Store under Prefix (a
// file drop: outbox/, inbox/, pending/), so a restarted process configured with the
// same register still answers a request submitted before the restart.
//
// Per row, by requested NHS number (first rule that applies):
//
//	no NHS number, or in NoMatch        21 no match
//	in MultipleMatch                    22 multiple match
//	in CrossCheckFailed                 its status, 31–33
//	in Superseded                       40, NHS_NO = the new number
//	only NHS_NO and DATE_OF_BIRTH given 30 cross-checked
//	otherwise                           20 single match
//
// A matched row carries DATE_OF_DEATH when the (new, else requested) number is in Deaths.
type Simulator struct {
	Store  store.Store
	Prefix string // DefaultSimulatorPrefix when empty

	Deaths           map[string]time.Time // NHS number → date of death
	Superseded       map[string]string    // old NHS number → new NHS number
	NoMatch          map[string]bool
	MultipleMatch    map[string]bool
	CrossCheckFailed map[string]schemas.DBSTraceStatus // NHS number → 31, 32 or 33

	// ReadRegisters has each reply also answer from the registers of deaths in Store
	// (schemas.DeathsRegisterPrefix, one per ICS, and the legacy one register), read
	// afresh for the reply: ice dev's simulator, so a register written while the
	// stack runs (ice synth sample --store) is answered from without a restart.
	ReadRegisters bool

	// Delay is how long after submission the reply becomes available.
	Delay time.Duration
	// Now is the simulator's clock (time.Now when nil); tests inject a fake one.
	Now func() time.Time
}

// NewSimulator returns a simulator keeping its files in st under prefix, with empty
// registers and a delay of two minutes (DBS takes minutes to hours; `ice dev` wants
// to see the wait without sitting through it).
func NewSimulator(st store.Store, prefix string) *Simulator {
	return &Simulator{
		Store:            st,
		Prefix:           prefix,
		Deaths:           map[string]time.Time{},
		Superseded:       map[string]string{},
		NoMatch:          map[string]bool{},
		MultipleMatch:    map[string]bool{},
		CrossCheckFailed: map[string]schemas.DBSTraceStatus{},
		Delay:            2 * time.Minute,
	}
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Simulator) prefix() string {
	if s.Prefix == "" {
		return DefaultSimulatorPrefix
	}
	return s.Prefix
}

// Drop is the file drop the simulator works through: a real responder process (or
// a test) can read requests from its outbox and put replies in its inbox.
func (s *Simulator) Drop() *dbs.FileDropTransport {
	out, in := schemas.FileDropDirs(s.prefix())
	return &dbs.FileDropTransport{Store: s.Store, Outbox: out, Inbox: in}
}

func (s *Simulator) pendingKey(requestID string) string {
	return schemas.DBSSimulatorPendingKey(s.prefix(), requestID)
}

type simPending struct {
	SubmittedAt time.Time `json:"submitted_at"`
}

// Submit implements Transport. A repeated Submit keeps the first submission time.
func (s *Simulator) Submit(ctx context.Context, requestID string, body []byte) error {
	if err := s.Drop().Submit(ctx, requestID, body); err != nil {
		return fmt.Errorf("dbssim: %w", err)
	}
	_, err := s.submittedAt(ctx, requestID)
	return err
}

// submittedAt reads (or, the first time, records) when requestID was submitted.
func (s *Simulator) submittedAt(ctx context.Context, requestID string) (time.Time, error) {
	key := s.pendingKey(requestID)
	b, err := store.ReadAll(ctx, s.Store, key)
	if err == nil {
		var p simPending
		if err := json.Unmarshal(b, &p); err != nil {
			return time.Time{}, fmt.Errorf("dbssim: %s: %w", key, err)
		}
		return p.SubmittedAt, nil
	}
	if !errors.Is(err, store.ErrNotExist) {
		return time.Time{}, fmt.Errorf("dbssim: %w", err)
	}
	p := simPending{SubmittedAt: s.now().UTC()}
	b, _ = json.Marshal(p)
	if err := store.PutBytes(ctx, s.Store, key, b); err != nil {
		return time.Time{}, fmt.Errorf("dbssim: %w", err)
	}
	return p.SubmittedAt, nil
}

// Fetch implements Transport: once Delay has passed since submission the reply is
// computed, stored in the inbox and returned; before that ready is false.
func (s *Simulator) Fetch(ctx context.Context, requestID string) ([]byte, bool, error) {
	drop := s.Drop()
	reply, ready, err := drop.Fetch(ctx, requestID)
	if err != nil || ready {
		return reply, ready, err
	}
	at, err := s.submittedAt(ctx, requestID)
	if err != nil {
		return nil, false, err
	}
	if s.now().Before(at.Add(s.Delay)) {
		return nil, false, nil
	}
	req, err := drop.Request(ctx, requestID)
	if err != nil {
		return nil, false, err
	}
	deaths := s.Deaths
	if s.ReadRegisters {
		if deaths, err = s.registers(ctx); err != nil {
			return nil, false, err
		}
	}
	reply, err = s.respond(req, deaths)
	if err != nil {
		return nil, false, fmt.Errorf("dbssim: request %s: %w", requestID, err)
	}
	if err := drop.PutReply(ctx, requestID, reply); err != nil {
		return nil, false, err
	}
	return reply, true, nil
}

// registers is Deaths with every register of deaths in Store added.
func (s *Simulator) registers(ctx context.Context) (map[string]time.Time, error) {
	deaths := maps.Clone(s.Deaths)
	if deaths == nil {
		deaths = map[string]time.Time{}
	}
	infos, err := s.Store.List(ctx, schemas.DeathsRegisterPrefix)
	if err != nil {
		return nil, fmt.Errorf("dbssim: registers of deaths: %w", err)
	}
	keys := []string{schemas.LegacyDeathsRegisterKey}
	for _, in := range infos {
		if strings.HasSuffix(in.Key, ".csv") {
			keys = append(keys, in.Key)
		}
	}
	for _, key := range keys {
		b, err := store.ReadAll(ctx, s.Store, key)
		if errors.Is(err, store.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dbssim: %w", err)
		}
		if err := ReadDeaths(key, b, deaths); err != nil {
			return nil, err
		}
	}
	return deaths, nil
}

// ReadDeaths adds a register of deaths (CSV with the header NHS_NUMBER,DATE_OF_DEATH,
// the date yyyymmdd, as synth.WriteDeaths writes it) to deaths; name is used in errors.
func ReadDeaths(name string, b []byte, deaths map[string]time.Time) error {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return fmt.Errorf("dbssim: %s: %w", name, err)
	}
	for i, r := range rows {
		if i == 0 || len(r) < 2 {
			continue
		}
		d, err := time.Parse("20060102", r[1])
		if err != nil {
			return fmt.Errorf("dbssim: %s row %d: DATE_OF_DEATH: %w", name, i+1, err)
		}
		deaths[r[0]] = d
	}
	return nil
}

// Respond computes the reply DBS would give to a request CSV, from Deaths (not the
// registers in Store, which Fetch reads).
func (s *Simulator) Respond(request []byte) ([]byte, error) {
	return s.respond(request, s.Deaths)
}

func (s *Simulator) respond(request []byte, deaths map[string]time.Time) ([]byte, error) {
	rows, err := dbs.ParseRequest(request)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.DBSResponseRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.answer(r, deaths))
	}
	return dbs.EncodeResponse(out), nil
}

func (s *Simulator) answer(r schemas.DBSRequestRow, deaths map[string]time.Time) schemas.DBSResponseRow {
	resp := schemas.DBSResponseRow{UniqueReference: r.UniqueReference}
	nhs := r.NHSNumber
	crossCheckOnly := r.FamilyName == "" && r.GivenName == "" && r.Postcode == ""
	switch {
	case nhs == "" || s.NoMatch[nhs]:
		resp.TraceStatus = schemas.DBSNoMatch
		return resp
	case s.MultipleMatch[nhs]:
		resp.TraceStatus = schemas.DBSMultipleMatch
		return resp
	case s.CrossCheckFailed[nhs] != 0:
		resp.TraceStatus = s.CrossCheckFailed[nhs]
		return resp
	case s.Superseded[nhs] != "":
		resp.TraceStatus = schemas.DBSSuperseded
		resp.NHSNumber = s.Superseded[nhs]
	case crossCheckOnly:
		resp.TraceStatus = schemas.DBSCrossChecked
		resp.NHSNumber = nhs
	default:
		resp.TraceStatus = schemas.DBSSingleMatch
		resp.NHSNumber = nhs
	}
	if d, ok := deaths[resp.NHSNumber]; ok {
		resp.DateOfDeath = &d
	} else if d, ok := deaths[nhs]; ok {
		resp.DateOfDeath = &d
	}
	return resp
}
