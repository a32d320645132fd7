package main

import (
	"context"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"icesurvey/mailing"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// The wave commands refuse what they would else send on, or send for nobody, before
// they reach the cluster: the errors name the flags. (No cluster answers at the
// address given: a command that got past its checks fails to dial.)
func TestWaveCommandsRefuseBadFlags(t *testing.T) {
	const freeText = "Barbara Hunt's daughter phoned from 07700 900123"
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"opt-out naming the person twice", []string{"opt-out", "W", "--ics", "QMM", "--record", "S2B38D8K9A6GSB5EJ", "--access-code", "Z8ET-UDAY-7PQW"},
			"[access-code record] were all set"},
		{"opt-out naming nobody", []string{"opt-out", "W", "--ics", "QMM"}, "at least one of the flags in the group [record access-code] is required"},
		{"opt-out with free text", []string{"opt-out", "W", "--ics", "QMM", "--record", "S1", "--reason", freeText},
			"--reason: the reason is a code, one of does_not_want, too_ill, deceased, other"},
		{"opt-out of linkage only", []string{"opt-out", "W", "--ics", "QMM", "--record", "S1", "--reason", "withdraw_linkage"}, "`ice link withdraw`"},
		// Without --day the step moved to day 0, the invitation's day.
		{"move with no day", []string{"move", "W", "--ics", "QMM", "--step", "sms1"}, `required flag(s) "day" not set`},
		{"declaration signed by blanks", []string{"declare", "W", "--ics", "QMM", "--by", "   "}, "--by: the declaration must name who signs it"},
		// `ice link withdraw` refused free text in its activity: once the workflow had
		// kept it in its input, and its refusal (which quoted it) in the audit trail.
		{"linkage withdrawal with free text", []string{"withdraw", "--wave", "W", "--record", "S1", "--operator", "A. Engineer", "--reason", freeText},
			"--reason: the reason is a code, one of withdraw_linkage, requested_by_person"},
		{"linkage withdrawal by blanks", []string{"withdraw", "--wave", "W", "--record", "S1", "--operator", "  "},
			"--operator: a withdrawal is recorded with who made it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := waveCmd()
			if tt.args[0] == "withdraw" {
				cmd = linkCmd()
			}
			cmd.SetArgs(append(tt.args, "--address", "127.0.0.1:1"))
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := cmd.ExecuteContext(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "Hunt") {
				t.Fatalf("err %v, want it to say %q (and not repeat the text)", err, tt.want)
			}
		})
	}
}

// An ICS paused on its own is said to be paused, not the wave (whose JSON says
// paused: false); a paused wave says so on its own line.
func TestStatusSaysWhatIsPaused(t *testing.T) {
	paused := waveclient.ICSStatus{WaveID: "W5", ICS: "QWE", Stage: workflows.StageFieldwork, Paused: true, WaitingOn: workflows.WaitingForResume}
	for _, tt := range []struct {
		name       string
		wavePaused bool
		want       []string
		oneResumed bool
		allClosed  bool
	}{
		{"the ICS alone", false, []string{"wave W5: fieldwork\n", "QWE  stage fieldwork, waiting for resume (this ICS is PAUSED)\n"}, false, false},
		// Paused past its close day: closing all the same, and nothing more goes.
		{"the ICS alone, past its close", false, []string{"QCL  stage closing, waiting for the supplier's last files " +
			"(this ICS is paused, but its fieldwork has closed: nothing more is mailed)\n"}, false, false},
		{"the wave", true, []string{"wave W5: fieldwork (PAUSED)\n", "QWE  stage fieldwork, waiting for resume\n"}, false, false},
		// The wave paused, then one ICS resumed on its own: it mails; the wave's line
		// said PAUSED alone.
		{"the wave, one ICS resumed", true, []string{"wave W5: fieldwork (PAUSED, but QMM resumed on its own)\n",
			"QWE  stage fieldwork, waiting for resume\n", "QMM  stage fieldwork, waiting for sms2 (resumed on its own: not paused with the wave)\n"}, true, false},
		// The wave paused past every ICS's close: nothing is left to mail, so resuming
		// it would change nothing; PAUSED alone would say otherwise.
		{"the wave, every ICS closed", true, []string{"wave W5: fieldwork (paused, but every ICS's fieldwork has closed: nothing more is mailed)\n"}, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			st := waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5", Stage: workflows.WaveFieldwork, Paused: tt.wavePaused},
				ICS: []waveclient.ICSStatus{paused, {WaveID: "W5", ICS: "QCL", Stage: workflows.StageClosing, Paused: true,
					WaitingOn: "the supplier's last files"}}}
			if tt.allClosed {
				st.ICS[0].Stage, st.ICS[0].WaitingOn = workflows.StageClosed, ""
			}
			if tt.oneResumed {
				st.ICS = append(st.ICS, waveclient.ICSStatus{WaveID: "W5", ICS: "QMM", Stage: workflows.StageFieldwork, WaitingOn: "sms2"})
			}
			printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), st)
			for _, want := range tt.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("status says\n%s\nwant %q", b.String(), want)
				}
			}
			if strings.Contains(b.String(), "wave is paused") && !tt.wavePaused {
				t.Errorf("status says the wave is paused:\n%s", b.String())
			}
		})
	}
}

