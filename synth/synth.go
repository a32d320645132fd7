// Package synth generates synthetic ICS sample and mailing files for the Integrated Care
// Experience Survey: realistic, deterministic for a seed, and seeded with a known number of
// faults of every kind intake checks for, so the pipeline can be tested and demonstrated
// end to end without real patient data.
//
// A generated pair follows the contract in SPEC §3–4. The sample file has the columns
// RECORD_ID, NHS_NUMBER, POSTCODE, AGE, DATE_OF_BIRTH, GENDER, ETHNICITY, GP_PRACTICE_CODE,
// ICS_CODE, REGISTRATION_DATE, EFI_SCORE, TYPE1_OPT_OUT, DISSENT; the mailing file has
// RECORD_ID, TITLE, FIRST_NAME, LAST_NAME, ADDRESS_1..ADDRESS_5, POSTCODE, MOBILE.
//
// The population is a frail, mostly older one: ages mostly 65–95 with some 18–64, eFI
// scores moderate or severe (multiples of 1/36, printed to two decimals), an ethnicity mix
// for the ICS's area, 40–80 GP practices of uneven size, real outward postcodes and post
// towns of the ICS (a few from just over its border), made-up names and addresses, about
// 30% of mobiles missing and some landlines. Nothing identifies a real person: NHS numbers
// are valid Modulus 11 numbers in the 9 range (9, then the ICS's digit, then eight more),
// which is not issued to patients, and phone numbers are from Ofcom's drama ranges.
//
// Every postcode follows the SPEC §4 grammar except the NHS pseudo-postcodes ZZ99 3VZ /
// ZZ99 3WZ of exclusion no_uk_postal_address and the mangled ones of fault postcode_invalid.
//
// With probability Config.FaultRate a record carries exactly one fault, drawn evenly from
// the catalogue (see Catalogue). About 15% of the records without a rejecting fault carry
// exactly one cohort exclusion instead (see ExclusionKinds). An exclusion never coincides
// with a rejecting fault, so the expected disposition of every row is unambiguous whatever
// order intake applies its rules in; Stats reports the expected counts.
//
// Duplicates: duplicate_record_id and duplicate_nhs_number take their value from an
// earlier clean row (one of the last 64). The convention is that every row sharing a
// duplicated RECORD_ID or NHS number is rejected, so the earlier row is rejected too; it is
// counted in Stats.DuplicatePartners, not in Stats.Faults.
//
// Generation streams: memory is constant in N apart from Stats.DeceasedNHS.
package synth

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config says what to generate.
type Config struct {
	// ICS is the ICB's 3-character ODS code; one of ICSCodes().
	ICS string
	// N is the number of records (people). Every record has a sample row and a mailing
	// row except those with fault mailing_without_sample (no sample row) or
	// sample_without_mailing (no mailing row).
	N int
	// Seed makes the output deterministic: the same Config gives the same bytes.
	Seed int64
	// FaultRate is the probability that a record carries one fault, 0–1.
	FaultRate float64
	// SamplingDate is the date ages, eligibility and registration length are judged at.
	// Zero means DefaultSamplingDate.
	SamplingDate time.Time
	// Format is "csv" (default) or "xlsx".
	Format string
	// DeathRate is the probability that an accepted record is listed in
	// Stats.DeceasedNHS, for the DBS simulator. It does not change the files.
	DeathRate float64
	// AbroadShare is the share (0–1) of the no_uk_postal_address exclusions written
	// as an address abroad — POSTCODE empty in both files, a town and a country outside
	// the UK as the last address lines — instead of a ZZ99 pseudo-postcode. At 0 (the
	// default) the output is what it has always been for a seed.
	AbroadShare float64
}

