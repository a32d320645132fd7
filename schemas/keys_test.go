package schemas

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every key builder, pinned to the key it makes: the layout of a store that already
// holds waves must not move by accident (a deliberate move changes this table too).
func TestKeyBuilders(t *testing.T) {
	day := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	started := time.Unix(0, 1234)
	sha := "0123456789abcdef0123456789abcdef"
	tests := []struct{ name, got, want string }{
		{"landing", LandingKey("w1", "QMM", "sample.csv"), "restricted-landing/w1/QMM/sample.csv"},
		{"start folder", StartFolder(time.Date(2026, 12, 7, 23, 40, 5, 0, time.UTC), "0a1b2c3d"), "start-20261207T234005Z-0a1b2c3d"},
		{"staged landing", StagedLandingKey("w1", "QMM", "start-20261207T234005Z-0a1b2c3d", "sample.csv"), "restricted-landing/w1/QMM/start-20261207T234005Z-0a1b2c3d/sample.csv"},
		{"staged rejection report", RejectionReportKey(StagedLandingKey("w1", "QMM", "start-x", "sample.csv")), "restricted-landing/w1/QMM/start-x/rejections.csv"},
		{"response landing", ResponseLandingPrefix("w1", "QMM", day), "restricted-landing/w1/QMM/responses/2026-02-03/"},
		{"rejection report", RejectionReportKey("restricted-landing/w1/QMM/sample.csv"), "restricted-landing/w1/QMM/rejections.csv"},
		{"restricted", RestrictedPrefix("w1", "QMM"), "restricted/w1/QMM/"},
		{"contacts", ContactsKey("w1", "QMM"), "restricted/w1/QMM/contacts.parquet"},
		{"dbs request", DBSExchangeKey("w1", "QMM", "r1", DBSRequest), "restricted/w1/QMM/dbs/r1-request.csv"},
		{"dbs manifest", DBSExchangeKey("w1", "QMM", "r1", DBSRequestManifest), "restricted/w1/QMM/dbs/r1-request.json"},
		{"dbs reply", DBSExchangeKey("w1", "QMM", "r1", DBSReply), "restricted/w1/QMM/dbs/r1-reply.csv"},
		{"dbs results", DBSExchangeKey("w1", "QMM", "r1", DBSResults), "restricted/w1/QMM/dbs/r1-results.parquet"},
		{"dbs contacts", DBSExchangeKey("w1", "QMM", "r1", DBSUpdatedContacts), "restricted/w1/QMM/dbs/r1-contacts.parquet"},
		{"mesh ledger", DBSLedgerKey(DBSMeshLedgerPrefix, "r1", "sent.json"), "restricted/_dbs-mesh/r1/sent.json"},
		{"sim pending", DBSSimulatorPendingKey(DBSSimulatorPrefix, "r1"), "restricted/_dbs-sim/pending/r1.json"},
		{"file drop", FileDropKey(DBSFileDropOutbox, "r1"), "exchange/dbs/outbox/r1.csv"},
		{"file drop inbox", FileDropKey(DBSFileDropInbox, "r1"), "exchange/dbs/inbox/r1.csv"},
		{"outbox", OutboxPrefix("w1", "QMM"), "restricted/w1/QMM/outbox/"},
		{"print file", PrintFileKey("w1", "QMM", "invitation"), "restricted/w1/QMM/outbox/print/invitation.csv"},
		{"print manifest", PrintManifestKey(PrintFileKey("w1", "QMM", "invitation")), "restricted/w1/QMM/outbox/print/invitation.csv.manifest.json"},
		{"sms ledger", SMSLedgerPrefix("w1", "QMM", "sms1"), "restricted/w1/QMM/sms-ledger/sms1/"},
		{"ledger entry", LedgerEntryKey("p", "w1.QMM.S1.sms1"), "p/w1.QMM.S1.sms1.json"},
		{"free text root", FreeTextRoot("w1", "QMM"), "free-text/w1/QMM/"},
		{"free text", FreeTextKey("w1", "QMM", day, sha), "free-text/w1/QMM/load_date=2026-02-03/part-0123456789abcdef.parquet"},
		{"lake partition", LakePartition(LakeSample, "w1", "QMM"), "lake/sample/wave=w1/ics=QMM/"},
		{"sample", SampleKey("w1", "QMM"), "lake/sample/wave=w1/ics=QMM/sample.parquet"},
		{"dbs outcomes", DBSOutcomesKey("w1", "QMM", "r1"), "lake/outcome_events/wave=w1/ics=QMM/dbs-r1.parquet"},
		{"opt-out", OptOutKey("w1", "QMM", "S1"), "lake/outcome_events/wave=w1/ics=QMM/optout-S1.parquet"},
		{"mailing history", MailingHistoryKey("w1", "QMM", "sms1"), "lake/mailing_history/wave=w1/ics=QMM/sms1.parquet"},
		{"selection", SelectionKey("w1", "QMM", "sms1", "due"), "lake/mailing_selection/wave=w1/ics=QMM/sms1-due.parquet"},
		{"final outcomes", FinalOutcomesKey("w1", "QMM"), "lake/final_outcomes/wave=w1/ics=QMM/final_outcomes.parquet"},
		{"response partition", ResponseLoadPartition(LakeResponses, "w1", "QMM", day), "lake/responses/wave=w1/ics=QMM/load_date=2026-02-03/"},
		{"response part", ResponsePartKey(LakeResponseOutcomes, "w1", "QMM", day, sha), "lake/outcomes/wave=w1/ics=QMM/load_date=2026-02-03/part-0123456789abcdef.parquet"},
		{"audit batch", AuditBatchKey("w1", "abc"), "lake/audit/wave=w1/batch-abc.parquet"},
		{"audit batch, no wave", AuditBatchPrefix(""), "lake/audit/wave=_none/"},
		{"reports", ReportsPrefix("w1", "QMM"), "reports/w1/QMM/"},
		{"declaration", DeclarationKey("w1", "QMM"), "reports/w1/QMM/declaration.json"},
		{"load marker", ResponseLoadMarkerKey("w1", "QMM", sha), "reports/w1/QMM/response_loads/" + sha + ".json"},
		{"audit pending", AuditPendingKey("w1", started, "d1"), "audit/pending/w1/00000000000000001234-d1.jsonl"},
		{"audit pending, no wave", AuditPendingPrefix(""), "audit/pending/_none/"},
		{"deaths register", DeathsRegisterKey("QMM"), "sim/dbs/deaths/QMM.csv"},
		{"legacy deaths register", LegacyDeathsRegisterKey, "sim/dbs/deaths.csv"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	// A reference that is not safe as a key is hashed.
	if k := LedgerEntryKey("p/", "../../etc/passwd"); !strings.HasPrefix(k, "p/sha256-") {
		t.Errorf("unsafe reference gave key %s", k)
	}
}

func TestKeyParsers(t *testing.T) {
	if id, ok := OptOutRecordID(OptOutPrefix("w1", "QMM"), OptOutKey("w1", "QMM", "S7")); !ok || id != "S7" {
		t.Errorf("OptOutRecordID = %q %v", id, ok)
	}
	for _, k := range []string{SampleKey("w1", "QMM"), OptOutPrefix("w1", "QMM") + ".parquet", OptOutPrefix("w1", "QMM") + "S1.csv"} {
		if id, ok := OptOutRecordID(OptOutPrefix("w1", "QMM"), k); ok {
			t.Errorf("OptOutRecordID(%s) = %q, want no opt-out", k, id)
		}
	}
	if got := ResponseLoadMarkerSHA(ResponseLoadMarkerKey("w1", "QMM", "abc")); got != "abc" {
		t.Errorf("ResponseLoadMarkerSHA = %q", got)
	}
	if w, i, err := ParsePrintFileKey(PrintFileKey("w1", "QMM", "inv")); err != nil || w != "w1" || i != "QMM" {
		t.Errorf("ParsePrintFileKey = %q %q %v", w, i, err)
	}
	for _, k := range []string{PrintManifestKey(PrintFileKey("w1", "QMM", "inv")), ContactsKey("w1", "QMM"), "restricted/w1/QMM/outbox"} {
		if _, _, err := ParsePrintFileKey(k); err == nil {
			t.Errorf("ParsePrintFileKey(%s) accepted it", k)
		}
	}
}

// Every lake object carries its warehouse table; the lake tables the warehouse does not
// hold cannot be made into one.
func TestLakeObjects(t *testing.T) {
	if o := SampleObject("w1", "QMM"); o.Table != TableSample || o.Key != SampleKey("w1", "QMM") {
		t.Errorf("SampleObject = %+v", o)
	}
	if w, _ := LakeResponseOutcomes.Warehouse(); w != TableOutcomeEvents {
		t.Errorf("the response load's outcomes load into %s", w)
	}
	if w, _ := LakeDuplicates.Warehouse(); w != TableResponseDuplicates {
		t.Errorf("the response load's duplicates load into %s", w)
	}
	if w, _ := LakeFinalOutcomes.Warehouse(); w != TableFinalOutcomes {
		t.Errorf("the closing records load into %s", w)
	}
	for _, lt := range []LakeTable{LakeMailingSelection} {
		if _, ok := lt.Warehouse(); ok {
			t.Errorf("%s has a warehouse table", lt)
		}
		if o := lt.Object("x"); o.InWarehouse() {
			t.Errorf("an object of %s is addressed to the warehouse: %+v", lt, o)
		}
	}
	if !SampleObject("w1", "QMM").InWarehouse() {
		t.Error("the sample is not addressed to the warehouse")
	}
}

func TestCurrentOutcome(t *testing.T) {
	tests := []struct {
		codes []int32
		want  int32
	}{
		{nil, OutcomeNoResponse},
		{[]int32{OutcomeUndelivered, OutcomeCompleted}, OutcomeCompleted},
		{[]int32{OutcomeOptedOut, OutcomeDeceased}, OutcomeDeceased},
		{[]int32{OutcomeUndelivered, OutcomeOptedOut}, OutcomeOptedOut},
		{[]int32{OutcomeIneligible, OutcomeUndelivered}, OutcomeUndelivered},
		{[]int32{OutcomeIneligible}, OutcomeIneligible},
	}
	for _, tt := range tests {
		if got := CurrentOutcome(tt.codes); got != tt.want {
			t.Errorf("CurrentOutcome(%v) = %d, want %d", tt.codes, got, tt.want)
		}
	}
}

func TestThemeLayoutsAndKeys(t *testing.T) {
	for _, l := range []func() *Layout{ResponseThemeLayout, ThemeDecisionLayout, RedactedCommentLayout} {
		if l() == nil {
			t.Fatal("nil layout")
		}
	}
	if w, ok := LakeResponseThemes.Warehouse(); !ok || w != TableResponseThemes {
		t.Fatalf("response_themes goes to %q", w)
	}
	if _, ok := LakeThemeDecisions.Warehouse(); ok {
		t.Fatal("theme decisions are lake only")
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if k := FreeTextKey("W", "QMM", day, "0123456789abcdef01"); !IsFreeTextLoadKey("W", "QMM", k) {
		t.Fatalf("%s not a load key", k)
	}
	for _, k := range []string{RedactedCommentsKey("W", "QMM"), ThemesQDPXKey("W", "QMM"), FreeTextKey("W", "QJK", day, "0123456789abcdef01")} {
		if IsFreeTextLoadKey("W", "QMM", k) {
			t.Fatalf("%s taken for a load key", k)
		}
	}
	if !strings.HasPrefix(RedactedCommentsKey("W", "QMM"), FreeTextRoot("W", "QMM")) {
		t.Fatal("redacted comments outside the free-text area")
	}
	// A chosen quotation is redacted text: the free-text area, never a load key; a
	// verdict is a report, and its keys sort in time order.
	if k := ProfileQuoteKey("W", "QMM", "p", "e", "abc"); !strings.HasPrefix(k, FreeTextRoot("W", "QMM")) || IsFreeTextLoadKey("W", "QMM", k) {
		t.Fatalf("quotation key %s", k)
	}
	early := ProfileVerdictKey("W", "QMM", "p", "e", day.Add(9*time.Second))
	late := ProfileVerdictKey("W", "QMM", "p", "e", day.Add(10*time.Second))
	if !strings.HasPrefix(early, ProfileVerdictsPrefix("W", "QMM", "p")) || !strings.HasPrefix(early, ReportsPrefix("W", "QMM")) || early >= late {
		t.Fatalf("verdict keys %s, %s", early, late)
	}
}

// An ICS's response themes stand in one object; of the earlier form's objects, one per
// run, none stands beside it, and without it only the highest-numbered run's.
func TestStaleResponseThemes(t *testing.T) {
	part := LakePartition(LakeResponseThemes, "W", "QMM")
	for _, tc := range []struct {
		key string
		run int
		ok  bool
	}{
		{part + "run-1.parquet", 1, true},
		{part + "run-12.parquet", 12, true},
		{part + "run-0.parquet", 0, false},
		{part + "run-01.parquet", 0, false},
		{part + "run-x.parquet", 0, false},
		{part + "run-3.csv", 0, false},
		{ResponseThemesKey("W", "QMM"), 0, false},
		{LakePartition(LakeResponses, "W", "QMM") + "run-3.parquet", 0, false},
	} {
		if run, ok := LegacyResponseThemesRun(tc.key); run != tc.run || ok != tc.ok {
			t.Errorf("LegacyResponseThemesRun(%s) = %d, %v; want %d, %v", tc.key, run, ok, tc.run, tc.ok)
		}
	}
	legacy := func(n int) string { return part + "run-" + strconv.Itoa(n) + ".parquet" }
	current := ResponseThemesKey("W", "QMM")
	for _, tc := range []struct {
		name       string
		keys, want []string
	}{
		{"nothing", nil, nil},
		{"the current object alone", []string{current}, nil},
		{"runs of the earlier form", []string{legacy(1), legacy(10), legacy(2), legacy(9)}, []string{legacy(1), legacy(2), legacy(9)}},
		{"runs beside the current object", []string{legacy(1), legacy(12), current}, []string{legacy(1), legacy(12)}},
	} {
		stale := StaleResponseThemes(tc.keys)
		var got []string
		for _, k := range tc.keys {
			if stale[k] {
				got = append(got, k)
			}
		}
		if len(stale) != len(got) || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: stale %v, want %v", tc.name, stale, tc.want)
		}
	}
}
