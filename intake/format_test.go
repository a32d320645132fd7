package intake

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

func runText(t *testing.T, st store.Store, sampleText, mailingText string) (*Result, error) {
	t.Helper()
	put(t, st, sampleKey, sampleText)
	put(t, st, mailingKey, mailingText)
	return Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
}

func TestHeaderHandling(t *testing.T) {
	s, m := goodRows(3)
	t.Run("case-insensitive, any order, unknown column warned", func(t *testing.T) {
		cols := []string{"efi_score", "Dissent", "record_id", "NHS_Number", "postcode", "age", "date_of_birth", "gender",
			"ethnicity", "gp_practice_code", "ics_code", "registration_date", "type1_opt_out"}
		var rows []row
		for _, r := range s {
			lower := row{}
			for k, v := range r {
				lower[strings.ToLower(k)] = v
			}
			lower["dissent"], lower["nhs_number"] = r["DISSENT"], r["NHS_NUMBER"]
			lower["favourite_colour"] = "blue"
			rows = append(rows, lower)
		}
		lc := make([]string, len(cols))
		for i, c := range cols {
			lc[i] = strings.ToLower(c)
		}
		text := csvText(append(cols, "FAVOURITE_COLOUR"), nil)
		for _, r := range rows {
			text += csvText(append(lc, "favourite_colour"), []row{r})[len(strings.Join(append(lc, "favourite_colour"), ","))+1:]
		}
		res, err := runText(t, newStore(t), text, csvText(mailingHeader, m))
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 3 {
			t.Errorf("accepted %d: %v", res.Accepted, res.ByReason)
		}
		if !strings.Contains(strings.Join(res.Warnings, "\n"), "unknown column FAVOURITE_COLOUR") {
			t.Errorf("warnings %v", res.Warnings)
		}
	})
	t.Run("optional columns may be absent", func(t *testing.T) {
		cols := sampleHeader[:11]
		mcols := []string{"RECORD_ID", "LAST_NAME", "ADDRESS_1", "ADDRESS_2", "POSTCODE"}
		res, err := runText(t, newStore(t), csvText(cols, s), csvText(mcols, m))
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 3 || res.NoSMS != 3 {
			t.Errorf("accepted %d noSMS %d", res.Accepted, res.NoSMS)
		}
		w := strings.Join(res.Warnings, "\n")
		if !strings.Contains(w, "optional column TYPE1_OPT_OUT is absent") || !strings.Contains(w, "no MOBILE column") {
			t.Errorf("warnings %v", res.Warnings)
		}
	})
	fileErr := []struct {
		name, sample, mailing string
		file, reason, field   string
		row                   int
	}{
		{"missing required column", csvText(without(sampleHeader, "EFI_SCORE"), s), csvText(mailingHeader, m),
			sampleKey, FileHeaderMissing, "EFI_SCORE", 1},
		{"two missing columns", csvText(sampleHeader, s), csvText(without(without(mailingHeader, "LAST_NAME"), "POSTCODE"), m),
			mailingKey, FileHeaderMissing, "LAST_NAME,POSTCODE", 1},
		{"duplicate column", strings.Replace(csvText(sampleHeader, s), "DISSENT", "age", 1), csvText(mailingHeader, m),
			sampleKey, FileHeaderDuplicate, "AGE", 1},
		{"empty file", "", csvText(mailingHeader, m), sampleKey, FileEmpty, "", 0},
		{"unterminated quote", csvText(sampleHeader, s), csvText(mailingHeader, m) + "R9,\"Mr,A,B\n", mailingKey, FileCSVMalformed, "", 5},
		{"utf-16", "\xff\xfeR\x00", csvText(mailingHeader, m), sampleKey, FileEncodingUTF16, "", 1},
		{"type 1 opt-out column misspelt", strings.Replace(csvText(sampleHeader, s), "TYPE1_OPT_OUT", "TYPE_1_OPT_OUT", 1), csvText(mailingHeader, m),
			sampleKey, FileHeaderMisspelt, "TYPE1_OPT_OUT", 1},
		{"type 1 opt-out column spelt in words", strings.Replace(csvText(sampleHeader, s), "TYPE1_OPT_OUT", "Type 1 opt-out", 1), csvText(mailingHeader, m),
			sampleKey, FileHeaderMisspelt, "TYPE1_OPT_OUT", 1},
		{"dissent column misspelt", strings.Replace(csvText(sampleHeader, s), "DISSENT", "DISENT", 1), csvText(mailingHeader, m),
			sampleKey, FileHeaderMisspelt, "DISSENT", 1},
		{"CR-only line ends", strings.ReplaceAll(csvText(sampleHeader, s), "\n", "\r"), csvText(mailingHeader, m),
			sampleKey, FileCSVLineEnds, "", 1},
		{"CR-only line ends, longer than a line may be", strings.Repeat(strings.ReplaceAll(csvText(sampleHeader, s), "\n", "\r"), 5000),
			csvText(mailingHeader, m), sampleKey, FileCSVLineEnds, "", 1},
		{"tab-separated", strings.ReplaceAll(csvText(sampleHeader, s), ",", "\t"), csvText(mailingHeader, m),
			sampleKey, FileCSVDelimiter, "", 1},
		{"semicolon-separated", csvText(sampleHeader, s), strings.ReplaceAll(csvText(mailingHeader, m), ",", ";"),
			mailingKey, FileCSVDelimiter, "", 1},
		{"a line longer than the reader takes", csvText(sampleHeader, s),
			csvText(mailingHeader, m) + "R9,Mr,A,B," + strings.Repeat("x", 5_000_000) + ",,,,,NR1 3QU,\n",
			mailingKey, FileLineTooLong, "ADDRESS_1", 5},
	}
	for _, tt := range fileErr {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runText(t, newStore(t), tt.sample, tt.mailing)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v; want *FileError", err)
			}
			if fe.File != tt.file || fe.Reason != tt.reason || fe.Field != tt.field || fe.Row != tt.row {
				t.Errorf("FileError %+v; want file %s reason %s field %s row %d", *fe, tt.file, tt.reason, tt.field, tt.row)
			}
			if len(fe.Message) > 300 {
				t.Errorf("message of %d bytes: does it repeat the file?", len(fe.Message))
			}
			if tt.field != "" && !strings.Contains(fe.Error(), strings.Split(tt.field, ",")[0]) {
				t.Errorf("Error() does not name the column: %s", fe.Error())
			}
		})
	}
	t.Run("a quoted field that runs on is refused before the end of the file", func(t *testing.T) {
		// 1.6 MB of lines inside one open quote, then a closing one: without the bound
		// the whole of it is read into one field.
		mailing := csvText(mailingHeader, m) + "R9,\"Mr" + strings.Repeat("\nxxxxxxxxxxxxxxx", 100_000) + "\",A,B,1 St,Town,,,,NR1 3QU,\n"
		_, err := runText(t, newStore(t), csvText(sampleHeader, s), mailing)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != FileCSVMalformed || fe.Row != 5 || !strings.Contains(fe.Message, "runs on for more than") {
			t.Errorf("err = %v; want a CSV_MALFORMED at row 5 saying the field runs on", err)
		}
	})
	t.Run("unsupported extension", func(t *testing.T) {
		st := newStore(t)
		_, err := Run(context.Background(), st, testConfig(), Input{SampleKey: "landing/x/sample.txt", MailingKey: mailingKey})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != FileFormatUnsupported {
			t.Errorf("err = %v", err)
		}
	})
}

