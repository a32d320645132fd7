package mailing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/internal/crashpoint"
	"icesurvey/notify"
	"icesurvey/schemas"
	"icesurvey/store"
)

// ErrPrintFileConflict is returned (wrapped) when a print file for a step already
// exists with different contents. A print file is never silently replaced: a mailing
// list that changed after it was handed to the printer needs a person to decide.
// It is a fault.Conflict: no retry can resolve it.
var ErrPrintFileConflict = fault.New(fault.Conflict, "print file already exists with different contents")

// PrintColumns is the print file's header, in order.
var PrintColumns = []string{
	"message_reference", "survey_record_id", "title", "first_name", "last_name",
	"address_1", "address_2", "address_3", "address_4", "address_5", "postcode",
	"access_code", "survey_url", "mailing_step", "mailing_kind", "mailing_day",
	"paper_questionnaire", "carer_insert",
}

// Manifest describes a print file; it is stored beside it as {key}.manifest.json and is
// written last, so a print file with a manifest is complete.
type Manifest struct {
	Key                string    `json:"key"`
	Wave               string    `json:"wave"`
	ICS                string    `json:"ics"`
	Step               string    `json:"step"`
	Kind               string    `json:"kind"`
	Day                int       `json:"day"`
	PaperQuestionnaire bool      `json:"paper_questionnaire"`
	CarerInsert        bool      `json:"carer_insert"`
	Rows               int       `json:"rows"`
	Bytes              int64     `json:"bytes"`
	SHA256             string    `json:"sha256"`
	Columns            []string  `json:"columns"`
	Created            time.Time `json:"created"`
}

// WritePrintFile writes the print file for one letter step: one CSV row per contact
// with the mailing variables, the enclosures and the message reference, sorted by survey
// record id. key must lie in a restricted outbox, restricted/{wave}/{ics}/outbox/...
// (schemas.PrintFileKey); the wave and ICS are read from it. surveyURL is printed as it is, or,
// if it contains "{access_code}", with the person's access code put in its place.
//
// It is idempotent. If the file and its manifest already hold the same contents, it
// returns the existing manifest and writes nothing. If the file exists without a
// manifest (a crash between the two writes) with the same contents, only the manifest
// is written. If either exists with different contents it returns ErrPrintFileConflict
// and writes nothing.
func WritePrintFile(ctx context.Context, st store.Store, key string, step Step, surveyURL string, contacts []schemas.Contact) (Manifest, error) {
	wave, ics, err := outboxKeyParts(key)
	if err != nil {
		return Manifest{}, err
	}
	// The step and the survey URL are the wave's settings: one that cannot make a print
	// file is a fault.Configuration no retry can fix.
	if step.Channel != ChannelLetter {
		return Manifest{}, fault.Errorf(fault.Configuration, "mailing: print file %s: step %q is %s, not a letter", key, step.Name, step.Channel)
	}
	if step.Name == "" {
		return Manifest{}, fault.Errorf(fault.Configuration, "mailing: print file %s: step has no name", key)
	}
	if strings.TrimSpace(surveyURL) == "" {
		return Manifest{}, fault.Errorf(fault.Configuration, "mailing: print file %s: no survey URL (the wave spec's survey_url)", key)
	}
	content, rows, err := buildPrintFile(wave, ics, step, surveyURL, contacts)
	if err != nil {
		return Manifest{}, fmt.Errorf("mailing: print file %s: %w", key, err)
	}
	sum := sha256.Sum256(content)
	m := Manifest{
		Key: key, Wave: wave, ICS: ics, Step: step.Name, Kind: step.Kind(), Day: step.Day,
		PaperQuestionnaire: step.PaperQuestionnaire, CarerInsert: step.CarerInsert,
		Rows: rows, Bytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		Columns: PrintColumns, Created: time.Now().UTC().Truncate(time.Second),
	}
	mkey := schemas.PrintManifestKey(key)

	existing, err := ReadManifest(ctx, st, key)
	switch {
	case err == nil:
		if existing.SHA256 != m.SHA256 {
			return Manifest{}, fmt.Errorf("mailing: print file %s for step %q: %w (existing sha256 %s, %d rows; new sha256 %s, %d rows)",
				key, step.Name, ErrPrintFileConflict, existing.SHA256, existing.Rows, m.SHA256, m.Rows)
		}
		got, _, err := store.SHA256(ctx, st, key)
		if err != nil {
			return Manifest{}, fmt.Errorf("mailing: print file %s has a manifest but cannot be read: %w", key, err)
		}
		if got != existing.SHA256 {
			return Manifest{}, fmt.Errorf("mailing: print file %s does not match its manifest (sha256 %s, manifest %s)", key, got, existing.SHA256)
		}
		audit.Record(ctx, "print_file_unchanged", map[string]any{"key": key, "step": step.Name, "rows": existing.Rows, "sha256": existing.SHA256})
		return existing, nil
	case !errors.Is(err, store.ErrNotExist):
		return Manifest{}, err
	}

	ok, err := store.Exists(ctx, st, key)
	if err != nil {
		return Manifest{}, fmt.Errorf("mailing: print file %s: %w", key, err)
	}
	if ok {
		got, _, err := store.SHA256(ctx, st, key)
		if err != nil {
			return Manifest{}, fmt.Errorf("mailing: print file %s: %w", key, err)
		}
		if got != m.SHA256 {
			return Manifest{}, fmt.Errorf("mailing: print file %s for step %q (no manifest): %w (existing sha256 %s; new sha256 %s, %d rows)",
				key, step.Name, ErrPrintFileConflict, got, m.SHA256, m.Rows)
		}
	} else if err := store.PutBytes(ctx, st, key, content); err != nil {
		return Manifest{}, fmt.Errorf("mailing: write print file %s: %w", key, err)
	}
	// A crash here leaves a print file without its manifest: the crash campaign
	// (bench/chaos) holds the worker at this point to kill it.
	crashpoint.Stall(ctx, crashpoint.PrintFile, key)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("mailing: encode manifest for %s: %w", key, err)
	}
	if err := store.PutBytes(ctx, st, mkey, append(mb, '\n')); err != nil {
		return Manifest{}, fmt.Errorf("mailing: write manifest %s: %w", mkey, err)
	}
	audit.Record(ctx, "print_file_written", map[string]any{
		"key": key, "step": step.Name, "rows": m.Rows, "sha256": m.SHA256,
		"paper_questionnaire": step.PaperQuestionnaire, "carer_insert": step.CarerInsert,
	})
	return m, nil
}

