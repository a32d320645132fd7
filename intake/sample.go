package intake

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"icesurvey/codes"
	"icesurvey/pseudo"
	"icesurvey/schemas"
)

// sampleCols are the field indexes of the sample file's columns (-1 when absent).
type sampleCols struct {
	id, nhs, postcode, age, dob, gender, ethnicity, practice, ics, registered, efi, type1, dissent int
}

func newSampleCols(h *header) sampleCols {
	return sampleCols{
		id: h.idx("RECORD_ID"), nhs: h.idx("NHS_NUMBER"), postcode: h.idx("POSTCODE"), age: h.idx("AGE"),
		dob: h.idx("DATE_OF_BIRTH"), gender: h.idx("GENDER"), ethnicity: h.idx("ETHNICITY"),
		practice: h.idx("GP_PRACTICE_CODE"), ics: h.idx("ICS_CODE"), registered: h.idx("REGISTRATION_DATE"),
		efi: h.idx("EFI_SCORE"), type1: h.idx("TYPE1_OPT_OUT"), dissent: h.idx("DISSENT"),
	}
}

var genderCodes = []string{codes.GenderMale, codes.GenderFemale, codes.GenderIndeterminate, codes.GenderNotKnown, codes.GenderNotKnownX}

func genderIndex(code string) int {
	for i, g := range genderCodes {
		if g == code {
			return i
		}
	}
	return -1
}

// ethnicityByByte is ethnicityIndex+1 of each one-character code (0: none).
var ethnicityByByte = func() (t [256]uint8) {
	for i, e := range codes.EthnicCategories {
		if len(e.Code) == 1 && t[e.Code[0]] == 0 {
			t[e.Code[0]] = uint8(i + 1)
		}
	}
	return t
}()

func ethnicityIndex(code string) int {
	if len(code) == 1 && ethnicityByByte[code[0]] != 0 {
		return int(ethnicityByByte[code[0]]) - 1
	}
	for i, e := range codes.EthnicCategories {
		if e.Code == code {
			return i
		}
	}
	return -1
}

// tally gathers the declaration figures of the accepted sample during the sample pass.
type tally struct {
	practices map[string]*int
	recent    *keyCache[*int] // in front of practices, for the lookup every accepted row makes
	ageBand   [5]int
	gender    [5]int
	efiBand   [4]int
	ethnicity [18]int
	mobile    int
}

// countPractice adds an accepted record to its practice's count.
func (t *tally) countPractice(practice []byte) {
	k, short := shortKey(practice)
	if short {
		if n, ok := t.recent.get(k); ok {
			*n++
			return
		}
	}
	// Look up with a transient view; never assign with one (a map assignment may
	// store the key it is given).
	n := t.practices[view(practice)]
	if n == nil {
		n = new(int)
		t.practices[string(practice)] = n
	}
	*n++
	if short {
		t.recent.put(k, n)
	}
}

// nhsRow is a valid NHS number seen on a sample row (duplicate detection).
type nhsRow struct {
	nhs uint64
	row int32
}

// samplePass holds the state of the final pass over the sample file.
type samplePass struct {
	joins    *spillReader // j records, by RECORD_ID partition
	dups     *spillReader // g records, by NHS number partition
	outcomes *spillWriter // t records, by RECORD_ID partition
	ent      entry        // the join entry of the current row
	dupRows  []int32
	jrec     [jRecLen]byte
	findings []finding
	excl     []finding
	pc       [8]byte
	practice [6]byte
	ics      [3]byte
}

// findDuplicateNHS returns the rows of every NHS number seen more than once.
func findDuplicateNHS(seen []nhsRow) map[uint64][]int32 {
	slices.SortFunc(seen, func(a, b nhsRow) int {
		if a.nhs != b.nhs {
			if a.nhs < b.nhs {
				return -1
			}
			return 1
		}
		return int(a.row - b.row)
	})
	var dup map[uint64][]int32
	for i := 0; i < len(seen); {
		j := i + 1
		for j < len(seen) && seen[j].nhs == seen[i].nhs {
			j++
		}
		if j-i > 1 {
			if dup == nil {
				dup = map[uint64][]int32{}
			}
			rows := make([]int32, 0, j-i)
			for _, s := range seen[i:j] {
				rows = append(rows, s.row)
			}
			dup[seen[i].nhs] = rows
		}
		i = j
	}
	return dup
}