// TestHeaderWarningsReported checks that what the header reading warns of reaches the
// report, as lines of disposition "warning" on row 1, as well as the warnings.
func TestHeaderWarningsReported(t *testing.T) {
	s, m := goodRows(3)
	for _, r := range s {
		r["NOTES"] = "called twice"
		r["9434765919"] = "x" // a header name that is a number: never repeated
	}
	cols := append(without(sampleHeader, "TYPE1_OPT_OUT"), "NOTES", "9434765919")
	st := newStore(t)
	put(t, st, sampleKey, csvText(cols, s))
	put(t, st, mailingKey, csvText(without(mailingHeader, "MOBILE"), m))
	ctx, col := audit.WithCollector(context.Background())
	res, err := Run(ctx, st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
	if err != nil {
		t.Fatal(err)
	}
	var audited string
	for _, e := range col.Events() {
		if e.Kind == "intake.records_classified" {
			audited = audit.DetailsJSON(e.Details)
		}
	}
	want := []struct{ file, field, reason, msg string }{
		{"sample", "", NoteUnknownColumn, "unknown column NOTES is ignored"},
		{"sample", "", NoteUnknownColumn, "unknown column [digits] is ignored"},
		{"sample", "TYPE1_OPT_OUT", NoteOptionalAbsent, "nobody is excluded for a type 1 opt-out"},
		{"mailing", "MOBILE", NoteOptionalAbsent, "optional column MOBILE is absent"},
	}
	lines := reportLines(t, st)
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l["file"] == w.file && l["row"] == "1" && l["field"] == w.field && l["reason_code"] == w.reason &&
				l["disposition"] == schemas.DispositionWarning && strings.Contains(l["message"], w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning line %+v in the report %v", w, lines)
		}
		if !strings.Contains(strings.Join(res.Warnings, "\n"), w.msg) {
			t.Errorf("no warning %q in %v", w.msg, res.Warnings)
		}
		if !strings.Contains(audited, w.msg) {
			t.Errorf("no warning %q in the audit trail's intake.records_classified: %s", w.msg, audited)
		}
	}
	if strings.Contains(strings.Join(res.Warnings, "\n"), "9434765919") {
		t.Errorf("a warning repeats a number: %v", res.Warnings)
	}
	if res.Findings != len(lines) {
		t.Errorf("findings %d, report lines %d", res.Findings, len(lines))
	}
}

