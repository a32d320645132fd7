package dashdata

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
)

// testSpec is a synthetic wave with ICSs of every size: large ones, a small one whose
// breakdowns are mostly withheld, and a tiny one whose every figure is withheld.
var testSpec = pubsynth.Spec{Wave: "W1", Seed: 11, Duplicates: 0.02, Incomplete: 0.02,
	LocalQuestions: map[string][]string{"QAA": {"LQ_LONELINESS"}, "QCC": {"LQ_DIGITAL_SERVICES"}},
	ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 900, Patients: 300, Carers: 90, Deceased: 12, Ineligible: 3, OptedOut: 20, Undelivered: 15},
		{Code: "QBB", Sampled: 1000, Patients: 320, Carers: 100, Deceased: 15, Ineligible: 2, OptedOut: 9, Undelivered: 30,
			YoungPropensity: 0.3, SeverePropensity: 0.4, Effect: 0.06},
		{Code: "QCC", Sampled: 150, Patients: 45, Carers: 12, Deceased: 3, OptedOut: 2, YoungPropensity: 0.2, Effect: -0.05},
		{Code: "QEE", Sampled: 60, Patients: 8, Carers: 6, Deceased: 1},
	}}

// testRelease is the release written from the same snapshot and loaded back into the
// warehouse, as the publication workflow does.
const testRelease = "R1"

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixture     *pubsynth.Wave
	fixtureRes  *publication.Results
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// buildFixture builds the synthetic wave once: its warehouse, a release computed from
// it and written to its store, and the release's tables loaded into the warehouse.
func buildFixture(t testing.TB) (*pubsynth.Wave, *publication.Results) {
	t.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		fixtureDir, fixtureErr = os.MkdirTemp("", "dashdata-test-")
		if fixtureErr != nil {
			return
		}
		fixture, fixtureErr = pubsynth.Build(ctx, fixtureDir, testSpec)
		if fixtureErr != nil {
			return
		}
		fixtureErr = func() error {
			p := publication.DefaultParams()
			p.CodeVersion = "test"
			var err error
			if err = fixture.Warehouse.Read(ctx, func(db *sql.DB) error {
				fixtureRes, err = publication.Compute(ctx, db, testSpec.Wave, p)
				return err
			}); err != nil {
				return fmt.Errorf("compute: %w", err)
			}
			m, err := publication.Write(ctx, fixture.Store, fixtureRes, testRelease)
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if _, err := fixture.Warehouse.LoadLakeObjects(ctx, fixture.Store, testSpec.Wave, "", m.WarehouseObjects()); err != nil {
				return fmt.Errorf("load the release: %w", err)
			}
			if err := writeResponseThemes(ctx, fixture); err != nil {
				return fmt.Errorf("response_themes: %w", err)
			}
			if err := writeLinkageDisclosed(ctx, fixture); err != nil {
				return fmt.Errorf("linkage_disclosed: %w", err)
			}
			// QEE has closed: its closing record, as CloseFieldwork writes it.
			if err := fixture.Warehouse.Write(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO final_outcomes (survey_record_id, wave_id, ics, outcome)
					SELECT survey_record_id, wave_id, ics, outcome FROM outcomes WHERE wave_id = ? AND ics = 'QEE'`, testSpec.Wave)
				return err
			}); err != nil {
				return fmt.Errorf("final_outcomes: %w", err)
			}
			// QCC's fieldwork ended early (cancelled): the event its ICS workflow records.
			if err := fixture.Warehouse.Write(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (event_id, wave_id, ics, kind, workflow_id, run_id, activity_type,
					activity_id, attempt, started_at, outcome, error_type, error, input_sha256, output_sha256, details)
					VALUES ('ended-QCC', ?, 'QCC', ?, 'wave/W1/ics/QCC', 'r', 'RecordFieldworkEndedEarly', '1', 1, now(), '', '', '', '', '',
					'{"cancelled":true,"reason":"cancelled"}')`, testSpec.Wave, audit.KindFieldworkEndedEarly)
				return err
			}); err != nil {
				return fmt.Errorf("audit_log: %w", err)
			}
			return nil
		}()
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture, fixtureRes
}

