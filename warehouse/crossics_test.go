package warehouse

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/schemas"
	"icesurvey/store"
)

// crossWorld is a warehouse and a lake for one wave's samples in several ICSs.
type crossWorld struct {
	t  *testing.T
	w  *Warehouse
	st store.Store
	at time.Time
}

const crossWave = "w1"

func newCrossWorld(t *testing.T) *crossWorld {
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &crossWorld{t: t, w: openTemp(t), st: st, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// sample loads (or replaces) ics's sample: one record per pseudonym, its survey record
// id the ICS and the pseudonym ("QMM-p1"), everyone with a mobile.
func (c *crossWorld) sample(ics string, pseudonyms ...string) {
	c.t.Helper()
	var recs []schemas.SampleRecord
	for _, p := range pseudonyms {
		recs = append(recs, schemas.SampleRecord{SurveyRecordID: ics + "-" + p, WaveID: crossWave, ICS: ics,
			NHSPseudonym: p, RegistrationDate: c.at, HasMobile: true})
	}
	c.put(ics, schemas.SampleKey(crossWave, ics), schemas.SampleObject(crossWave, ics), func(key string) error {
		return lake.PutRows(context.Background(), c.st, key, schemas.SampleRecordLayout(), recs)
	})
}

// mail records that ics's step went to the people named, as a send would.
func (c *crossWorld) mail(ics, step string, pseudonyms ...string) {
	c.t.Helper()
	var rows []schemas.MailingEvent
	for _, p := range pseudonyms {
		rows = append(rows, schemas.MailingEvent{Reference: ics + step + p, WaveID: crossWave, ICS: ics,
			SurveyRecordID: ics + "-" + p, Step: step, Channel: mailing.ChannelLetter, SentAt: c.at, Result: "sent"})
	}
	c.at = c.at.Add(time.Hour)
	key := schemas.MailingHistoryKey(crossWave, ics, step)
	c.put(ics, key, schemas.LakeMailingHistory.Object(key), func(key string) error {
		return lake.PutRows(context.Background(), c.st, key, schemas.MailingEventLayout(), rows)
	})
}

// endedEarly records, as the ICS's audit trail does once flushed, that its fieldwork
// ended before its close.
func (c *crossWorld) endedEarly(ics string) {
	c.t.Helper()
	err := c.w.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO audit_log (event_id, wave_id, ics, kind, workflow_id, run_id, activity_type, activity_id, attempt, started_at, outcome, error_type, error, input_sha256, output_sha256, details) VALUES (?, ?, ?, ?, 'ics/w1', 'run', '', '', 0, ?, '', '', '', '', '', '{"cancelled": true}')`,
			"ended-"+ics, crossWave, ics, audit.KindFieldworkEndedEarly, c.at)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *crossWorld) put(ics, key string, obj schemas.LakeObject, write func(string) error) {
	c.t.Helper()
	if err := write(key); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.w.LoadLakeObjects(context.Background(), c.st, crossWave, ics, []schemas.LakeObject{obj}); err != nil {
		c.t.Fatal(err)
	}
}

// selects chooses ics's recipients for a letter and returns their pseudonyms and how
// many were left out as kept by another ICS.
func (c *crossWorld) selects(ics, channel string) ([]string, int) {
	c.t.Helper()
	ids, elsewhere, err := c.w.Recipients(context.Background(), crossWave, ics, channel)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, id := range ids {
		out = append(out, id.SurveyRecordID[len(ics)+1:])
	}
	return out, elsewhere
}

// One person in two ICSs' samples of a wave is chosen by one ICS only, whatever the
// order the samples arrive and the ICSs choose in: the ICS that mailed them first keeps
// them, else the lowest code among the samples that hold them; in the other their
// outcome is 5 (ineligible) and the selection counts them left out.
func TestRecipientsLeaveOutWhomAnotherICSKeeps(t *testing.T) {
	type sel struct {
		ics       string
		want      []string
		elsewhere int
	}
	for _, tc := range []struct {
		name  string
		setup func(c *crossWorld)
		sels  []sel
	}{{
		name: "the lower code keeps, both choosing at the same moment",
		setup: func(c *crossWorld) {
			c.sample("QMM", "p1", "p2", "m1")
			c.sample("QJK", "p1", "p2", "j1")
		},
		sels: []sel{{"QJK", []string{"j1", "p1", "p2"}, 0}, {"QMM", []string{"m1"}, 2}},
	}, {
		name: "the ICS that already mailed them keeps, though its code is higher",
		setup: func(c *crossWorld) {
			c.sample("QMM", "p1", "m1")
			c.mail("QMM", "letter1", "p1", "m1")
			c.sample("QJK", "p1", "j1") // arrives after QMM's invitations went out
		},
		sels: []sel{{"QJK", []string{"j1"}, 1}, {"QMM", []string{"m1", "p1"}, 0}},
	}, {
		name: "a record the lower ICS no longer holds (replaced sample) leaves the person to the higher",
		setup: func(c *crossWorld) {
			c.sample("QJK", "p1", "j1")
			c.sample("QMM", "p1", "m1")
			c.sample("QJK", "j1") // p1 excluded at the revalidated intake
		},
		sels: []sel{{"QJK", []string{"j1"}, 0}, {"QMM", []string{"m1", "p1"}, 0}},
	}, {
		name: "a person mailed by both (the race window) stays in both, neither counts them left out",
		setup: func(c *crossWorld) {
			c.sample("QJK", "p1")
			c.sample("QMM", "p1")
			c.mail("QMM", "letter1", "p1")
			c.mail("QJK", "letter1", "p1")
		},
		sels: []sel{{"QJK", []string{"p1"}, 0}, {"QMM", []string{"p1"}, 0}},
	}, {
		// Cancelled before its invitations: the person would else be mailed nowhere.
		name: "the lower ICS's fieldwork ended early before it mailed them: the higher keeps",
		setup: func(c *crossWorld) {
			c.sample("QJK", "p1", "j1")
			c.sample("QMM", "p1", "m1")
			c.endedEarly("QJK")
		},
		sels: []sel{{"QMM", []string{"m1", "p1"}, 0}},
	}, {
		name: "three ICSs: the first to mail keeps, else the lowest",
		setup: func(c *crossWorld) {
			c.sample("QNX", "p1", "p2")
			c.sample("QMM", "p1", "p2")
			c.sample("QJK", "p2")
			c.mail("QNX", "letter1", "p1")
		},
		sels: []sel{{"QJK", []string{"p2"}, 0}, {"QMM", nil, 2}, {"QNX", []string{"p1"}, 1}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCrossWorld(t)
			tc.setup(c)
			for _, s := range tc.sels {
				got, elsewhere := c.selects(s.ics, mailing.ChannelLetter)
				if !slices.Equal(got, s.want) || elsewhere != s.elsewhere {
					t.Errorf("%s selects %v with %d kept elsewhere, want %v with %d", s.ics, got, elsewhere, s.want, s.elsewhere)
				}
				sms, smsElsewhere := c.selects(s.ics, mailing.ChannelSMS)
				if !slices.Equal(sms, s.want) || smsElsewhere != s.elsewhere {
					t.Errorf("%s SMS selects %v with %d kept elsewhere, want %v with %d", s.ics, sms, smsElsewhere, s.want, s.elsewhere)
				}
				// The closing record says why they were not surveyed here: ineligible.
				final, _, err := c.w.FinalOutcomes(context.Background(), crossWave, s.ics)
				if err != nil {
					t.Fatal(err)
				}
				ineligible := 0
				for _, f := range final {
					if f.Outcome == schemas.OutcomeIneligible {
						ineligible++
					}
				}
				if ineligible != s.elsewhere {
					t.Errorf("%s: %d final outcomes ineligible, want %d", s.ics, ineligible, s.elsewhere)
				}
			}
		})
	}
}

// ICSs choosing on the same day, in turn and each loading its send before the next
// chooses, never both pick one person, whichever ICS goes first.
func TestCrossICSSelectionsOnOneDayNeverOverlap(t *testing.T) {
	for _, order := range [][]string{{"QJK", "QMM", "QNX"}, {"QNX", "QMM", "QJK"}, {"QMM", "QNX", "QJK"}} {
		c := newCrossWorld(t)
		c.sample("QJK", "a", "b", "j")
		c.sample("QMM", "a", "c", "m")
		c.sample("QNX", "b", "c", "a", "n")
		picked := map[string][]string{}
		for _, ics := range order {
			got, _ := c.selects(ics, mailing.ChannelLetter)
			for _, p := range got {
				picked[p] = append(picked[p], ics)
			}
			c.mail(ics, "letter1", got...)
		}
		for p, by := range picked {
			if len(by) != 1 {
				t.Errorf("order %v: %s chosen by %v", order, p, by)
			}
		}
		if len(picked) != 6 {
			t.Errorf("order %v: %d people chosen, want all 6: %v", order, len(picked), picked)
		}
	}
}

// The response rates count a person left out in one ICS as ineligible there: out of the
// adjusted base, in the keeping ICS's as anyone else.
func TestCrossICSResponseRates(t *testing.T) {
	c := newCrossWorld(t)
	c.sample("QMM", "p1", "m1")
	c.sample("QJK", "p1", "j1")
	type rate struct {
		sampled, ineligible, noResponse int
	}
	got := map[string]rate{}
	err := c.w.Read(context.Background(), func(db *sql.DB) error {
		rows, err := db.Query(`SELECT ics, sampled, ineligible, no_response FROM response_rates WHERE wave_id = ?`, crossWave)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ics string
			var r rate
			if err := rows.Scan(&ics, &r.sampled, &r.ineligible, &r.noResponse); err != nil {
				return err
			}
			got[ics] = r
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (rate{2, 0, 2}); got["QJK"] != want {
		t.Errorf("QJK rates %+v, want %+v", got["QJK"], want)
	}
	if want := (rate{2, 1, 1}); got["QMM"] != want {
		t.Errorf("QMM rates %+v, want %+v", got["QMM"], want)
	}
}