// The intake's warnings (an unknown column, an absent exclusion flag) are shown to
// whoever reads the status before signing the declaration.
func TestStatusShowsIntakeWarnings(t *testing.T) {
	s := waveclient.ICSStatus{WaveID: "W5", ICS: "QMM", Stage: workflows.StageDeclaration,
		Intake: &workflows.IntakeStatus{RowsRead: 300, Accepted: 241, ReportKey: "landing/W5/QMM/rejections.csv",
			Warnings: []string{"landing/W5/QMM/sample.csv: unknown column NOTES is ignored"}}}
	var b strings.Builder
	printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5"}, ICS: []waveclient.ICSStatus{s}})
	if !strings.Contains(b.String(), "WARNING: landing/W5/QMM/sample.csv: unknown column NOTES is ignored\n") {
		t.Errorf("status says\n%s\nwithout the intake's warning", b.String())
	}
}

// A mailing an ICS that ended early never sent says so, rather than "scheduled"; an
// SMS step's receipts, expired ones included, follow its count.
func TestStatusMailingLines(t *testing.T) {
	due := time.Date(2026, 11, 9, 10, 0, 0, 0, time.UTC)
	sms := func(m workflows.MailingStatus) workflows.MailingStatus {
		m.Step, m.Channel, m.Day = "sms1", "sms", 3
		return m
	}
	for _, tt := range []struct {
		name  string
		m     workflows.MailingStatus
		ended bool
		want  string
	}{
		{"scheduled", sms(workflows.MailingStatus{State: workflows.MailingScheduled}), false, "sms1 (sms, day 3)  scheduled\n"},
		{"scheduled, ended early", sms(workflows.MailingStatus{State: workflows.MailingScheduled}), true, "sms1 (sms, day 3)  not sent (the ICS ended early)\n"},
		{"checking, ended early", sms(workflows.MailingStatus{State: workflows.MailingChecking}), true, "not sent (the ICS ended early)\n"},
		{"waiting for the SMS hours", sms(workflows.MailingStatus{State: workflows.MailingAwaitingHours}), false,
			"sms1 (sms, day 3)  checked, waiting for the SMS sending hours (the ICS's line says until when)\n"},
		{"waiting for the SMS hours, ended early", sms(workflows.MailingStatus{State: workflows.MailingAwaitingHours}), true, "sms1 (sms, day 3)  not sent (the ICS ended early)\n"},
		{"sending, ended early", sms(workflows.MailingStatus{State: workflows.MailingSending}), true, "ended early while sending: some may have gone\n"},
		{"sent, ended early later", sms(workflows.MailingStatus{State: workflows.MailingSent, Sent: 9, Selected: 10, Failed: 1}), true,
			"sent: 9 of 10 selected, 1 failed\n"},
		{"receipts due", sms(workflows.MailingStatus{State: workflows.MailingSent, Sent: 10, Selected: 10, ReceiptsDueAt: due}), false,
			"sent: 10 of 10 selected; receipts due 2026-11-09T10:00:00Z\n"},
		{"receipts final, some expired", sms(workflows.MailingStatus{State: workflows.MailingSent, Sent: 10, Selected: 10,
			Delivered: 6, PermanentFailures: 1, TemporaryFailures: 1, ReceiptsExpired: 2, ReceiptsFinal: true}), false,
			"sent: 10 of 10 selected; receipts: 6 delivered, 1 failed for good, 1 failed for now, 2 expired (deleted by Notify before read: result unknown)\n"},
		{"receipts in flight", sms(workflows.MailingStatus{State: workflows.MailingSent, Sent: 10, Selected: 10, Delivered: 8, ReceiptsDueAt: due}), false,
			"; receipts: 8 delivered, 0 failed for good, 0 failed for now, the rest in flight\n"},
		// Paused past the close day: the close came first, and it never goes.
		{"not sent, fieldwork closed", workflows.MailingStatus{Step: "reminder1", Channel: "letter", Day: 14, State: workflows.MailingNotSent,
			NotSent: workflows.NotSentFieldworkClosed}, false, "reminder1 (letter, day 14)  not sent (fieldwork closed before it went out)\n"},
		{"letter", workflows.MailingStatus{Step: "reminder1", Channel: "letter", Day: 14, State: workflows.MailingSent, Sent: 5, Selected: 5}, false,
			"reminder1 (letter, day 14)  sent: 5 of 5 selected\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5", Stage: workflows.WaveFieldwork},
				ICS: []waveclient.ICSStatus{{WaveID: "W5", ICS: "QWE", Stage: workflows.StageMailing, Mailings: []workflows.MailingStatus{tt.m}}}}
			if tt.ended {
				st.Wave.ICS = []workflows.WaveICSStatus{{ICS: "QWE", Error: "cancelled"}}
			}
			var b strings.Builder
			printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), st)
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("status says\n%s\nwant %q", b.String(), tt.want)
			}
		})
	}
}

