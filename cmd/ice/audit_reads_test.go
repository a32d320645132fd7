//go:build !production

package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"icesurvey/audit"
	"icesurvey/freetext"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/web/dashdata"
)

// The free-text access records answer "who saw this comment?": ice audit reads lists
// them for every ICS that has any, oldest first, and narrows them by reader, comment
// and refusal.
func TestAuditReadsListsWhoSawAComment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	sink := dashdata.FreeTextStore{Store: st}
	for _, e := range []freetext.AuditEvent{
		{UserID: "bob@nhs.net", At: t0.Add(2 * time.Hour), ICS: "QJK", Wave: "W1", Action: freetext.ActionSearch, Query: "discharge",
			RowsShown: 2, ResponseIDs: []string{"R9", "R2"}, Allowed: true, Reason: "grant", ApprovedBy: "C. Guardian"},
		{UserID: "alice@nhs.net", At: t0, ICS: "QMM", Wave: "W1", Action: freetext.ActionView,
			RowsShown: 2, ResponseIDs: []string{"R1", "R2"}, Allowed: true, Reason: "grant", ApprovedBy: "C. Guardian"},
		{UserID: "eve@nhs.net", At: t0.Add(time.Hour), ICS: "QMM", Wave: "W1", Action: freetext.ActionDownload,
			Allowed: false, Reason: "user eve@nhs.net has no grant to read free text of ICS QMM"},
		{UserID: "alice@nhs.net", At: t0, ICS: "QMM", Wave: "W2", Action: freetext.ActionView, // another wave
			RowsShown: 1, ResponseIDs: []string{"R2"}, Allowed: true, Reason: "grant"},
	} {
		if err := sink.RecordFreeText(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// The free text itself sits beside the records; only the records are read.
	if err := store.PutBytes(ctx, st, schemas.FreeTextRoot("W1", "QWE")+"load_date=2026-12-05/free_text.parquet", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// W3 ran (it has an audit trail) but no one read its free text; W4 never ran here.
	now := t0
	if err := audit.Write(ctx, st, []audit.Event{{EventID: "e1", WaveID: "W3", ICS: "QMM", Kind: audit.KindActivityAttempt,
		ActivityType: "Intake", Outcome: "ok", StartedAt: now, EndedAt: &now}}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := captureStdout(t, func() error {
			cmd := rootCmd()
			cmd.SetArgs(append([]string{"audit", "reads", "--store", "file://" + dir}, args...))
			return cmd.ExecuteContext(ctx)
		})
		if err != nil {
			t.Fatalf("ice audit reads %v: %v", args, err)
		}
		return out
	}
	users := func(out string) []string {
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && strings.Contains(f[1], "@") {
				got = append(got, f[1])
			}
		}
		return got
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
		tail string
	}{
		{"every ICS, oldest first", []string{"--wave", "W1"}, []string{"alice@nhs.net", "eve@nhs.net", "bob@nhs.net"}, "3 reads"},
		{"who saw R2", []string{"--wave", "W1", "--response", "R2"}, []string{"alice@nhs.net", "bob@nhs.net"}, "2 of the wave's 3 reads"},
		{"refusals", []string{"--wave", "W1", "--refused"}, []string{"eve@nhs.net"}, "1 of the wave's 3 reads"},
		{"one ICS", []string{"--wave", "W1", "--ics", "QJK"}, []string{"bob@nhs.net"}, "\n1 read\n"},
		{"one reader", []string{"--wave", "W1", "--user", "alice@nhs.net"}, []string{"alice@nhs.net"}, "1 of the wave's 3 reads"},
		{"a reader as typed, in any case", []string{"--wave", "W1", "--user", " Alice@NHS.net"}, []string{"alice@nhs.net"}, "1 of the wave's 3 reads"},
		{"an ICS in lower case", []string{"--wave", "W1", "--ics", "qjk"}, []string{"bob@nhs.net"}, "\n1 read\n"},
		{"a wave that ran, with none", []string{"--wave", "W3"}, nil, "0 reads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(tc.args...)
			if got := users(out); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("readers %v, want %v\n%s", got, tc.want, out)
			}
			if !strings.Contains(out, tc.tail) {
				t.Errorf("want %q in\n%s", tc.tail, out)
			}
		})
	}
	// What cannot be the answer is refused, not counted as nothing: a wave this store
	// never ran, a store that does not exist (and is not created).
	for _, tc := range []struct {
		name, store, wave, want string
	}{
		{"a mistyped wave", "file://" + dir, "W4", "no audit trail of wave W4 in store file://" + dir},
		{"a mistyped store", "file://" + dir + "/typo-store", "W1", "typo-store does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := rootCmd()
			cmd.SetArgs([]string{"audit", "reads", "--store", tc.store, "--wave", tc.wave})
			out, err := captureStdout(t, func() error { return cmd.ExecuteContext(ctx) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ice audit reads --wave %s = %v (printed %q), want an error saying %q", tc.wave, err, out, tc.want)
			}
		})
	}
	if _, err := os.Stat(dir + "/typo-store"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ice audit reads created the store it was mistakenly given: %v", err)
	}
	if out := run("--wave", "W1", "--refused"); !strings.Contains(out, "REFUSED: user eve@nhs.net has no grant") {
		t.Errorf("a refusal does not say why:\n%s", out)
	}
	// A refusal of a request that named no ICS (the dashboard's free-text page without
	// ?ics= for someone who may read none) is listed with the wave's reads.
	if err := sink.RecordFreeText(ctx, freetext.AuditEvent{UserID: "zed@nhs.net", At: t0.Add(3 * time.Hour), Wave: "W1",
		Action: freetext.ActionView, Reason: "no ICS named, and no current free-text access to any ICS"}); err != nil {
		t.Fatal(err)
	}
	if out := run("--wave", "W1", "--refused", "--user", "zed@nhs.net"); !strings.Contains(out, "zed@nhs.net  (none)") ||
		!strings.Contains(out, "REFUSED: no ICS named") || !strings.Contains(out, "1 of the wave's 4 reads") {
		t.Errorf("a refusal naming no ICS is not listed:\n%s", out)
	}
	// --ics none selects them alone, as the table names their ICS; beside an ICS, both.
	for _, ics := range []string{"none", "(None)", "none,QJK"} {
		out := run("--wave", "W1", "--ics", ics)
		want := []string{"zed@nhs.net"}
		if ics == "none,QJK" {
			want = []string{"bob@nhs.net", "zed@nhs.net"}
		}
		if got := users(out); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("--ics %s: readers %v, want %v\n%s", ics, got, want, out)
		}
	}
	// --json: one record per line, as stored.
	lines := strings.Split(strings.TrimSpace(run("--wave", "W1", "--response", "R2", "--json")), "\n")
	var first freetext.AuditEvent
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.UserID != "alice@nhs.net" || first.RowsShown != 2 {
		t.Errorf("--json: %q", lines)
	}
}