// Stats describes what was generated and what intake is expected to make of it.
//
// Expected* count sample rows: ExpectedRejected + ExpectedExcluded + ExpectedAccepted ==
// Rows. ExpectedRejected == the rejecting faults on sample rows (every fault but
// mobile_invalid and mailing_without_sample) + DuplicatePartners.
type Stats struct {
	ICS string `json:"ics"`
	// Records is the number of records generated (Config.N).
	Records int `json:"records"`
	// Rows is the number of sample rows written (excluding the header).
	Rows int `json:"rows"`
	// MailingRows is the number of mailing rows written (excluding the header).
	MailingRows int `json:"mailing_rows"`
	// Clean counts sample rows with no fault, no exclusion and not rejected as a
	// duplicate partner: the accepted rows that are accepted without any remark.
	Clean int `json:"clean"`
	// NoMobile counts mailing rows whose MOBILE is not a UK mobile (empty, a landline, or
	// fault mobile_invalid): these people get no SMS.
	NoMobile int `json:"no_mobile"`
	// Faults counts records by fault; every catalogue name is present.
	Faults map[string]int `json:"faults"`
	// Exclusions counts excluded sample rows by reason; every exclusion name is present.
	// The sum equals ExpectedExcluded.
	Exclusions map[string]int `json:"exclusions"`
	// DuplicatePartners counts the earlier, otherwise clean, rows rejected because a later
	// row duplicated their RECORD_ID or NHS number.
	DuplicatePartners int `json:"duplicate_partners"`

	ExpectedRejected int `json:"expected_rejected"`
	ExpectedExcluded int `json:"expected_excluded"`
	ExpectedAccepted int `json:"expected_accepted"`
	// ExpectedAcceptedWithMobile counts accepted rows with a valid UK mobile (SMS reminders).
	ExpectedAcceptedWithMobile int `json:"expected_accepted_with_mobile"`

	// DeceasedNHS maps NHS numbers of accepted rows to a date of death, for the DBS
	// simulator (Config.DeathRate). Dates fall between 30 days before the sampling date and
	// 56 days after it, so some deaths only show up at later pre-mailing checks.
	// Test data only.
	DeceasedNHS map[string]time.Time `json:"deceased_nhs,omitempty"`
}

// DefaultSamplingDate is used when Config.SamplingDate is zero.
var DefaultSamplingDate = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// MaxN is the largest N accepted (each ICS has 10^7 NHS numbers to draw from).
const MaxN = 5_000_000

// maxXLSXRows is Excel's row limit less the header.
const maxXLSXRows = 1_048_575

var sampleColumns = []string{
	"RECORD_ID", "NHS_NUMBER", "POSTCODE", "AGE", "DATE_OF_BIRTH", "GENDER", "ETHNICITY",
	"GP_PRACTICE_CODE", "ICS_CODE", "REGISTRATION_DATE", "EFI_SCORE", "TYPE1_OPT_OUT", "DISSENT",
}

var mailingColumns = []string{
	"RECORD_ID", "TITLE", "FIRST_NAME", "LAST_NAME",
	"ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "ADDRESS_5", "POSTCODE", "MOBILE",
}

// SampleColumns is the sample file header, in the order written.
func SampleColumns() []string { return append([]string(nil), sampleColumns...) }

// MailingColumns is the mailing file header, in the order written.
func MailingColumns() []string { return append([]string(nil), mailingColumns...) }

// ICSCodes lists the ICS codes the generator knows (the Phase 1 ICSs).
func ICSCodes() []string {
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i] = p.code
	}
	return out
}

func profileFor(code string) *icsProfile {
	for _, p := range profiles {
		if strings.EqualFold(p.code, code) {
			return p
		}
	}
	return nil
}