// A sent step's line says how many were left out as kept by another ICS's sample (so
// nobody looks silently dropped), and says nothing of it when there were none.
func TestMailingLineCountsThoseInAnotherICS(t *testing.T) {
	for _, tc := range []struct {
		m    workflows.MailingStatus
		want string
	}{
		{workflows.MailingStatus{Channel: mailing.ChannelLetter, State: workflows.MailingSent, Selected: 10, Sent: 10},
			"sent: 10 of 10 selected"},
		{workflows.MailingStatus{Channel: mailing.ChannelLetter, State: workflows.MailingSent, Selected: 10, Sent: 10, InAnotherICS: 2},
			"sent: 10 of 10 selected (2 more in another ICS's sample, invited there)"},
	} {
		if got := mailingLine(tc.m, false); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// A DBS request whose step the close gave up is no longer awaited: the status says so
// rather than "awaiting reply", which would have someone chase a reply nothing needs.
func TestStatusDBSRequestOfAStepNotSent(t *testing.T) {
	closed := waveclient.ICSStatus{WaveID: "W5", ICS: "QMM", Stage: workflows.StageClosed,
		DBS: []workflows.DBSStatus{
			{RequestID: "r1", ForStep: "letter1", Sent: 300, Replied: true, Matched: 298, Deceased: 2},
			{RequestID: "r2", ForStep: "reminder2", Sent: 280},
		},
		Mailings: []workflows.MailingStatus{
			{Step: "letter1", Channel: "letter", Day: 0, State: workflows.MailingSent},
			{Step: "reminder2", Channel: "letter", Day: 28, State: workflows.MailingNotSent, NotSent: "fieldwork closed"},
		}}
	var b strings.Builder
	printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5"}, ICS: []waveclient.ICSStatus{closed}})
	for _, want := range []string{"300 sent: 298 matched, 2 deceased",
		"280 sent: no reply, and none needed: the step was not sent (fieldwork closed)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status says\n%s\nwant %q", b.String(), want)
		}
	}
	if strings.Contains(b.String(), "awaiting reply") {
		t.Errorf("status says a DBS reply is awaited for a step that will never go out:\n%s", b.String())
	}
}

