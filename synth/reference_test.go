package synth

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file is an independent, deliberately simple re-implementation of the intake rules
// of SPEC §3–4, used to check that the generator's Expected* counts are what a correct
// validator would produce. It shares no code with the generator.

var (
	// SPEC §4: outward AN, ANN, ANA, AAN, AANN, AANA + inward NAA; Q, V, X not first;
	// I, J, Z not second; third letter (ANA) A–H, J, K, S, T, U, W; fourth (AANA) A, B,
	// E, H, M, N, P, R, V, W, X, Y; inward letters never C, I, K, M, O, V.
	postcodeRE = regexp.MustCompile(`^(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRV-Y]) [0-9][ABD-HJLNP-UW-Z]{2}$`)
	gpRE       = regexp.MustCompile(`^[A-Z][0-9]{5}$`)
	mobileRE   = regexp.MustCompile(`^(?:07[0-9]{9}|\+447[0-9]{9})$`)
	digits10RE = regexp.MustCompile(`^[0-9]{10}$`)
	dateRE     = regexp.MustCompile(`^[0-9]{8}$`)
	genders    = map[string]bool{"1": true, "2": true, "9": true, "0": true, "X": true}
	ethnic     = map[string]bool{"A": true, "B": true, "C": true, "D": true, "E": true, "F": true, "G": true, "H": true,
		"J": true, "K": true, "L": true, "M": true, "N": true, "P": true, "R": true, "S": true, "Z": true, "99": true}
)

func refNHSValid(s string) bool {
	if !digits10RE.MatchString(s) {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(s[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	return c != 10 && c == int(s[9]-'0')
}

func refDate(s string) (time.Time, bool) {
	if !dateRE.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", s)
	return t, err == nil
}

func refAge(dob, at time.Time) int {
	a := at.Year() - dob.Year()
	if at.Month() < dob.Month() || (at.Month() == dob.Month() && at.Day() < dob.Day()) {
		a--
	}
	return a
}

type refResult struct {
	rows, mailingRows                   int
	rejected, excluded, accepted        int
	acceptedWithMobile, noMobile        int
	exclusions                          map[string]int
	acceptedNHS                         map[string]bool
	sample, mailing                     [][]string
	sampleIdx, mailingIdx               map[string]int
	multipleExclusions, rejectedReasons int
	rejectedBy                          map[string]int
}

func readCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reading CSV: %v", err)
	}
	return rows
}

func index(header []string) map[string]int {
	m := map[string]int{}
	for i, h := range header {
		m[h] = i
	}
	return m
}

// reference classifies every sample row of a generated pair.
func reference(t testing.TB, sampleCSV, mailingCSV []byte, ics string, sampling time.Time) refResult {
	t.Helper()
	s := readCSV(t, sampleCSV)
	m := readCSV(t, mailingCSV)
	res := refResult{
		exclusions: map[string]int{}, acceptedNHS: map[string]bool{}, rejectedBy: map[string]int{},
		sample: s[1:], mailing: m[1:], sampleIdx: index(s[0]), mailingIdx: index(m[0]),
		rows: len(s) - 1, mailingRows: len(m) - 1,
	}
	si, mi := res.sampleIdx, res.mailingIdx

	sampleIDs, mailIDs, nhsCount := map[string]int{}, map[string]int{}, map[string]int{}
	mailByID := map[string][]string{}
	for _, r := range res.sample {
		sampleIDs[r[si["RECORD_ID"]]]++
		nhsCount[r[si["NHS_NUMBER"]]]++
	}
	for _, r := range res.mailing {
		id := r[mi["RECORD_ID"]]
		mailIDs[id]++
		mailByID[id] = r
		if !mobileRE.MatchString(r[mi["MOBILE"]]) {
			res.noMobile++
		}
	}

	for _, r := range res.sample {
		get := func(c string) string { return r[si[c]] }
		var reasons []string
		fail := func(why string) { reasons = append(reasons, why) }

		id := get("RECORD_ID")
		if sampleIDs[id] > 1 || mailIDs[id] > 1 {
			fail("duplicate id")
		}
		mr, hasMail := mailByID[id]
		if !hasMail {
			fail("no mailing row")
		}
		nhs := get("NHS_NUMBER")
		if !refNHSValid(nhs) {
			fail("nhs")
		} else if nhsCount[nhs] > 1 {
			fail("duplicate nhs")
		}
		pseudo := strings.HasPrefix(get("POSTCODE"), "ZZ99 ")
		if !pseudo && !postcodeRE.MatchString(get("POSTCODE")) {
			fail("postcode")
		}
		dob, okDOB := refDate(get("DATE_OF_BIRTH"))
		age, errAge := strconv.Atoi(get("AGE"))
		if !okDOB {
			fail("dob")
		} else if errAge != nil || age != refAge(dob, sampling) {
			fail("age")
		}
		if !genders[get("GENDER")] {
			fail("gender")
		}
		if !ethnic[get("ETHNICITY")] {
			fail("ethnicity")
		}
		if !gpRE.MatchString(get("GP_PRACTICE_CODE")) {
			fail("gp")
		}
		if get("ICS_CODE") != ics {
			fail("ics")
		}
		reg, okReg := refDate(get("REGISTRATION_DATE"))
		if !okReg {
			fail("registration")
		}
		efi, errEFI := strconv.ParseFloat(get("EFI_SCORE"), 64)
		if errEFI != nil || efi < 0 || efi > 1 {
			fail("efi")
		}
		if hasMail {
			mpc := mr[mi["POSTCODE"]]
			if !postcodeRE.MatchString(mpc) && !strings.HasPrefix(mpc, "ZZ99 ") {
				fail("mailing postcode")
			} else if mpc != get("POSTCODE") {
				fail("postcode mismatch")
			}
			if mr[mi["LAST_NAME"]] == "" {
				fail("last name")
			}
			lines := 0
			for _, c := range []string{"ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "ADDRESS_5"} {
				if mr[mi[c]] != "" {
					lines++
				}
			}
			if lines < 2 {
				fail("address")
			}
		}
		if len(reasons) > 0 {
			res.rejected++
			res.rejectedBy[reasons[0]]++
			if len(reasons) > 1 {
				res.rejectedReasons++
			}
			continue
		}

		var excl []string
		if efi < 0.25 {
			excl = append(excl, ExclusionFrailty)
		}
		if age < 18 {
			excl = append(excl, ExclusionUnder18)
		}
		if reg.After(sampling.AddDate(0, -6, 0)) {
			excl = append(excl, ExclusionRegistration)
		}
		if get("TYPE1_OPT_OUT") == "Y" {
			excl = append(excl, ExclusionType1OptOut)
		}
		if get("DISSENT") == "Y" {
			excl = append(excl, ExclusionDissent)
		}
		if pseudo {
			excl = append(excl, ExclusionNoUKAddress)
		}
		if len(excl) > 0 {
			res.excluded++
			res.exclusions[excl[0]]++
			if len(excl) > 1 {
				res.multipleExclusions++
			}
			continue
		}
		res.accepted++
		res.acceptedNHS[nhs] = true
		if mobileRE.MatchString(mr[mi["MOBILE"]]) {
			res.acceptedWithMobile++
		}
	}
	return res
}