// sampleKeys is what the first pass over the sample file found.
type sampleKeys struct {
	fp       fingerprint
	sum      string // SHA-256
	warnings []string
}

// usableID reports whether a RECORD_ID can be a join key.
func usableID(id []byte) bool { return len(id) > 0 && len(id) <= MaxRecordIDLen && !hasControl(id) }

// scanSampleKeys is the first pass over the sample file: the RECORD_ID of every row
// and the valid NHS number of every well-formed row are spilled, partitioned, for
// the join and the duplicate checks.
func (r *run) scanSampleKeys(sp *spillSet) (*sampleKeys, error) {
	in, warnings, err := openInput(r.ctx, r.st, r.in.SampleKey, firstPass, schemas.SampleFileLayout(), "DATE_OF_BIRTH", "REGISTRATION_DATE")
	if err != nil {
		return nil, err
	}
	defer in.src.close()
	ids, err := sp.create("s")
	if err != nil {
		return nil, err
	}
	defer ids.close()
	nhsw, err := sp.create("n")
	if err != nil {
		return nil, err
	}
	defer nhsw.close()
	c := newSampleCols(in.hdr)
	n, err := r.eachRow(in, func(fields [][]byte, row int) error {
		row32, err := rowNumber(r.in.SampleKey, row)
		if err != nil {
			return err
		}
		if id := field(fields, c.id); usableID(id) {
			ids.rec = appendSRec(ids.rec[:0], row32, id)
			ids.put(sp.partID(id))
		}
		if _, ok := malformed(in.src, in.hdr.width, fields); !ok {
			return nil
		}
		if nhs, err := codes.ParseNHSNumber(view(field(fields, c.nhs))); err == nil {
			nhsw.rec = le.AppendUint64(nhsw.rec[:0], nhs)
			nhsw.rec = le.AppendUint32(nhsw.rec, uint32(row32))
			nhsw.put(sp.partNHS(nhs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ids.close(); err != nil {
		return nil, err
	}
	if err := nhsw.close(); err != nil {
		return nil, err
	}
	return &sampleKeys{fp: in.fingerprint(n), sum: in.sum(), warnings: noteWarnings(r.in.SampleKey, warnings)}, nil
}

// processSample is the final pass over the sample file, once the joins are done.
func (r *run) processSample(sp *spillSet, keys *sampleKeys) error {
	p := &samplePass{}
	var err error
	if p.joins, err = sp.open("j"); err != nil {
		return err
	}
	defer p.joins.close()
	if p.dups, err = sp.open("g"); err != nil {
		return err
	}
	defer p.dups.close()
	if p.outcomes, err = sp.create("t"); err != nil {
		return err
	}
	defer p.outcomes.close()
	fp, err := r.samplePass(sp, p)
	if err != nil {
		return err
	}
	if fp != keys.fp {
		return fmt.Errorf("%w: %s", ErrInputChanged, r.in.SampleKey)
	}
	r.res.SampleSHA256 = keys.sum
	r.res.SampleBytes = keys.fp.bytes
	return p.outcomes.close()
}

// samplePass reads the sample file again and returns its fingerprint.
func (r *run) samplePass(sp *spillSet, p *samplePass) (fingerprint, error) {
	in, notes, err := openInput(r.ctx, r.st, r.in.SampleKey, laterPass, schemas.SampleFileLayout(), "DATE_OF_BIRTH", "REGISTRATION_DATE")
	if err != nil {
		return fingerprint{}, err
	}
	c := newSampleCols(in.hdr)
	in.readAheadPersons(r.cfg.PseudonymKey, r.cfg.WaveID, r.cfg.ICS, c.id)
	defer in.src.close()
	if r.sample, err = newSampleSink(r.tempFile, pseudo.New(r.cfg.PseudonymKey)); err != nil {
		return fingerprint{}, err
	}
	if r.sampleRp, err = newReportFile(r.tempFile); err != nil {
		return fingerprint{}, err
	}
	res := r.res
	res.RowsRead, res.Accepted, res.Excluded, res.Rejected = 0, 0, 0, 0
	res.NoSMS, res.MobileUnusable, res.Findings = 0, 0, 0
	if err := r.sampleRp.addNotes(schemas.FileSample, notes); err != nil {
		return fingerprint{}, err
	}
	res.Findings += len(notes)
	clear(res.ByReason)
	r.tally = tally{practices: map[string]*int{}, recent: new(keyCache[*int])}
	if res.RowsRead, err = r.eachRow(in, func(fields [][]byte, row int) error {
		row32, err := rowNumber(r.in.SampleKey, row)
		if err != nil {
			return err
		}
		return r.sampleRow(sp, p, in.src, in.hdr.width, &c, fields, row32)
	}); err != nil {
		return fingerprint{}, err
	}
	r.sample.end() // the file is finished in the background
	return in.fingerprint(res.RowsRead), nil
}

// sampleRow checks, joins and classifies one sample row and writes its outputs.
func (r *run) sampleRow(sp *spillSet, p *samplePass, src rowSource, width int, c *sampleCols, fields [][]byte, row int32) error {
	p.findings = p.findings[:0]
	bad := func(field, reason, msg string) { p.findings = append(p.findings, finding{field, reason, msg}) }

	// RECORD_ID and the join entry.
	id := field(fields, c.id)
	var e *entry
	switch {
	case len(id) == 0:
		bad("RECORD_ID", ReasonRecordIDMissing, "RECORD_ID is empty")
	case len(id) > MaxRecordIDLen || hasControl(id):
		bad("RECORD_ID", ReasonRecordIDInvalid,
			fmt.Sprintf("RECORD_ID must be at most %d characters without control characters", MaxRecordIDLen))
	default:
		part := sp.partID(id)
		ok, err := p.joins.next(part, p.jrec[:])
		if err != nil {
			return err
		}
		if !ok || decodeJRec(p.jrec[:], &p.ent) != row {
			return fmt.Errorf("%w: sample row %d does not match the first pass", ErrInputChanged, row)
		}
		e = &p.ent
		defer func() {
			p.outcomes.rec = appendTRec(p.outcomes.rec[:0], e)
			p.outcomes.put(part)
		}()
		if e.sampleN > 1 {
			bad("RECORD_ID", ReasonRecordIDDuplicate,
				fmt.Sprintf("RECORD_ID is on %d sample rows (first on row %d); it must be unique", e.sampleN, e.sampleRow))
		}
	}
	if f, ok := malformed(src, width, fields); !ok {
		p.findings = append(p.findings, f)
		return r.reject(e, row, id, p.findings)
	}

	// NHS number.
	// (A nil error is tested first: errors.Is is a call, and nearly every number is valid.)
	nhs, err := codes.ParseNHSNumber(view(field(fields, c.nhs)))
	switch {
	case err == nil:
		rows, ok, err := p.dups.readDup(sp.partNHS(nhs), row, p.dupRows)
		if err != nil {
			return err
		}
		if ok {
			p.dupRows = rows
			bad("NHS_NUMBER", ReasonNHSNumberDuplicate, "the same NHS_NUMBER is on sample rows "+rowList(rows, row))
		}
	case errors.Is(err, codes.ErrNHSNumberFormat):
		bad("NHS_NUMBER", ReasonNHSNumberInvalid, "NHS_NUMBER must be 10 digits")
	case errors.Is(err, codes.ErrNHSNumberCheckDigit):
		bad("NHS_NUMBER", ReasonNHSNumberInvalid, "NHS_NUMBER fails the Modulus 11 check digit")
	case errors.Is(err, codes.ErrNHSNumberRepeated):
		bad("NHS_NUMBER", ReasonNHSNumberInvalid, "NHS_NUMBER is a placeholder (one digit repeated)")
	default:
		bad("NHS_NUMBER", ReasonNHSNumberInvalid, "NHS_NUMBER is not valid")
	}

	// Postcode. Without a UK one, an address abroad in the mailing file is an
	// exclusion; otherwise the postcode is wrong.
	noUK, abroad := false, false
	pc, err := codes.AppendPostcode(p.pc[:0], view(field(fields, c.postcode)))
	switch {
	case err == nil:
	case errors.Is(err, codes.ErrPseudoPostcode):
		noUK = true
	case e != nil && e.flags&flagAbroad != 0:
		abroad = true
	case errors.Is(err, codes.ErrPostcodeMissing):
		bad("POSTCODE", ReasonPostcodeInvalid, "POSTCODE is empty")
	case err != nil:
		bad("POSTCODE", ReasonPostcodeInvalid, "POSTCODE is not a valid UK postcode")
	}
	pcOK := err == nil

	// Date of birth and age.
	dob, err := codes.ParseYMD(view(field(fields, c.dob)))
	dobOK := err == nil
	age := 0
	switch {
	case err != nil:
		bad("DATE_OF_BIRTH", ReasonDOBInvalid, "DATE_OF_BIRTH must be a real date written yyyymmdd")
	case dob > r.samplingDay:
		bad("DATE_OF_BIRTH", ReasonDOBInvalid, "DATE_OF_BIRTH is after the sampling date")
		dobOK = false
	default:
		age = codes.AgeOn(dob, r.samplingDay)
		if age > 130 {
			bad("DATE_OF_BIRTH", ReasonDOBInvalid, "DATE_OF_BIRTH is more than 130 years before the sampling date")
			dobOK = false
		}
	}
	givenAge, ok := codes.ParseAge(view(field(fields, c.age)))
	switch {
	case !ok:
		bad("AGE", ReasonAgeInvalid, "AGE must be a whole number of years from 0 to 130")
	case dobOK && (givenAge-age > 1 || age-givenAge > 1):
		bad("AGE", ReasonAgeMismatch, fmt.Sprintf(
			"AGE differs by %d years from the age DATE_OF_BIRTH gives at the sampling date (1 year is allowed)", absInt(givenAge-age)))
	}

	// Codes.
	gender, ok := codes.NormaliseGender(view(field(fields, c.gender)))
	if !ok {
		bad("GENDER", ReasonGenderInvalid, "GENDER must be 1 (male), 2 (female), 9 (indeterminate), 0 or X (not known)")
	}
	ethnicity, ok := codes.NormaliseEthnicity(view(field(fields, c.ethnicity)))
	if !ok {
		bad("ETHNICITY", ReasonEthnicityInvalid, "ETHNICITY must be an ethnic category code (A-H, J-N, P, R, S, Z) or 99")
	}
	practice := upperInto(p.practice[:], field(fields, c.practice))
	switch {
	case !codes.ValidPracticeCode(view(practice)):
		bad("GP_PRACTICE_CODE", ReasonPracticeInvalid, "GP_PRACTICE_CODE must be an ODS practice code: a letter and five digits")
	case view(practice) == codes.PracticeUnknown:
		bad("GP_PRACTICE_CODE", ReasonPracticeInvalid, "GP_PRACTICE_CODE is V81999 (practice not known); the cohort is drawn from registered patients")
	}
	ics := upperInto(p.ics[:], field(fields, c.ics))
	switch {
	case !codes.ValidICSCode(view(ics)):
		bad("ICS_CODE", ReasonICSInvalid, "ICS_CODE must be the ICB's 3-character ODS code")
	case view(ics) != r.cfg.ICS:
		bad("ICS_CODE", ReasonICSMismatch, fmt.Sprintf("ICS_CODE is %s; this file is for %s", view(ics), r.cfg.ICS))
	}

	// Registration.
	registered, err := codes.ParseYMD(view(field(fields, c.registered)))
	regOK := err == nil
	switch {
	case err != nil:
		bad("REGISTRATION_DATE", ReasonRegistrationDateInvalid, "REGISTRATION_DATE must be a real date written yyyymmdd")
	case registered > r.samplingDay:
		bad("REGISTRATION_DATE", ReasonRegistrationDateInvalid, "REGISTRATION_DATE is after the sampling date")
		regOK = false
	case dobOK && registered < dob:
		bad("REGISTRATION_DATE", ReasonRegistrationDateInvalid, "REGISTRATION_DATE is before DATE_OF_BIRTH")
		regOK = false
	}

	// eFI.
	efiText := field(fields, c.efi)
	efi, err := codes.ParseFloat(view(efiText))
	switch {
	case len(efiText) == 0:
		bad("EFI_SCORE", ReasonEFIInvalid, "EFI_SCORE is empty")
	case err != nil || math.IsNaN(efi) || math.IsInf(efi, 0):
		bad("EFI_SCORE", ReasonEFIInvalid, "EFI_SCORE must be a number between 0 and 1")
	case !codes.ValidEFIScore(efi):
		bad("EFI_SCORE", ReasonEFIOutOfRange, "EFI_SCORE must be between 0 and 1 (the score, not a count of deficits)")
	}

	// Opt-out flags.
	type1, ok1 := flag(field(fields, c.type1))
	if !ok1 {
		bad("TYPE1_OPT_OUT", ReasonFlagInvalid, "TYPE1_OPT_OUT must be Y, N or empty")
	}
	dissent, ok2 := flag(field(fields, c.dissent))
	if !ok2 {
		bad("DISSENT", ReasonFlagInvalid, "DISSENT must be Y, N or empty")
	}

	// Cross-file checks.
	if e != nil && e.sampleN == 1 {
		switch {
		case e.mailN == 0:
			bad("RECORD_ID", ReasonNoMailingRecord, "no mailing record has this RECORD_ID")
		case e.mailN > 1:
			bad("RECORD_ID", ReasonMailingRecordDuplicate,
				fmt.Sprintf("%d mailing rows have this RECORD_ID (first on mailing row %d)", e.mailN, e.mailRow))
		case e.mailIssue != 0:
			bad("RECORD_ID", ReasonMailingRecordInvalid, fmt.Sprintf("its mailing record (mailing row %d) was rejected: %s",
				e.mailRow, mailingIssueCodes[e.mailIssue-1]))
		case pcOK && e.flags&flagAbroad != 0:
			bad("POSTCODE", ReasonPostcodeMismatch, fmt.Sprintf("POSTCODE is a UK postcode but the mailing record's address is abroad (mailing row %d)", e.mailRow))
		case pcOK && e.flags&flagNoUKAddress == 0 && !bytes.Equal(pc, trimNUL(e.postcode[:])):
			bad("POSTCODE", ReasonPostcodeMismatch, fmt.Sprintf("POSTCODE differs from the mailing record's (mailing row %d)", e.mailRow))
		}
	}
	if len(p.findings) > 0 {
		return r.reject(e, row, id, p.findings)
	}

	// Exclusions: valid records of people outside the cohort.
	efiBand := codes.EFIBandIndex(efi)
	band := codes.EFIBands[efiBand]
	p.excl = p.excl[:0]
	excl := func(field, reason, msg string) { p.excl = append(p.excl, finding{field, reason, msg}) }
	if !codes.EFIInCohort(band) {
		excl("EFI_SCORE", ExclFrailty, "eFI band is "+band+"; the survey is for moderate or severe frailty")
	}
	if age < 18 {
		excl("DATE_OF_BIRTH", ExclUnder18, "under 18 at the sampling date")
	}
	if regOK && registered > r.regCutoff {
		excl("REGISTRATION_DATE", ExclRegisteredUnder6M, "registered with the practice for less than 6 months at the sampling date")
	}
	if type1 {
		excl("TYPE1_OPT_OUT", ExclType1OptOut, "type 1 opt-out recorded")
	}
	if dissent {
		excl("DISSENT", ExclDissent, "dissent recorded")
	}
	switch {
	case noUK || e.flags&flagNoUKAddress != 0:
		excl("POSTCODE", ExclNoUKAddress, "no UK postal address (NHS pseudo-postcode ZZ99)")
	case abroad:
		excl("POSTCODE", ExclNoUKAddress, fmt.Sprintf("no UK postal address: the mailing record's address is abroad (mailing row %d)", e.mailRow))
	}
	if len(p.excl) > 0 {
		for _, f := range p.excl {
			if err := r.sampleRp.add(schemas.FileSample, int(row), id, schemas.DispositionExcluded, f); err != nil {
				return err
			}
		}
		r.res.Findings += len(p.excl)
		r.res.Excluded++
		r.res.ByReason[p.excl[0].reason]++
		e.state = stateExcluded
		return nil
	}

	// Accepted.
	r.res.Accepted++
	e.state = stateAccepted
	e.nhs = nhs
	e.dob = int32(dob.UnixDays())
	gi := genderIndex(gender)
	e.gender = uint8(gi + 1)
	// The one HMAC of the person's survey record id and access code (taken as the row
	// was read): the analysis record takes the id now, the contact record both, from
	// the outcome spilled.
	e.person = src.(*prefetchSource).person()
	ageBand := codes.AgeBand(age)
	ix := codeIndexes{ageBand: codes.AgeBandIndex(age), gender: gi, ethnicity: ethnicityIndex(ethnicity), efiBand: efiBand}
	r.writeSample(e, nhs, practice, int32(age), ageBand, gender, ethnicity, efi, band, int32(registered.UnixDays()), pc, &ix)
	t := &r.tally
	t.countPractice(practice)
	t.ageBand[ix.ageBand]++
	t.gender[gi]++
	t.efiBand[ix.efiBand]++
	t.ethnicity[ix.ethnicity]++
	if e.flags&flagHasMobile != 0 {
		t.mobile++
	} else {
		r.res.NoSMS++
		if e.flags&flagMobileUnusable != 0 {
			r.res.MobileUnusable++
		}
	}
	return nil
}

func (r *run) reject(e *entry, row int32, id []byte, findings []finding) error {
	for _, f := range findings {
		if err := r.sampleRp.add(schemas.FileSample, int(row), id, schemas.DispositionRejected, f); err != nil {
			return err
		}
	}
	r.res.Findings += len(findings)
	r.res.Rejected++
	r.res.ByReason[findings[0].reason]++
	if e != nil {
		e.state = stateRejected
	}
	return nil
}

// codeIndexes are the positions of an accepted record's codes in their code lists.
type codeIndexes struct {
	ageBand, gender, ethnicity, efiBand int
}

func (r *run) writeSample(e *entry, nhs uint64, practice []byte, age int32, ageBand, gender, ethnicity string,
	efi float64, band string, registered int32, pc []byte, ix *codeIndexes) {
	g := r.sample.cur
	if len(g.nhs) == 0 && r.sample.total >= rowsMax {
		g.presize()
	}
	g.persons = append(g.persons, e.person)
	g.nhs = append(g.nhs, nhs)
	g.wave.addCode(0, r.cfg.WaveID)
	g.ics.addCode(0, r.cfg.ICS)
	g.practice.add(practice)
	g.age = append(g.age, age)
	g.ageBand.addCode(ix.ageBand, ageBand)
	g.gender.addCode(ix.gender, gender)
	g.ethnicity.addCode(ix.ethnicity, ethnicity)
	g.efi = append(g.efi, efi)
	g.efiBand.addCode(ix.efiBand, band)
	g.registered = append(g.registered, registered)
	g.hasMobile.add(e.flags&flagHasMobile != 0)
	if i := bytes.IndexByte(pc, ' '); i > 0 {
		g.district.add(pc[:i])
	} else {
		g.district.add(nil)
	}
	r.sample.endRow()
}

// presize gives the fixed-width columns of a row group a full row group's room at
// once, when the file has filled one before: each slot of the sink would otherwise
// grow its columns from nothing, a quarter at a time (the first slot still does).
func (g *sampleGroup) presize() {
	g.persons = reserve(g.persons, rowsMax)
	g.nhs = reserve(g.nhs, rowsMax)
	g.age = reserve(g.age, rowsMax)
	g.efi = reserve(g.efi, rowsMax)
	g.registered = reserve(g.registered, rowsMax)
	for _, c := range g.dicts() {
		c.idx = reserve(c.idx, rowsMax)
	}
	g.hasMobile.bits = reserve(g.hasMobile.bits, (rowsMax+7)/8)
}

// flag reads a Y/N opt-out column: Y or N in either case, or empty (= N).
func flag(b []byte) (set, ok bool) {
	switch {
	case len(b) == 0:
		return false, true
	case len(b) == 1 && (b[0] == 'Y' || b[0] == 'y'):
		return true, true
	case len(b) == 1 && (b[0] == 'N' || b[0] == 'n'):
		return false, true
	}
	return false, false
}

// upperInto copies b upper-cased into dst when it fits; a longer b is returned as is
// (it is invalid anyway).
func upperInto(dst, b []byte) []byte {
	if len(b) > len(dst) {
		return b
	}
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst[i] = c
	}
	return dst[:len(b)]
}

// rowList lists the rows of a duplicate group other than self (at most five).
func rowList(rows []int32, self int32) string {
	var parts []string
	for _, r := range rows {
		if r == self {
			continue
		}
		if len(parts) == 5 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, strconv.Itoa(int(r)))
	}
	return strings.Join(append([]string{strconv.Itoa(int(self))}, parts...), ", ")
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