// A pause of what was paused already when the command looked, or a resume of what was
// not paused, says so; a pause or resume that another command's, sent at the same
// moment, overtook says that the other's stands. Two engineers' pause and resume of one
// ICS at once printed "pause sent" and "resume sent (it was not paused: nothing
// changes)", and the ICS was left running: the resume had undone the pause.
func TestUnchangedNote(t *testing.T) {
	status := func(wavePaused bool, paused ...bool) *waveclient.Status {
		st := &waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5", Paused: wavePaused}}
		for i, p := range paused {
			st.ICS = append(st.ICS, waveclient.ICSStatus{WaveID: "W5", ICS: []string{"QMM", "QJK"}[i], Paused: p})
		}
		return st
	}
	for _, tt := range []struct {
		name          string
		before, after *waveclient.Status
		use           string
		ics           string
		want          string
	}{
		{"pause a running wave", status(false, false, false), status(true, true, true), "pause", "", ""},
		{"pause a paused wave", status(true, true, true), status(true, true, true), "pause", "", " (the wave was already paused when this command looked)"},
		{"pause a wave whose ICSs were paused one by one", status(false, true, true), status(true, true, true), "pause", "", ""},
		{"resume a running wave", status(false, false, false), status(false, false, false), "resume", "", " (the wave was not paused when this command looked)"},
		{"resume a paused wave", status(true, true, true), status(false, false, false), "resume", "", ""},
		{"resume a wave with one ICS paused alone", status(false, true, false), status(false, false, false), "resume", "", ""},
		{"pause a paused ICS", status(false, true, false), status(false, true, false), "pause", "qmm", " (it was already paused when this command looked)"},
		{"pause a running ICS", status(false, true, false), status(false, true, true), "pause", "QJK", ""},
		{"resume a running ICS", status(false, true, false), status(false, true, false), "resume", "QJK", " (it was not paused when this command looked)"},
		{"resume a paused ICS", status(false, true, false), status(false, false, false), "resume", "QMM", ""},
		{"status unknown", nil, nil, "pause", "QMM", ""},
		{"an ICS the status lacks", status(false, true), status(false, true), "pause", "QXX", ""},
		{"the state after unknown", status(false, true, false), nil, "pause", "QMM", " (it was already paused when this command looked)"},
		// Two commands at once.
		{"a pause a resume overtook", status(false, false, false), status(false, false, false), "pause", "QJK",
			" (but it is not paused now: a resume sent since, by another command, stands; `ice wave status` says more)"},
		{"a resume a pause overtook", status(false, false, true), status(false, false, true), "resume", "QJK",
			" (but it is paused now: a pause sent since, by another command, stands; `ice wave status` says more)"},
		{"a wave's pause a resume overtook", status(false, false, false), status(false, false, false), "pause", "",
			" (but the wave is not paused now: a resume sent since, by another command, stands; `ice wave status` says more)"},
		{"a wave's pause its ICSs have not all taken yet", status(false, false, false), status(true, true, false), "pause", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := unchangedNote(tt.before, tt.after, tt.use, tt.ics); got != tt.want {
				t.Errorf("unchangedNote = %q, want %q", got, tt.want)
			}
		})
	}
}

// An invitation that went out after the declaration (it waited for its DBS reply) moves
// day 0: the status says when, since the later steps and the close count from it.
func TestStatusShowsDayZero(t *testing.T) {
	s := waveclient.ICSStatus{WaveID: "W5", ICS: "QMM", Stage: workflows.StageFieldwork,
		Declaration: &workflows.DeclarationState{By: "Dr A. Jones", At: time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC)},
		DayZero:     time.Date(2026, 11, 9, 14, 30, 0, 0, time.UTC)}
	var b strings.Builder
	printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5"}, ICS: []waveclient.ICSStatus{s}})
	if !strings.Contains(b.String(), "day 0        2026-11-09T14:30:00Z, when the invitation went out") {
		t.Errorf("status says\n%s\nwithout day 0", b.String())
	}
	s.DayZero = time.Time{}
	b.Reset()
	printStatus(tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0), waveclient.Status{Wave: workflows.WaveStatus{WaveID: "W5"}, ICS: []waveclient.ICSStatus{s}})
	if strings.Contains(b.String(), "day 0") {
		t.Errorf("status names a day 0 the ICS has not moved:\n%s", b.String())
	}
}

// Two moves of one step at once, to days 16 and 15: each update answered "now on day
// N", and the step ended on the day of the later one. The earlier one's answer says
// the later one stands; an answer the status agrees with adds nothing.
func TestMovedSinceNote(t *testing.T) {
	status := func(day int) *waveclient.ICSStatus {
		return &waveclient.ICSStatus{WaveID: "W5", ICS: "QMM", Mailings: []waveclient.MailingStatus{
			{Step: "invitation", Day: 0}, {Step: "reminder1", Day: day}, {Step: "sms2", Day: 17}}}
	}
	moved := waveclient.MailingStatus{Step: "reminder1", Day: 16}
	for _, tt := range []struct {
		name  string
		after *waveclient.ICSStatus
		want  string
	}{
		{"the move stands", status(16), ""},
		{"another move came after", status(15), " (but it is on day 15 now: a move sent since, by another command, stands; `ice wave status` says more)"},
		{"status unknown", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := movedSinceNote(moved, tt.after); got != tt.want {
				t.Errorf("movedSinceNote = %q, want %q", got, tt.want)
			}
		})
	}
}