func (c *Config) normalise() (*icsProfile, error) {
	p := profileFor(strings.TrimSpace(c.ICS))
	if p == nil {
		return nil, fmt.Errorf("synth: unknown ICS %q (known: %s)", c.ICS, strings.Join(ICSCodes(), ", "))
	}
	c.ICS = p.code
	if c.N < 0 || c.N > p.maxN() {
		return nil, fmt.Errorf("synth: N = %d, want 0..%d for %s", c.N, p.maxN(), p.code)
	}
	if !(c.FaultRate >= 0 && c.FaultRate <= 1) {
		return nil, fmt.Errorf("synth: FaultRate = %v, want 0..1", c.FaultRate)
	}
	if !(c.AbroadShare >= 0 && c.AbroadShare <= 1) {
		return nil, fmt.Errorf("synth: AbroadShare = %v, want 0..1", c.AbroadShare)
	}
	if !(c.DeathRate >= 0 && c.DeathRate <= 1) {
		return nil, fmt.Errorf("synth: DeathRate = %v, want 0..1", c.DeathRate)
	}
	if c.SamplingDate.IsZero() {
		c.SamplingDate = DefaultSamplingDate
	}
	y, m, d := c.SamplingDate.Date()
	c.SamplingDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch strings.ToLower(c.Format) {
	case "", "csv":
		c.Format = "csv"
	case "xlsx":
		c.Format = "xlsx"
		if c.N > maxXLSXRows {
			return nil, fmt.Errorf("synth: N = %d is more rows than an xlsx sheet holds (%d)", c.N, maxXLSXRows)
		}
	default:
		return nil, fmt.Errorf("synth: unknown format %q (want csv or xlsx)", c.Format)
	}
	return p, nil
}

// Generate writes a sample file to sample and a mailing file to mailing, in cfg.Format,
// and returns what it wrote. The output is a function of cfg alone.
func Generate(cfg Config, sample, mailing io.Writer) (*Stats, error) {
	prof, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	sw, err := newRowWriter(cfg.Format, sample, "Sample")
	if err != nil {
		return nil, err
	}
	mw, err := newRowWriter(cfg.Format, mailing, "Mailing")
	if err != nil {
		return nil, err
	}
	g := newGenerator(cfg, prof)
	if err := g.run(sw, mw); err != nil {
		return nil, err
	}
	if err := errors.Join(sw.close(), mw.close()); err != nil {
		return nil, fmt.Errorf("synth: writing: %w", err)
	}
	return g.stats, nil
}

// GenerateFiles writes {ICS}_sample.{format} and {ICS}_mailing.{format} into dir (created
// if need be) and returns their paths with the Stats.
func GenerateFiles(cfg Config, dir string) (samplePath, mailingPath string, st *Stats, err error) {
	if _, err := cfg.normalise(); err != nil {
		return "", "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", nil, err
	}
	samplePath = filepath.Join(dir, cfg.ICS+"_sample."+cfg.Format)
	mailingPath = filepath.Join(dir, cfg.ICS+"_mailing."+cfg.Format)
	sf, err := os.Create(samplePath)
	if err != nil {
		return "", "", nil, err
	}
	defer sf.Close()
	mf, err := os.Create(mailingPath)
	if err != nil {
		return "", "", nil, err
	}
	defer mf.Close()
	st, err = Generate(cfg, sf, mf)
	if err != nil {
		return "", "", nil, err
	}
	if err := errors.Join(sf.Close(), mf.Close()); err != nil {
		return "", "", nil, err
	}
	return samplePath, mailingPath, st, nil
}

// record is one person as written to the two files.
type record struct {
	id, nhs, postcode, age, dob, gender, ethnicity, gp, ics, reg, efi, type1, dissent string

	title, first, last string
	addr               [5]string
	mpostcode, mobile  string

	// kept for faults that derive a value from the true one
	dobDate time.Time
	ageN    int
	efiK    int
}

func (r *record) sampleRow(buf []string) []string {
	return append(buf[:0], r.id, r.nhs, r.postcode, r.age, r.dob, r.gender, r.ethnicity,
		r.gp, r.ics, r.reg, r.efi, r.type1, r.dissent)
}

func (r *record) mailingRow(buf []string) []string {
	return append(buf[:0], r.id, r.title, r.first, r.last,
		r.addr[0], r.addr[1], r.addr[2], r.addr[3], r.addr[4], r.mpostcode, r.mobile)
}