// ReadManifest reads the manifest of the print file at key; the error wraps
// store.ErrNotExist when there is none.
func ReadManifest(ctx context.Context, st store.Store, key string) (Manifest, error) {
	b, err := store.ReadAll(ctx, st, schemas.PrintManifestKey(key))
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("mailing: decode manifest %s: %w", schemas.PrintManifestKey(key), err)
	}
	return m, nil
}

func outboxKeyParts(key string) (wave, ics string, err error) {
	if err := store.ValidateKey(key); err != nil {
		return "", "", fmt.Errorf("mailing: print file: %w", err)
	}
	if wave, ics, err = schemas.ParsePrintFileKey(key); err != nil {
		return "", "", fmt.Errorf("mailing: %w", err)
	}
	return wave, ics, nil
}

// buildPrintFile renders the CSV. Problems name survey record ids only. The file is for
// machines (the print supplier's mail merge), so names and addresses go in as the ICS
// sent them, not neutralised against spreadsheet formulae (an apostrophe in front of
// "=" or "-" would be printed on the letter); a person who opens it in a spreadsheet
// should import it as text.
func buildPrintFile(wave, ics string, step Step, surveyURL string, contacts []schemas.Contact) ([]byte, int, error) {
	sorted := slices.Clone(contacts)
	slices.SortFunc(sorted, func(a, b schemas.Contact) int { return strings.Compare(a.SurveyRecordID, b.SurveyRecordID) })
	var problems []error
	for i, c := range sorted {
		id := c.SurveyRecordID
		var missing []string
		if id == "" {
			problems = append(problems, fmt.Errorf("contact %d has no survey_record_id", i+1))
			continue
		}
		if i > 0 && sorted[i-1].SurveyRecordID == id {
			problems = append(problems, fmt.Errorf("survey_record_id %s appears more than once", id))
		}
		if c.ICS != "" && c.ICS != ics {
			problems = append(problems, fmt.Errorf("survey_record_id %s belongs to ICS %s, not %s", id, c.ICS, ics))
		}
		if strings.TrimSpace(c.Address1) == "" {
			missing = append(missing, "address_1")
		}
		if !notify.ValidPostcode(c.Postcode) {
			missing = append(missing, "a valid postcode")
		}
		if strings.TrimSpace(c.AccessCode) == "" {
			missing = append(missing, "access_code")
		}
		if strings.TrimSpace(c.LastName) == "" && strings.TrimSpace(c.FirstName) == "" {
			missing = append(missing, "a name")
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Errorf("survey_record_id %s lacks %s", id, strings.Join(missing, ", ")))
		}
		if len(problems) >= 20 {
			problems = append(problems, errors.New("(further problems not listed)"))
			break
		}
	}
	if len(problems) > 0 {
		return nil, 0, errors.Join(problems...)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write(PrintColumns)
	for _, c := range sorted {
		_ = w.Write([]string{
			Reference(wave, ics, c.SurveyRecordID, step.Name), c.SurveyRecordID,
			clean(c.Title), clean(c.FirstName), clean(c.LastName),
			clean(c.Address1), clean(c.Address2), clean(c.Address3), clean(c.Address4), clean(c.Address5),
			notify.NormalisePostcode(c.Postcode), clean(c.AccessCode), personalURL(surveyURL, c.AccessCode),
			step.Name, step.Kind(), fmt.Sprint(step.Day), yn(step.PaperQuestionnaire), yn(step.CarerInsert),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, 0, fmt.Errorf("render CSV: %w", err)
	}
	return buf.Bytes(), len(sorted), nil
}

func personalURL(base, code string) string {
	if strings.Contains(base, "{access_code}") {
		return strings.ReplaceAll(base, "{access_code}", url.QueryEscape(strings.TrimSpace(code)))
	}
	return base
}

// clean trims a field and folds any line break into a space: a print row is one line.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}