func without(cols []string, drop string) []string {
	var out []string
	for _, c := range cols {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func TestCSVDialects(t *testing.T) {
	s, m := goodRows(3)
	m[1]["LAST_NAME"] = `O"Brien`                                                                      // escaped quote
	m[1]["ADDRESS_1"] = "Flat 2, \"The Maltings\""                                                     // comma and quotes
	sample := "\xEF\xBB\xBF" + strings.ReplaceAll(csvText(sampleHeader, s), "\n", "\r\n") + "\r\n\r\n" // BOM, CRLF, blank lines
	mailing := csvText(mailingHeader, m)
	res, err := runText(t, newStore(t), sample, mailing)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.RowsRead != 3 {
		t.Fatalf("accepted %d of %d: %v %v", res.Accepted, res.RowsRead, res.ByReason, res.MailingByReason)
	}
	st := newStore(t)
	res, err = runText(t, st, sample, mailing)
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := lake.GetRows[schemas.Contact](context.Background(), st, res.ContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contacts {
		if c.ICSRecordID == "R00001" && (c.LastName != `O"Brien` || c.Address1 != `Flat 2, "The Maltings"`) {
			t.Errorf("quoted fields read as %q / %q", c.LastName, c.Address1)
		}
	}

	t.Run("ragged row", func(t *testing.T) {
		text := csvText(sampleHeader, s) + "R00009,1,2\n"
		res, err := runText(t, newStore(t), text, csvText(mailingHeader, m))
		if err != nil {
			t.Fatal(err)
		}
		if res.ByReason[ReasonRowMalformed] != 1 || res.Accepted != 3 {
			t.Errorf("ByReason %v", res.ByReason)
		}
	})
	t.Run("lone quote inside an unquoted field is literal", func(t *testing.T) {
		text := csvText(mailingHeader, m) // R00001 line has quotes; add a lenient one
		text = strings.Replace(text, "Surname0", `Sur"name0`, 1)
		res, err := runText(t, newStore(t), csvText(sampleHeader, s), text)
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 3 {
			t.Errorf("accepted %d", res.Accepted)
		}
	})
	t.Run("quoted line break", func(t *testing.T) {
		m2 := []row{goodMailing(0), goodMailing(1), goodMailing(2)}
		m2[0]["ADDRESS_1"] = "1 High St\r\nNorwich"
		res, err := runText(t, newStore(t), csvText(sampleHeader, s), csvText(mailingHeader, m2))
		if err != nil {
			t.Fatal(err)
		}
		if res.MailingByReason[ReasonTextInvalid] != 1 || res.MailingRowsRead != 3 {
			t.Errorf("MailingByReason %v rows %d", res.MailingByReason, res.MailingRowsRead)
		}
	})
}

func TestLatin1Detected(t *testing.T) {
	s, m := goodRows(4)
	m[2]["FIRST_NAME"] = "Zo\xeb" // Latin-1 ë
	_, err := runText(t, newStore(t), csvText(sampleHeader, s), csvText(mailingHeader, m))
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v; want *FileError", err)
	}
	if fe.Reason != FileEncodingNotUTF8 || fe.Row != 4 || fe.Field != "FIRST_NAME" || fe.File != mailingKey {
		t.Errorf("FileError %+v", *fe)
	}
	if strings.Contains(fe.Error(), "Zo") || !strings.Contains(fe.Error(), "0xEB") || !strings.Contains(fe.Error(), "row 4") {
		t.Errorf("message %q", fe.Error())
	}
	// Valid UTF-8 accents are fine.
	m[2]["FIRST_NAME"] = "Zoë"
	res, err := runText(t, newStore(t), csvText(sampleHeader, s), csvText(mailingHeader, m))
	if err != nil || res.Accepted != 4 {
		t.Errorf("UTF-8 accents: %v, accepted %v", err, res)
	}
}

func TestXLSX(t *testing.T) {
	s, m := goodRows(4)
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		t.Fatal(err)
	}
	hdr := make([]any, len(sampleHeader))
	for i, c := range sampleHeader {
		hdr[i] = strings.ToLower(c)
	}
	sw.SetRow("A1", hdr)
	for i, r := range s {
		vals := make([]any, len(sampleHeader))
		for j, c := range sampleHeader {
			vals[j] = r[c]
		}
		nhs, _ := strconv.Atoi(r["NHS_NUMBER"])
		vals[1] = nhs  // NHS number as a number cell
		vals[3] = 85   // AGE as a number
		vals[10] = 0.3 // EFI_SCORE as a number
		vals[11] = nil // TYPE1_OPT_OUT empty cell
		if i == 1 {
			vals[4] = 14680 // DATE_OF_BIRTH as an Excel serial date: 1940-03-10
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.NewSheet("Notes")
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	xkey := "landing/2026-P1/QMM/sample.xlsx"
	put(t, st, xkey, buf.String())
	put(t, st, mailingKey, csvText(mailingHeader, m))
	res, err := Run(context.Background(), st, testConfig(), Input{SampleKey: xkey, MailingKey: mailingKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 4 || res.RowsRead != 4 {
		t.Fatalf("accepted %d of %d: %v", res.Accepted, res.RowsRead, res.ByReason)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "only the first worksheet") {
		t.Errorf("warnings %v", res.Warnings)
	}
	contacts, err := lake.GetRows[schemas.Contact](context.Background(), st, res.ContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contacts {
		if c.DateOfBirth.Format("20060102") != "19400310" {
			t.Errorf("%s: date of birth %s", c.ICSRecordID, c.DateOfBirth)
		}
	}

	t.Run("not a workbook", func(t *testing.T) {
		put(t, st, xkey, "this is not a zip")
		_, err := Run(context.Background(), st, testConfig(), Input{SampleKey: xkey, MailingKey: mailingKey})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != FileXLSXUnreadable {
			t.Errorf("err = %v", err)
		}
	})
}

// TestOnePersonOnePseudonymAcrossICSs: the same NHS number in two ICSs' samples of a
// wave has one nhs_pseudonym in both, and distinct numbers distinct ones. The
// warehouse's cross_ics_samples (one invitation per person in a wave) rests on it.
func TestOnePersonOnePseudonymAcrossICSs(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	shared := nhsNumber(1)
	inSample := map[string][]string{} // ICS → its records' pseudonyms
	for _, ics := range []string{"QMM", "QJK"} {
		s, m := goodRows(3)
		for i := range s {
			s[i]["ICS_CODE"] = ics
		}
		if ics == "QJK" {
			s[0]["NHS_NUMBER"] = nhsNumber(100)
			s[1]["NHS_NUMBER"] = nhsNumber(101)
			s[2]["NHS_NUMBER"] = shared // also in QMM
		}
		sk, mk := "landing/2026-P1/"+ics+"/sample.csv", "landing/2026-P1/"+ics+"/mailing.csv"
		put(t, st, sk, csvText(sampleHeader, s))
		put(t, st, mk, csvText(mailingHeader, m))
		cfg := testConfig()
		cfg.ICS = ics
		res, err := Run(ctx, st, cfg, Input{SampleKey: sk, MailingKey: mk})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 3 {
			t.Fatalf("%s accepted %d", ics, res.Accepted)
		}
		recs, err := lake.GetRows[schemas.SampleRecord](ctx, st, res.SampleParquetKey, schemas.SampleRecordLayout())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if len(r.NHSPseudonym) != 64 {
				t.Fatalf("%s: pseudonym %q", ics, r.NHSPseudonym)
			}
			inSample[ics] = append(inSample[ics], r.NHSPseudonym)
		}
	}
	var both []string
	for _, p := range inSample["QJK"] {
		if slices.Contains(inSample["QMM"], p) {
			both = append(both, p)
		}
	}
	// The one NHS number in both samples has one pseudonym in both; the other four
	// numbers have pseudonyms of their own.
	if len(both) != 1 {
		t.Errorf("%d pseudonyms in both ICSs' samples, want 1 (the one NHS number in both)", len(both))
	}
}