// What a reader typed is recorded verbatim, and the dashboard takes any search: a query
// with a line break, a tab or a terminal escape must not forge or hide rows of the
// table an auditor reads in a terminal. Each record stays one line of printable text;
// the JSON lines keep it verbatim.
func TestAuditReadsTableShowsTypedTextInert(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	sink := dashdata.FreeTextStore{Store: st}
	for i, q := range []string{
		"pain\n2026-12-06T08:00:00Z\tnobody@nhs.net\tQMM\tview\t0\t\tallowed", // a forged row
		"x\x1b[1A\x1b[2K\x1b[1A\x1b[2K",                                       // erases the lines above it
		"\u202eten.shn@evila",                                                 // a right-to-left override
		"x\r\x1b]0;title\a",                                                   // carriage return, OSC
	} {
		e := freetext.AuditEvent{UserID: "mallory@nhs.net", At: t0.Add(time.Duration(i) * time.Minute), ICS: "QMM", Wave: "W1",
			Action: freetext.ActionSearch, Query: q, Allowed: false, Reason: "no grant\x1b[8m"}
		if err := sink.RecordFreeText(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := captureStdout(t, func() error {
			cmd := rootCmd()
			cmd.SetArgs(append([]string{"audit", "reads", "--store", "file://" + dir, "--wave", "W1"}, args...))
			return cmd.ExecuteContext(ctx)
		})
		if err != nil {
			t.Fatalf("ice audit reads %v: %v", args, err)
		}
		return out
	}
	out := run()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+4+1 {
		t.Errorf("table has %d lines, want a header, 4 records and a count:\n%s", len(lines), out)
	}
	for i, l := range lines {
		for _, r := range l {
			if r != ' ' && !unicode.IsGraphic(r) {
				t.Errorf("line %d holds %U (not printable): %q", i+1, r, l)
			}
		}
	}
	if strings.Contains(out, "nobody@nhs.net\tQMM") || strings.Count(out, "mallory@nhs.net") != 4 {
		t.Errorf("the forged row shows as a row:\n%s", out)
	}
	if !strings.Contains(out, `\x1b[1A`) || !strings.Contains(out, `\u202e`) || !strings.Contains(out, `\n2026-12-06T08:00:00Z\tnobody`) {
		t.Errorf("the query is not shown escaped:\n%s", out)
	}
	// The JSON lines are for machines: the query verbatim, as recorded.
	js := run("--json")
	var got []freetext.AuditEvent
	for _, l := range strings.Split(strings.TrimSpace(js), "\n") {
		var e freetext.AuditEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		got = append(got, e)
	}
	if len(got) != 4 || got[1].Query != "x\x1b[1A\x1b[2K\x1b[1A\x1b[2K" {
		t.Errorf("--json: %+v", got)
	}
}