// poolEntry is a clean row that a later duplicate fault may copy.
type poolEntry struct {
	rec      record
	mobileOK bool
	deceased bool
}

const poolSize = 64

type practice struct {
	code string
}

type generator struct {
	cfg      Config
	prof     *icsProfile
	rng      *rand.Rand
	deathRng *rand.Rand
	sampling time.Time
	idWidth  int

	practices   []practice
	practiceCum []float64
	areaCum     []float64
	neighCum    []float64
	ethCum      []float64

	nhsKey     [4]uint64
	nhsCounter uint32

	pool  []poolEntry
	stats *Stats
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func newGenerator(cfg Config, prof *icsProfile) *generator {
	ih := hashString(prof.code)
	seed := uint64(cfg.Seed)
	g := &generator{
		cfg:      cfg,
		prof:     prof,
		rng:      rand.New(rand.NewPCG(seed, ih)),
		deathRng: rand.New(rand.NewPCG(splitmix(seed^0xdead), ih+1)),
		sampling: cfg.SamplingDate,
		idWidth:  max(7, len(strconv.Itoa(cfg.N))),
		stats: &Stats{
			ICS:        prof.code,
			Records:    cfg.N,
			Faults:     map[string]int{},
			Exclusions: map[string]int{},
		},
	}
	for _, f := range catalogue {
		g.stats.Faults[f.Name] = 0
	}
	for _, e := range exclusionKinds {
		g.stats.Exclusions[e] = 0
	}
	if cfg.DeathRate > 0 {
		g.stats.DeceasedNHS = map[string]time.Time{}
	}
	k := splitmix(seed ^ ih)
	for i := range g.nhsKey {
		k = splitmix(k)
		g.nhsKey[i] = k
	}
	g.areaCum = cumulative(len(prof.areas), func(i int) float64 { return prof.areas[i].weight })
	g.neighCum = cumulative(len(prof.neighbours), func(i int) float64 { return prof.neighbours[i].weight })
	g.ethCum = cumulative(len(prof.ethnicity), func(i int) float64 { return prof.ethnicity[i].weight })
	g.makePractices()
	return g
}

func cumulative(n int, w func(int) float64) []float64 {
	out := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += w(i)
		out[i] = sum
	}
	return out
}

