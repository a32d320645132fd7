package synth

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"icesurvey/schemas"
)

var testSampling = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

func gen(t testing.TB, cfg Config) (sample, mailing []byte, st *Stats) {
	t.Helper()
	var s, m bytes.Buffer
	st, err := Generate(cfg, &s, &m)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return s.Bytes(), m.Bytes(), st
}

func TestHeaders(t *testing.T) {
	s, m, _ := gen(t, Config{ICS: "QMM", N: 10, Seed: 1})
	firstLine := func(b []byte) string { l, _, _ := strings.Cut(string(b), "\n"); return l }
	wantS := "RECORD_ID,NHS_NUMBER,POSTCODE,AGE,DATE_OF_BIRTH,GENDER,ETHNICITY,GP_PRACTICE_CODE,ICS_CODE,REGISTRATION_DATE,EFI_SCORE,TYPE1_OPT_OUT,DISSENT"
	wantM := "RECORD_ID,TITLE,FIRST_NAME,LAST_NAME,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,ADDRESS_5,POSTCODE,MOBILE"
	if got := firstLine(s); got != wantS {
		t.Errorf("sample header\n got %s\nwant %s", got, wantS)
	}
	if got := firstLine(m); got != wantM {
		t.Errorf("mailing header\n got %s\nwant %s", got, wantM)
	}
	if strings.Join(SampleColumns(), ",") != wantS || strings.Join(MailingColumns(), ",") != wantM {
		t.Error("SampleColumns/MailingColumns disagree with the files")
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{ICS: "QJK", N: 3000, Seed: 42, FaultRate: 0.1, SamplingDate: testSampling, DeathRate: 0.02}
	s1, m1, st1 := gen(t, cfg)
	s2, m2, st2 := gen(t, cfg)
	if !bytes.Equal(s1, s2) || !bytes.Equal(m1, m2) {
		t.Fatal("same config, different bytes")
	}
	if !reflect.DeepEqual(st1, st2) {
		t.Fatal("same config, different stats")
	}
	cfg.Seed = 43
	s3, _, _ := gen(t, cfg)
	if bytes.Equal(s1, s3) {
		t.Fatal("different seeds, same bytes")
	}
	// Deaths are drawn from their own stream: the files do not depend on DeathRate.
	cfg.Seed, cfg.DeathRate = 42, 0
	s4, m4, st4 := gen(t, cfg)
	if !bytes.Equal(s1, s4) || !bytes.Equal(m1, m4) {
		t.Fatal("DeathRate changed the files")
	}
	if st4.DeceasedNHS != nil {
		t.Fatal("DeceasedNHS set with DeathRate 0")
	}
}

// TestCleanFile: with no faults every row passes every format rule.
func TestCleanFile(t *testing.T) {
	for _, ics := range ICSCodes() {
		cfg := Config{ICS: ics, N: 2000, Seed: 7, SamplingDate: testSampling}
		s, m, st := gen(t, cfg)
		ref := reference(t, s, m, ics, testSampling)
		if ref.rejected != 0 || st.ExpectedRejected != 0 {
			t.Errorf("%s: %d rows rejected by the reference (%v), stats say %d", ics, ref.rejected, ref.rejectedBy, st.ExpectedRejected)
		}
		for _, r := range ref.sample {
			if nhs := r[ref.sampleIdx["NHS_NUMBER"]]; !refNHSValid(nhs) {
				t.Errorf("%s: NHS number %s fails Modulus 11", ics, nhs)
			}
			if pc := r[ref.sampleIdx["POSTCODE"]]; !postcodeRE.MatchString(pc) && !strings.HasPrefix(pc, "ZZ99 ") {
				t.Errorf("%s: postcode %q fails the grammar", ics, pc)
			}
		}
		for _, r := range ref.mailing {
			if pc := r[ref.mailingIdx["POSTCODE"]]; !postcodeRE.MatchString(pc) && !strings.HasPrefix(pc, "ZZ99 ") {
				t.Errorf("%s: mailing postcode %q fails the grammar", ics, pc)
			}
		}
		if st.Clean+st.ExpectedExcluded != st.Rows || st.Rows != 2000 || st.MailingRows != 2000 {
			t.Errorf("%s: clean %d + excluded %d != rows %d (mailing %d)", ics, st.Clean, st.ExpectedExcluded, st.Rows, st.MailingRows)
		}
	}
}

// TestReconcile checks the Expected* counts against the independent reference validator,
// for every ICS, with faults.
func TestReconcile(t *testing.T) {
	for i, ics := range ICSCodes() {
		cfg := Config{ICS: ics, N: 10000, Seed: int64(100 + i), FaultRate: 0.1, SamplingDate: testSampling}
		s, m, st := gen(t, cfg)
		ref := reference(t, s, m, ics, testSampling)

		if ref.rows != st.Rows || ref.mailingRows != st.MailingRows {
			t.Errorf("%s: rows %d/%d, stats say %d/%d", ics, ref.rows, ref.mailingRows, st.Rows, st.MailingRows)
		}
		if ref.rejected != st.ExpectedRejected || ref.excluded != st.ExpectedExcluded || ref.accepted != st.ExpectedAccepted {
			t.Errorf("%s: reference rejected/excluded/accepted %d/%d/%d, stats %d/%d/%d (rejected by %v)", ics,
				ref.rejected, ref.excluded, ref.accepted, st.ExpectedRejected, st.ExpectedExcluded, st.ExpectedAccepted, ref.rejectedBy)
		}
		if st.ExpectedRejected+st.ExpectedExcluded+st.ExpectedAccepted != st.Rows {
			t.Errorf("%s: expected counts do not add up to rows", ics)
		}
		if !reflect.DeepEqual(nonZero(ref.exclusions), nonZero(st.Exclusions)) {
			t.Errorf("%s: exclusions reference %v, stats %v", ics, ref.exclusions, st.Exclusions)
		}
		if ref.multipleExclusions != 0 {
			t.Errorf("%s: %d rows meet more than one exclusion", ics, ref.multipleExclusions)
		}
		if ref.acceptedWithMobile != st.ExpectedAcceptedWithMobile || ref.noMobile != st.NoMobile {
			t.Errorf("%s: accepted with mobile %d / no mobile %d, stats %d / %d", ics,
				ref.acceptedWithMobile, ref.noMobile, st.ExpectedAcceptedWithMobile, st.NoMobile)
		}

		// Identities between the stats.
		rejecting := 0
		for _, f := range catalogue {
			if f.Disposition == Rejected && f.Name != FaultMailingWithoutSample {
				rejecting += st.Faults[f.Name]
			}
		}
		if rejecting+st.DuplicatePartners != st.ExpectedRejected {
			t.Errorf("%s: rejecting faults %d + partners %d != rejected %d", ics, rejecting, st.DuplicatePartners, st.ExpectedRejected)
		}
		if st.DuplicatePartners != st.Faults[FaultDuplicateNHSNumber]+st.Faults[FaultDuplicateRecordID] {
			t.Errorf("%s: %d duplicate partners for %d duplicate faults", ics, st.DuplicatePartners,
				st.Faults[FaultDuplicateNHSNumber]+st.Faults[FaultDuplicateRecordID])
		}
		if st.Rows != cfg.N-st.Faults[FaultMailingWithoutSample] || st.MailingRows != cfg.N-st.Faults[FaultSampleWithoutMailing] {
			t.Errorf("%s: rows %d, mailing rows %d for N %d", ics, st.Rows, st.MailingRows, cfg.N)
		}
		if st.ExpectedAccepted != st.Clean+acceptedWithBadMobile(ref) {
			t.Errorf("%s: accepted %d != clean %d + accepted rows with a bad mobile", ics, st.ExpectedAccepted, st.Clean)
		}
	}
}

// acceptedWithBadMobile counts accepted rows whose mobile looks like a mangled mobile
// rather than an empty field or a landline: the only fault an accepted row can carry.
func acceptedWithBadMobile(ref refResult) int {
	mobiles := map[string]string{}
	for _, r := range ref.mailing {
		mobiles[r[ref.mailingIdx["RECORD_ID"]]] = r[ref.mailingIdx["MOBILE"]]
	}
	n := 0
	for _, r := range ref.sample {
		if !ref.acceptedNHS[r[ref.sampleIdx["NHS_NUMBER"]]] {
			continue
		}
		mob := mobiles[r[ref.sampleIdx["RECORD_ID"]]]
		if mob != "" && !mobileRE.MatchString(mob) && !strings.HasPrefix(mob, "01") && !strings.HasPrefix(mob, "02") {
			n++
		}
	}
	return n
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestLeapDaySampling: ages and the six-month registration rule still reconcile when the
// sampling date is 29 February.
func TestLeapDaySampling(t *testing.T) {
	at := time.Date(2028, time.February, 29, 0, 0, 0, 0, time.UTC)
	cfg := Config{ICS: "QJ2", N: 5000, Seed: 8, FaultRate: 0.1, SamplingDate: at}
	s, m, st := gen(t, cfg)
	ref := reference(t, s, m, cfg.ICS, at)
	if ref.rejected != st.ExpectedRejected || ref.excluded != st.ExpectedExcluded || ref.accepted != st.ExpectedAccepted {
		t.Errorf("reference %d/%d/%d, stats %d/%d/%d", ref.rejected, ref.excluded, ref.accepted,
			st.ExpectedRejected, st.ExpectedExcluded, st.ExpectedAccepted)
	}
}

func TestFaultCatalogueCoverage(t *testing.T) {
	const n, rate = 10000, 0.1
	_, _, st := gen(t, Config{ICS: "QNX", N: n, Seed: 2026, FaultRate: rate, SamplingDate: testSampling})
	total := 0
	for _, f := range catalogue {
		c := st.Faults[f.Name]
		total += c
		if c == 0 {
			t.Errorf("fault %s never generated", f.Name)
		}
		// Each kind ≈ n·rate/20 = 50; allow ±5σ.
		want := float64(n) * rate / float64(len(catalogue))
		if math.Abs(float64(c)-want) > 5*math.Sqrt(want) {
			t.Errorf("fault %s: %d, want ≈ %.0f", f.Name, c, want)
		}
	}
	want := float64(n) * rate
	if sd := math.Sqrt(want * (1 - rate)); math.Abs(float64(total)-want) > 5*sd {
		t.Errorf("%d faults, want ≈ %.0f", total, want)
	}
	for _, e := range exclusionKinds {
		if st.Exclusions[e] == 0 {
			t.Errorf("exclusion %s never generated", e)
		}
	}
	if len(st.Faults) != len(catalogue) || len(st.Exclusions) != len(exclusionKinds) {
		t.Errorf("stats maps should list every kind: %v %v", st.Faults, st.Exclusions)
	}
	for _, f := range Catalogue() {
		d, ok := FaultDisposition(f.Name)
		if !ok || d != f.Disposition {
			t.Errorf("FaultDisposition(%s) = %v, %v", f.Name, d, ok)
		}
	}
	if _, ok := FaultDisposition("no_such_fault"); ok {
		t.Error("unknown fault has a disposition")
	}
}

// TestRealism checks the population looks like a frail older ICS population.
func TestRealism(t *testing.T) {
	for _, ics := range ICSCodes() {
		const n = 8000
		s, m, st := gen(t, Config{ICS: ics, N: n, Seed: 11, SamplingDate: testSampling})
		ref := reference(t, s, m, ics, testSampling)
		prof := profileFor(ics)
		outward := map[string]bool{}
		for _, a := range prof.areas {
			for _, o := range a.outward {
				outward[o] = true
			}
		}
		var old, young, severeOrModerate, white, inArea int
		practices := map[string]int{}
		genders := map[string]int{}
		for _, r := range ref.sample {
			get := func(c string) string { return r[ref.sampleIdx[c]] }
			age := atoi(t, get("AGE"))
			switch {
			case age >= 65 && age <= 95:
				old++
			case age < 65:
				young++
			}
			if e := atof(t, get("EFI_SCORE")); e >= 0.25 {
				severeOrModerate++
			}
			if get("ETHNICITY") == "A" {
				white++
			}
			out, _, _ := strings.Cut(get("POSTCODE"), " ")
			if outward[out] {
				inArea++
			}
			practices[get("GP_PRACTICE_CODE")]++
			genders[get("GENDER")]++
			if !strings.HasPrefix(get("RECORD_ID"), prof.idPrefix) {
				t.Fatalf("%s: RECORD_ID %s", ics, get("RECORD_ID"))
			}
		}
		between(t, ics+" share aged 65–95", old, n, 0.78, 0.92)
		between(t, ics+" share under 65", young, n, 0.06, 0.18)
		between(t, ics+" share moderate/severe eFI", severeOrModerate, n, 0.85, 0.95)
		between(t, ics+" share postcodes in the ICS", inArea, n, 0.96, 0.995)
		between(t, ics+" women", genders["2"], n, 0.5, 0.62)
		if reflect.ValueOf(prof.ethnicity).Pointer() == reflect.ValueOf(ethnicityLondon).Pointer() {
			between(t, ics+" White British", white, n, 0.5, 0.66) // QWE and those borrowing it
		} else {
			between(t, ics+" White British", white, n, 0.75, 0.95)
		}
		delete(practices, "V81999")
		if len(practices) < 40 || len(practices) > 80 {
			t.Errorf("%s: %d practices", ics, len(practices))
		}
		sizes := slices.Sorted(func(yield func(int) bool) {
			for _, v := range practices {
				if !yield(v) {
					return
				}
			}
		})
		if sizes[len(sizes)-1] < 3*sizes[0] {
			t.Errorf("%s: practice list sizes too even: %v", ics, sizes)
		}

		var missing, landline, plus, zero int
		for _, r := range ref.mailing {
			mob := r[ref.mailingIdx["MOBILE"]]
			switch {
			case mob == "":
				missing++
			case strings.HasPrefix(mob, "01") || strings.HasPrefix(mob, "02"):
				landline++
			case strings.HasPrefix(mob, "+447"):
				plus++
			case strings.HasPrefix(mob, "07"):
				zero++
			}
			if r[ref.mailingIdx["LAST_NAME"]] == "" || r[ref.mailingIdx["FIRST_NAME"]] == "" || r[ref.mailingIdx["TITLE"]] == "" {
				t.Fatalf("%s: incomplete name %v", ics, r)
			}
		}
		between(t, ics+" missing mobiles", missing, n, 0.25, 0.35)
		if landline == 0 || plus == 0 || zero == 0 {
			t.Errorf("%s: landlines %d, +447 %d, 07 %d", ics, landline, plus, zero)
		}
		if st.NoMobile != missing+landline {
			t.Errorf("%s: NoMobile %d, want %d", ics, st.NoMobile, missing+landline)
		}
	}
}

func between(t *testing.T, what string, k, n int, lo, hi float64) {
	t.Helper()
	if p := float64(k) / float64(n); p < lo || p > hi {
		t.Errorf("%s: %.3f, want %.2f–%.2f", what, p, lo, hi)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

func TestOutwardCodesAreValid(t *testing.T) {
	for _, p := range profiles {
		for _, a := range append(slices.Clone(p.areas), p.neighbours...) {
			for _, o := range a.outward {
				if !postcodeRE.MatchString(o + " 1AB") {
					t.Errorf("%s %s: outward code %s fails the grammar", p.code, a.town, o)
				}
			}
		}
	}
}

func TestNHSNumbersUniqueAndValid(t *testing.T) {
	for _, p := range profiles[:2] {
		g := newGenerator(Config{ICS: p.code, Seed: 5}, p)
		seen := make(map[string]bool, 300000)
		for range 300000 {
			n := g.nextNHS()
			if !refNHSValid(n) || n[0] != '9' || n[1] != p.digit {
				t.Fatalf("bad NHS number %s", n)
			}
			if seen[n] {
				t.Fatalf("NHS number %s generated twice", n)
			}
			seen[n] = true
		}
	}
	// The check digit helper agrees with a published example (943 476 5919).
	if !validNHSNumber("9434765919") || validNHSNumber("9434765918") {
		t.Error("validNHSNumber disagrees with the published example")
	}
}

func TestDeaths(t *testing.T) {
	cfg := Config{ICS: "QUY", N: 5000, Seed: 9, FaultRate: 0.1, SamplingDate: testSampling, DeathRate: 0.05}
	s, m, st := gen(t, cfg)
	ref := reference(t, s, m, cfg.ICS, testSampling)
	between(t, "deceased share of accepted", len(st.DeceasedNHS), st.ExpectedAccepted, 0.035, 0.065)
	for nhs, d := range st.DeceasedNHS {
		if !ref.acceptedNHS[nhs] {
			t.Errorf("deceased %s is not an accepted row", nhs)
		}
		if d.Before(testSampling.AddDate(0, 0, -30)) || d.After(testSampling.AddDate(0, 0, 56)) {
			t.Errorf("date of death %s out of range", d)
		}
	}
	var b bytes.Buffer
	if err := WriteDeaths(&b, st.DeceasedNHS); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != len(st.DeceasedNHS)+1 || rows[0][0] != "NHS_NUMBER" || rows[0][1] != "DATE_OF_DEATH" {
		t.Fatalf("WriteDeaths: %v, %d rows", err, len(rows))
	}
	if !slices.IsSortedFunc(rows[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) }) {
		t.Error("deaths not sorted")
	}
}

func TestXLSXMatchesCSV(t *testing.T) {
	cfg := Config{ICS: "QE1", N: 500, Seed: 3, FaultRate: 0.2, SamplingDate: testSampling}
	cs, cm, cst := gen(t, cfg)
	cfg.Format = "xlsx"
	xs, xm, xst := gen(t, cfg)
	if xs2, xm2, _ := gen(t, cfg); !bytes.Equal(xs, xs2) || !bytes.Equal(xm, xm2) {
		t.Error("xlsx output not deterministic")
	}
	if !reflect.DeepEqual(cst, xst) {
		t.Error("stats differ between csv and xlsx")
	}
	for _, c := range []struct {
		name      string
		csv, xlsx []byte
		sheet     string
	}{{"sample", cs, xs, "Sample"}, {"mailing", cm, xm, "Mailing"}} {
		f, err := excelize.OpenReader(bytes.NewReader(c.xlsx))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows(c.sheet)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := readCSV(t, c.csv)
		for i := range rows { // GetRows drops trailing empty cells
			for len(rows[i]) < len(want[i]) {
				rows[i] = append(rows[i], "")
			}
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("%s: xlsx rows differ from csv", c.name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{ICS: "QXX", N: 1},
		{ICS: "QMM", N: -1},
		{ICS: "QMM", N: MaxN + 1},
		{ICS: "QMM", N: 1, FaultRate: 1.5},
		{ICS: "QMM", N: 1, DeathRate: -0.1},
		{ICS: "QMM", N: 1, Format: "ods"},
		{ICS: "QMM", N: 2_000_000, Format: "xlsx"},
	}
	for _, cfg := range bad {
		if _, err := Generate(cfg, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("Generate(%+v) succeeded", cfg)
		}
	}
	// Lower-case ICS and a zero sampling date are fine.
	_, _, st := gen(t, Config{ICS: "qwe", N: 5})
	if st.ICS != "QWE" || st.Rows != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestGenerateFiles(t *testing.T) {
	dir := t.TempDir()
	sp, mp, st, err := GenerateFiles(Config{ICS: "QHM", N: 100, Seed: 1, FaultRate: 0.1}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(sp, "QHM_sample.csv") || !strings.HasSuffix(mp, "QHM_mailing.csv") || st.Records != 100 {
		t.Errorf("GenerateFiles: %s %s %+v", sp, mp, st)
	}
}

// BenchmarkGenerate1M generates a full 1,000,000-record pair to io.Discard.
func BenchmarkGenerate1M(b *testing.B) {
	for b.Loop() {
		st, err := Generate(Config{ICS: "QMM", N: 1_000_000, Seed: 1, FaultRate: 0.05, DeathRate: 0.01},
			discard{}, discard{})
		if err != nil {
			b.Fatal(err)
		}
		if st.Rows < 990_000 {
			b.Fatalf("rows %d", st.Rows)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestAbroadShare: with AbroadShare every no-UK-address exclusion can be an address
// abroad (no postcode in either file, a country last), and without it a seed gives the
// files it always gave.
func TestAbroadShare(t *testing.T) {
	gen := func(share float64) (string, string, *Stats) {
		var s, m bytes.Buffer
		st, err := Generate(Config{ICS: "QMM", N: 3000, Seed: 7, AbroadShare: share}, &s, &m)
		if err != nil {
			t.Fatal(err)
		}
		return s.String(), m.String(), st
	}
	s0, m0, st0 := gen(0)
	if strings.Contains(m0, "Spain") || strings.Contains(m0, "Republic of Ireland") || !strings.Contains(s0, "ZZ99") {
		t.Fatal("AbroadShare 0 wrote an address abroad, or no pseudo-postcode")
	}
	s1, m1, st1 := gen(1)
	if strings.Contains(s1, "ZZ99") || strings.Contains(m1, "ZZ99") {
		t.Error("AbroadShare 1 still wrote a pseudo-postcode")
	}
	if st1.Exclusions[ExclusionNoUKAddress] == 0 || st0.Exclusions[ExclusionNoUKAddress] == 0 {
		t.Fatalf("no exclusions of the kind: %v %v", st0.Exclusions, st1.Exclusions)
	}
	rows, err := csv.NewReader(strings.NewReader(m1)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	abroad := 0
	for _, f := range rows[1:] {
		if f[9] == "" {
			abroad++
		}
	}
	if abroad != st1.Exclusions[ExclusionNoUKAddress] {
		t.Errorf("%d mailing rows without a postcode, %d exclusions", abroad, st1.Exclusions[ExclusionNoUKAddress])
	}
	if _, err := Generate(Config{ICS: "QMM", N: 10, AbroadShare: 2}, io.Discard, io.Discard); err == nil {
		t.Error("AbroadShare 2 accepted")
	}
}

// TestEveryICSOfEngland: a national wave has 42 ICSs. The generator makes a sample for
// every ICS schemas.ICSNames knows (the eight with profiles of their own, the others on
// a borrowed profile), and no NHS number is in two ICSs' samples.
func TestEveryICSOfEngland(t *testing.T) {
	if len(ICSCodes()) != len(schemas.ICSNames) {
		t.Fatalf("ICSCodes() = %d codes, want the %d of schemas.ICSNames", len(ICSCodes()), len(schemas.ICSNames))
	}
	owner := map[string]string{}
	for i, code := range ICSCodes() {
		if schemas.ICSName(code) == "" {
			t.Fatalf("%s is no ICS of schemas.ICSNames", code)
		}
		var sample, mailing bytes.Buffer
		st, err := Generate(Config{ICS: code, N: 300, Seed: int64(i + 1), FaultRate: 0.02}, &sample, &mailing)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if st.ICS != code || st.Records != 300 {
			t.Fatalf("%s: stats for %s, %d records", code, st.ICS, st.Records)
		}
		rows, err := csv.NewReader(&sample).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			if len(r[1]) != 10 {
				continue // a fault
			}
			if other, ok := owner[r[1]]; ok && other != code {
				t.Fatalf("NHS number in both %s's and %s's samples", other, code)
			}
			owner[r[1]] = code
		}
	}
	// A borrowed profile's NHS numbers come from a smaller space: its N is bounded.
	for _, code := range ICSCodes() {
		if p := profileFor(code); p.maxN() < MaxN {
			if _, err := Generate(Config{ICS: code, N: p.maxN() + 1}, io.Discard, io.Discard); err == nil {
				t.Fatalf("%s: N above %d accepted", code, p.maxN())
			}
			break
		}
	}
}