// testThemeCodes are the fixture's free-text codes (issue #17): for each ICS,
// respondent type, theme and polarity, how many comments' standing codes include it.
// QBB's patients have large counts beside small ones (holistic positive 2, continuity
// negative 3), which disclosure control must withhold; QEE's few comments are all small.
var testThemeCodes = []struct {
	ics, typ, theme, polarity string
	n                         int
}{
	{"QBB", "patient", "communication", "negative", 40}, {"QBB", "patient", "communication", "positive", 12},
	{"QBB", "patient", "holistic", "negative", 25}, {"QBB", "patient", "holistic", "positive", 2},
	{"QBB", "patient", "information", "negative", 18}, {"QBB", "patient", "information", "positive", 9},
	{"QBB", "patient", "continuity", "negative", 3}, {"QBB", "patient", "continuity", "positive", 30},
	{"QBB", "patient", "involvement", "negative", 14}, {"QBB", "patient", "involvement", "positive", 21},
	{"QBB", "patient", "burden", "negative", 26}, {"QBB", "patient", "burden", "positive", 6},
	{"QBB", "carer", "communication", "negative", 11}, {"QBB", "carer", "burden", "negative", 7},
	{"QAA", "patient", "communication", "negative", 22}, {"QAA", "patient", "holistic", "positive", 16},
	{"QAA", "patient", "information", "negative", 13}, {"QAA", "patient", "burden", "negative", 10},
	{"QEE", "patient", "communication", "negative", 3}, {"QEE", "patient", "holistic", "negative", 1},
}

// writeResponseThemes writes testThemeCodes into the warehouse's response_themes: one
// comment per count, each coded by the model, and a coder's decision standing (final)
// on every third. Superseded rows (final = false) add codes that must not be counted.
func writeResponseThemes(ctx context.Context, w *pubsynth.Wave) error {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		ins := `INSERT INTO response_themes (wave, ics, response_id, question_id, theme, coded_by, source, polarity, confidence, final,
			respondent_type, codebook_version, coded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		for k, c := range testThemeCodes {
			for i := range c.n {
				id := fmt.Sprintf("%s-%s-%d-%d", c.ics, c.typ, k, i)
				conf := 0.8
				final := i%3 != 0
				if _, err := tx.ExecContext(ctx, ins, testSpec.Wave, c.ics, id, "P_FREE_TEXT", c.theme, "model", "model", c.polarity, &conf, final,
					c.typ, "ice-integration-themes-v1", at); err != nil {
					return err
				}
				if !final {
					if _, err := tx.ExecContext(ctx, ins, testSpec.Wave, c.ics, id, "P_FREE_TEXT", c.theme, "coder.one", "coder", c.polarity, nil, true,
						c.typ, "ice-integration-themes-v1", at); err != nil {
						return err
					}
				}
				// A suggestion the coder removed: never counted.
				if i == 0 {
					if _, err := tx.ExecContext(ctx, ins, testSpec.Wave, c.ics, id, "P_FREE_TEXT", "burden", "model-old", "model", "negative", &conf, false,
						c.typ, "ice-integration-themes-v1", at); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// testLinkageRelease is the fixture's linkage release: linkage_disclosed as the
// linkage's disclosure step writes it, withheld cells with NULL numbers.
const testLinkageRelease = "L20270301"

func writeLinkageDisclosed(ctx context.Context, w *pubsynth.Wave) error {
	type row struct {
		aggregate, subject, grouping, value, category string
		count, base                                   *int64
		status                                        string
	}
	n := func(v int64) *int64 { return &v }
	rows := []row{
		{"experience_by_burden", "P_REPEAT_STORY", "providers_12m", "1", "positive", n(16), n(22), "L"},
		{"experience_by_burden", "P_REPEAT_STORY", "providers_12m", "1", "not_positive", n(6), n(22), "L"},
		{"experience_by_burden", "P_REPEAT_STORY", "providers_12m", "2", "positive", nil, nil, "P"},
		{"experience_by_burden", "P_REPEAT_STORY", "providers_12m", "2", "not_positive", nil, nil, "S"},
		{"experience_by_burden", "P_REPEAT_STORY", "efi_band", "severe", "positive", n(90), n(150), ""},
		{"experience_by_condition", "P_REPEAT_STORY", "condition", "heart_failure", "positive", n(40), n(70), ""},
		{"match_rates", "gpad", "ics", "QBB", "linked", n(157), n(165), ""},
		{"match_rates", "gpad", "age_band", "75-84", "linked", n(60), n(64), ""},
		{"consent_rates", "age_band", "age_band", "75-84", "consented", n(64), n(90), ""},
		{"consent_rates", "ethnicity_group", "ethnicity_group", "asian", "consented", n(40), n(60), ""},
		{"match_rates", "gpad", "ethnicity_group", "not_stated", "linked", n(30), n(33), ""},
		{"experience_by_consent", "P_REPEAT_STORY", "consent", "not_consented", "positive", n(30), n(52), ""},
	}
	return w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			var share *float64
			if r.count != nil {
				v := float64(*r.count) / float64(*r.base)
				share = &v
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO linkage_disclosed (release_id, wave_id, aggregate, subject, grouping, group_value,
				category, count, base, share, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				testLinkageRelease, testSpec.Wave, r.aggregate, r.subject, r.grouping, r.value, r.category, r.count, r.base, share, r.status); err != nil {
				return err
			}
		}
		return nil
	})
}