// pickCum draws an index with probability proportional to the weights behind cum.
func (g *generator) pickCum(cum []float64) int {
	x := g.rng.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func pick[T any](g *generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// makePractices creates 40–80 practices with ODS-style codes and uneven list sizes.
func (g *generator) makePractices() {
	n := 40 + g.rng.IntN(41)
	seen := map[string]bool{}
	for len(g.practices) < n {
		var code string
		if g.rng.Float64() < 0.06 {
			code = fmt.Sprintf("Y0%04d", g.rng.IntN(10000)) // a practice opened since 2000
		} else {
			code = fmt.Sprintf("%s%03d", pick(g, g.prof.gpPrefixes), 1+g.rng.IntN(750))
		}
		if seen[code] {
			continue
		}
		seen[code] = true
		g.practices = append(g.practices, practice{code: code})
	}
	// List sizes are roughly log-normal: a few large group practices, many small ones.
	g.practiceCum = make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += math.Exp(0.7 * g.rng.NormFloat64())
		g.practiceCum[i] = sum
	}
}

func (g *generator) run(sw, mw rowWriter) error {
	if err := sw.write(sampleColumns); err != nil {
		return err
	}
	if err := mw.write(mailingColumns); err != nil {
		return err
	}
	st := g.stats
	sbuf := make([]string, 0, len(sampleColumns))
	mbuf := make([]string, 0, len(mailingColumns))
	var r record
	for i := range g.cfg.N {
		fault := g.drawFault()
		excl := ""
		if fault == "" || fault == FaultMobileInvalid {
			if g.rng.Float64() < exclusionRate {
				excl = exclusionKinds[g.pickWeights(exclusionWeights)]
			}
		}
		g.person(&r, i+1, excl)
		if fault != "" {
			g.applyFault(&r, fault)
			st.Faults[fault]++
		}

		disp := Accepted
		switch {
		case fault != "" && catalogue[faultIndex(fault)].Disposition == Rejected:
			disp = Rejected
		case excl != "":
			disp = Excluded
		}
		mobileOK := validMobile(r.mobile)

		if fault != FaultMailingWithoutSample {
			st.Rows++
			switch disp {
			case Rejected:
				st.ExpectedRejected++
			case Excluded:
				st.ExpectedExcluded++
				st.Exclusions[excl]++
			case Accepted:
				st.ExpectedAccepted++
				if mobileOK {
					st.ExpectedAcceptedWithMobile++
				}
			}
			if err := sw.write(r.sampleRow(sbuf)); err != nil {
				return err
			}
		}
		if fault != FaultSampleWithoutMailing {
			st.MailingRows++
			if !mobileOK {
				st.NoMobile++
			}
			if err := mw.write(r.mailingRow(mbuf)); err != nil {
				return err
			}
		}

		deceased := false
		if disp == Accepted && g.cfg.DeathRate > 0 && g.deathRng.Float64() < g.cfg.DeathRate {
			deceased = true
			st.DeceasedNHS[r.nhs] = g.sampling.AddDate(0, 0, -30+g.deathRng.IntN(87))
		}
		if fault == "" && excl == "" {
			st.Clean++
			e := poolEntry{rec: r, mobileOK: mobileOK, deceased: deceased}
			if len(g.pool) < poolSize {
				g.pool = append(g.pool, e)
			} else {
				g.pool[i%poolSize] = e
			}
		}
	}
	return nil
}

func (g *generator) pickWeights(w []float64) int {
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	x := g.rng.Float64() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// drawFault returns "" or one fault drawn evenly from the catalogue. A duplicate fault
// needs an earlier clean row to copy; in the rare case there is none yet (the first rows
// of a file) another fault is drawn.
func (g *generator) drawFault() string {
	if g.cfg.FaultRate == 0 || g.rng.Float64() >= g.cfg.FaultRate {
		return ""
	}
	for {
		f := catalogue[g.rng.IntN(len(catalogue))].Name
		if isDuplicateFault(f) && len(g.pool) == 0 {
			continue
		}
		return f
	}
}

// takePartner removes a random clean row from the pool and moves it from accepted to
// rejected in the stats: it now shares a RECORD_ID or NHS number with a later row.
func (g *generator) takePartner() record {
	i := g.rng.IntN(len(g.pool))
	e := g.pool[i]
	last := len(g.pool) - 1
	g.pool[i] = g.pool[last]
	g.pool = g.pool[:last]

	st := g.stats
	st.Clean--
	st.ExpectedAccepted--
	st.ExpectedRejected++
	st.DuplicatePartners++
	if e.mobileOK {
		st.ExpectedAcceptedWithMobile--
	}
	if e.deceased {
		delete(st.DeceasedNHS, e.rec.nhs)
	}
	return e.rec
}

func validMobile(s string) bool {
	var rest string
	switch {
	case len(s) == 11 && strings.HasPrefix(s, "07"):
		rest = s[2:]
	case len(s) == 13 && strings.HasPrefix(s, "+447"):
		rest = s[4:]
	default:
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// maxN is the largest N the profile's NHS number space allows: MaxN for the eight
// profiles of their own (10^7 numbers each); a borrowed profile draws from 10^5, of
// which about 90,900 have a check digit.
func (p *icsProfile) maxN() int {
	if p.borrowed {
		return MaxBorrowedN
	}
	return MaxN
}

// MaxBorrowedN is the largest N of an ICS on a borrowed profile (see borrowedProfiles).
const MaxBorrowedN = 80_000
