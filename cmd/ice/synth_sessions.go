package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/store"
)

// synthSessionsCmd is `ice synth sessions`: synthetic focus-group notes for a profile
// (#17), written to the free-text area of a wave's ICS (where the profile report reads
// them) or to a directory.
func synthSessionsCmd() *cobra.Command {
	var profileID, wave, ics, storeURL, out, date, method string
	var n int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "sessions --profile P (--wave W --ics X --store URL | --out DIR)",
		Short: "Write synthetic focus-group notes for a profile (with personal data for the redactor to remove)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			day := time.Now().UTC()
			if date != "" {
				d, err := time.Parse(time.DateOnly, date)
				if err != nil {
					return fmt.Errorf("--date: want yyyy-mm-dd: %w", err)
				}
				day = d
			}
			var st store.Store
			if wave != "" || storeURL != "" {
				if wave == "" || ics == "" || storeURL == "" {
					return fmt.Errorf("--wave, --ics and --store go together")
				}
				var err error
				if st, err = store.Open(cmd.Context(), storeURL); err != nil {
					return err
				}
				// A mistyped wave or ICS (qmm for QMM) would have the notes written
				// where no report reads them.
				if err := sampleInLake(cmd.Context(), st, wave, ics); err != nil {
					return err
				}
			} else if out == "" {
				return fmt.Errorf("give --wave, --ics and --store, or --out")
			}
			where, err := synthSessions(cmd.Context(), st, profileID, wave, ics, out, method, day, n, seed)
			if err != nil {
				return err
			}
			for _, w := range where {
				fmt.Println(w)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profileID, "profile", "", "profile id: "+fmt.Sprint(profiles.IDs()))
	f.StringVar(&wave, "wave", "", "wave whose free-text area takes the notes")
	f.StringVar(&ics, "ics", "", "ICS whose free-text area takes the notes")
	f.StringVar(&storeURL, "store", "", "object store (with --wave and --ics)")
	f.StringVar(&out, "out", "", "directory to write the notes to instead")
	f.StringVar(&date, "date", "", "session date yyyy-mm-dd (default today)")
	f.StringVar(&method, "method", profiles.MethodFocusGroup, "focus_group or interview")
	f.IntVar(&n, "n", 2, "number of sessions")
	f.Uint64Var(&seed, "seed", 1, "random seed (same seed, same notes)")
	return cmd
}

// synthSessions writes n sessions' notes and returns where each went, with the themes
// the generator put in (the truth, for checking the coding) and the session records to
// add to the profile's YAML.
func synthSessions(ctx context.Context, st store.Store, profileID, wave, ics, out, method string, day time.Time, n int, seed uint64) ([]string, error) {
	// The profile in force: one an analyst defined (ice profiles define) is known
	// only to the store; with --out and no store, the built-in ones.
	var p *profiles.Profile
	var err error
	if st != nil {
		p, err = profiles.Lookup(ctx, st, profileID)
	} else {
		p, err = profiles.Get(profileID)
	}
	if err != nil {
		return nil, err
	}
	var where []string
	var records []profiles.Session
	for i := range n {
		notes, err := profiles.SynthSession(profiles.SessionSpec{Profile: p, SessionID: fmt.Sprintf("synth-%s-%c", day.Format("20060102"), 'a'+i),
			Method: method, Date: day, Seed: seed + uint64(i)})
		if err != nil {
			return where, err
		}
		// The session's record beside its notes: the profile report shows its method,
		// date, participants and consent.
		rec, err := yaml.Marshal(notes.Session)
		if err != nil {
			return where, err
		}
		var dest string
		if st != nil {
			dest = schemas.FreeTextRoot(wave, ics) + notes.Session.TranscriptKey
			if err := store.PutBytes(ctx, st, schemas.FreeTextRoot(wave, ics)+profiles.SessionRecordKey(p.ID, notes.Session.ID), rec); err != nil {
				return where, err
			}
			if err := store.PutBytes(ctx, st, dest, []byte(notes.Text)); err != nil {
				return where, err
			}
			dest = st.URL() + "/" + dest
		} else {
			dest = filepath.Join(out, notes.Session.TranscriptKey)
			if err := os.MkdirAll(filepath.Dir(dest), 0o750); err != nil {
				return where, err
			}
			if err := os.WriteFile(dest, []byte(notes.Text), 0o600); err != nil {
				return where, err
			}
			if err := os.WriteFile(filepath.Join(out, profiles.SessionRecordKey(p.ID, notes.Session.ID)), rec, 0o600); err != nil {
				return where, err
			}
		}
		counts := notes.ThemeCounts()
		ids := make([]string, 0, len(counts))
		for id := range counts {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		line := fmt.Sprintf("%s: %d contributions →", dest, notes.Contributions())
		for _, id := range ids {
			line += fmt.Sprintf(" %s %d", id, counts[id])
		}
		where = append(where, line)
		records = append(records, notes.Session)
	}
	y, err := yaml.Marshal(map[string]any{"sessions": records})
	if err != nil {
		return where, err
	}
	where = append(where, "# session records for profiles/defs/"+profileID+".yaml (the profiles are built into ice: add them there and rebuild ice and its workers to have them checked):\n"+string(y))
	return where, nil
}
