package intake

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"icesurvey/codes"
	"icesurvey/schemas"
)

// mailingCols are the field indexes of the mailing file's columns (-1 when absent).
type mailingCols struct {
	id, title, first, last, postcode, mobile int
	addr                                     [5]int
	text                                     [len(textColumns)]int // of textColumns
}

// textColumns are the free-text columns, checked for control characters in this
// order: the name, then the address lines (textAddr on).
var textColumns = [...]string{"TITLE", "FIRST_NAME", "LAST_NAME", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "ADDRESS_5"}

const (
	textLast = 2
	textAddr = 3
)

// textControlMsgs are the findings' messages for textColumns, made once.
var textControlMsgs = func() (m [len(textColumns)]string) {
	for i, name := range textColumns {
		m[i] = name + " contains a line break or control character"
	}
	return m
}()

// textMaxLen are the most characters each of textColumns may have (the layout's max=),
// and textLongMsgs the messages of the findings of a longer one.
var textMaxLen, textLongMsgs = func() (n [len(textColumns)]int, m [len(textColumns)]string) {
	l := schemas.MailingFileLayout()
	for i, name := range textColumns {
		c, ok := l.Column(name)
		if !ok || c.MaxLen <= 0 {
			panic("intake: mailing column " + name + " has no maximum length")
		}
		n[i] = c.MaxLen
		m[i] = fmt.Sprintf("%s is longer than %d characters, the most a name or address line may have (PDS, the DBS trace and the letter take no more)", name, c.MaxLen)
	}
	return n, m
}()

// tooLong reports whether b, valid UTF-8, has more than max characters. A value of
// up to max bytes never has (the usual one: no counting).
func tooLong(b []byte, max int) bool {
	return len(b) > max && utf8.RuneCount(b) > max
}

func newMailingCols(h *header) mailingCols {
	c := mailingCols{
		id: h.idx("RECORD_ID"), title: h.idx("TITLE"), first: h.idx("FIRST_NAME"), last: h.idx("LAST_NAME"),
		postcode: h.idx("POSTCODE"), mobile: h.idx("MOBILE"),
	}
	for i := range c.addr {
		c.addr[i] = h.idx("ADDRESS_" + strconv.Itoa(i+1))
	}
	for i, name := range textColumns {
		c.text[i] = h.idx(name)
	}
	return c
}

// mailingIssueCodes are the reasons a mailing row can fail on its own account; an
// entry stores its first one as an index+1.
var mailingIssueCodes = []string{
	ReasonRowMalformed, ReasonRecordIDMissing, ReasonRecordIDInvalid, ReasonNameMissing,
	ReasonTextInvalid, ReasonPostcodeInvalid, ReasonAddressTooShort, ReasonFieldTooLong,
}

func mailingIssueIndex(reason string) uint8 {
	for i, c := range mailingIssueCodes {
		if c == reason {
			return uint8(i + 1)
		}
	}
	panic("intake: unlisted mailing reason " + reason)
}

// mailingRow is the outcome of checking one mailing row.
type mailingRow struct {
	id       []byte
	idOK     bool // id is usable as a join key
	findings []finding
	flags    uint8
	postcode [8]byte
	mobile   []byte // raw MOBILE field
}

// checkMailing checks one mailing row. findings is reused between calls.
func (r *run) checkMailing(src rowSource, width int, c *mailingCols, fields [][]byte, m *mailingRow) {
	if !startMailingRow(src, width, c, fields, m) {
		return
	}
	// Each text field is trimmed once, for all the checks that look at it.
	var text [len(textColumns)][]byte
	for i, col := range c.text {
		text[i] = field(fields, col)
	}
	if len(text[textLast]) == 0 {
		m.findings = append(m.findings, finding{"LAST_NAME", ReasonNameMissing, "LAST_NAME is empty"})
	}
	for i, t := range text {
		if anyControl(t) {
			m.findings = append(m.findings, finding{textColumns[i], ReasonTextInvalid, textControlMsgs[i]})
		}
		if tooLong(t, textMaxLen[i]) {
			m.findings = append(m.findings, finding{textColumns[i], ReasonFieldTooLong, textLongMsgs[i]})
		}
	}
	pcField := field(fields, c.postcode)
	_, err := codes.AppendPostcode(m.postcode[:0], view(pcField))
	switch {
	case err == nil: // (first: errors.Is is a call, and nearly every row has no error)
	case errors.Is(err, codes.ErrPseudoPostcode):
		m.flags |= flagNoUKAddress
	case abroad(text[textAddr:], pcField):
		m.flags |= flagAbroad
	case errors.Is(err, codes.ErrPostcodeMissing):
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is empty"})
	case err != nil:
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is not a valid UK postcode"})
	}
	if m.flags&(flagNoUKAddress|flagAbroad) == 0 {
		lines := 0
		for _, a := range text[textAddr:] {
			if len(a) > 0 {
				lines++
			}
		}
		switch {
		case len(text[textAddr]) == 0:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort, "ADDRESS_1 is empty"})
		case lines < 2:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort,
				"a postal address needs at least two address lines and a postcode"})
		}
	}
	m.mobile = field(fields, c.mobile)
	if len(m.mobile) > 0 {
		var buf [16]byte
		if _, ok := codes.AppendMobile(buf[:0], view(m.mobile)); ok {
			m.flags |= flagHasMobile
		} else {
			m.flags |= flagMobileUnusable
		}
	}
}

// startMailingRow resets m for a new row and checks its RECORD_ID and its width. It is
// false for a malformed row, whose columns may be shifted: nothing else in it can be
// trusted.
func startMailingRow(src rowSource, width int, c *mailingCols, fields [][]byte, m *mailingRow) bool {
	m.findings = m.findings[:0]
	m.flags = 0
	m.postcode = [8]byte{}
	m.id = field(fields, c.id)
	m.idOK = false
	switch {
	case len(m.id) == 0:
		m.findings = append(m.findings, finding{"RECORD_ID", ReasonRecordIDMissing, "RECORD_ID is empty"})
	case len(m.id) > MaxRecordIDLen || hasControl(m.id):
		m.findings = append(m.findings, finding{"RECORD_ID", ReasonRecordIDInvalid,
			fmt.Sprintf("RECORD_ID must be at most %d characters without control characters", MaxRecordIDLen)})
	default:
		m.idOK = true
	}
	if f, ok := malformed(src, width, fields); !ok {
		m.findings = append(m.findings, f)
		return false
	}
	return true
}

// abroad reports whether a mailing row without a UK postcode has an address abroad:
// its last non-empty address line, or its POSTCODE field, is the name of a country
// outside the UK (see the package documentation). It is asked only of the rare row
// whose postcode is missing or malformed.
func abroad(addr [][]byte, postcode []byte) bool {
	for i := len(addr) - 1; i >= 0; i-- {
		if len(addr[i]) > 0 {
			if codes.ForeignCountry(string(addr[i])) {
				return true
			}
			break
		}
	}
	return codes.ForeignCountry(string(postcode))
}

// anyControl is hasControl a word at a time: every row of a mailing file has eight
// text fields to check, most of them short. A field of up to 8 bytes is gathered into
// one word (with overlapping loads, or spaces for padding), a longer one checked 8
// bytes at a time.
func anyControl(b []byte) bool {
	n := len(b)
	var x uint64
	switch {
	case n > 8:
		for i := 0; i+8 < n; i += 8 {
			if controlByte(le.Uint64(b[i:])) {
				return true
			}
		}
		x = le.Uint64(b[n-8:]) // the last 8, overlapping those checked
	case n >= 4:
		x = uint64(le.Uint32(b)) | uint64(le.Uint32(b[n-4:]))<<32
	case n > 0:
		x = uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16 | 0x2020202020<<24
	default:
		return false
	}
	return controlByte(x)
}

// controlByte reports whether a byte of x is a control character: its top three
// bits clear (below 0x20), or 0x7F.
func controlByte(x uint64) bool {
	const top3, del = 0xE0E0E0E0E0E0E0E0, 0x7F7F7F7F7F7F7F7F
	return swarMatch(x&top3, 0)|swarMatch(x, del) != 0
}

// malformed checks a row's width against the header's. A CSV row must match it; a
// spreadsheet row may be shorter (trailing empty cells are not stored) but must not
// carry values beyond the last header column.
func malformed(src rowSource, width int, fields [][]byte) (finding, bool) {
	if len(fields) == width {
		return finding{}, true
	}
	if !src.strictWidth() {
		extra := false
		for _, f := range fields[min(width, len(fields)):] {
			if len(bytes.TrimSpace(f)) > 0 {
				extra = true
			}
		}
		if !extra {
			return finding{}, true
		}
	}
	return finding{"", ReasonRowMalformed,
		fmt.Sprintf("the row has %d fields but the header has %d (a stray comma or an unquoted value?)", len(fields), width)}, false
}

// scanMailing is the first pass over the mailing file: every row checked, and each
// with a usable RECORD_ID spilled, partitioned, for the joins.
func (r *run) scanMailing(sp *spillSet) error {
	in, warnings, err := openInput(r.ctx, r.st, r.in.MailingKey, firstPass, schemas.MailingFileLayout())
	if err != nil {
		return err
	}
	in.readAhead() // the checks are heavier than the sample file's first pass beside it
	defer in.src.close()
	r.res.Warnings = append(r.res.Warnings, noteWarnings(r.in.MailingKey, warnings)...)
	if in.hdr.idx("MOBILE") < 0 {
		r.warn("%s: no MOBILE column: nobody will get SMS reminders", r.in.MailingKey)
	}
	out, err := sp.create("m")
	if err != nil {
		return err
	}
	defer out.close()
	c := newMailingCols(in.hdr)
	var m mailingRow
	n, err := r.eachRow(in, func(fields [][]byte, row int) error {
		row32, err := rowNumber(r.in.MailingKey, row)
		if err != nil {
			return err
		}
		r.checkMailing(in.src, in.hdr.width, &c, fields, &m)
		if !m.idOK {
			return nil
		}
		var issue uint8
		if len(m.findings) > 0 {
			issue = mailingIssueIndex(m.findings[0].reason)
		}
		out.rec = appendMRec(out.rec[:0], row32, m.flags, issue, m.postcode, m.id)
		out.put(sp.partID(m.id))
		return nil
	})
	if err != nil {
		return err
	}
	if err := out.close(); err != nil {
		return err
	}
	r.res.MailingRowsRead = n
	r.res.MailingSHA256 = in.sum()
	r.res.MailingBytes = in.bytes.n
	r.mailingFP = in.fingerprint(n)
	return nil
}

// headerNames lists the layout column name of each field index (for messages).
func headerNames(h *header) []string {
	names := make([]string, h.width)
	for name, i := range h.cols {
		names[i] = name
	}
	return names
}

// writeContacts is pass 5: the mailing file again, writing the contact record of every
// accepted person and reporting the mailing file's findings.
func (r *run) writeContacts(sp *spillSet) error {
	in, notes, err := openInput(r.ctx, r.st, r.in.MailingKey, laterPass, schemas.MailingFileLayout())
	if err != nil {
		return err
	}
	in.readAhead()
	defer in.src.close()
	joins, err := sp.open("k")
	if err != nil {
		return err
	}
	defer joins.close()
	var krec [kRecLen]byte
	var ent entry
	var full groupBytes
	if r.contacts, err = newContactSink(r.tempFile); err != nil {
		return err
	}
	if r.mailRp, err = newReportFile(r.tempFile); err != nil {
		return err
	}
	if err := r.mailRp.addNotes(schemas.FileMailing, notes); err != nil {
		return err
	}
	r.res.Findings += len(notes)
	c := newMailingCols(in.hdr)
	res := r.res
	var m mailingRow
	n, err := r.eachRow(in, func(fields [][]byte, row int) error {
		var e *entry
		if id := field(fields, c.id); usableID(id) {
			ok, err := joins.next(sp.partID(id), krec[:])
			if err != nil {
				return err
			}
			if !ok || int(decodeKRec(krec[:], &ent)) != row {
				return fmt.Errorf("%w: mailing row %d does not match the first pass", ErrInputChanged, row)
			}
			e = &ent
			if e.rowIssue == 0 {
				// The first pass found nothing wrong with the row: it need not be
				// checked again (the file is the same: its fingerprint is compared
				// at the end, before anything is stored).
				m.id, m.idOK, m.findings = id, true, m.findings[:0]
				m.mobile = field(fields, c.mobile)
			} else {
				r.checkMailing(in.src, in.hdr.width, &c, fields, &m)
			}
			if e.mailN > 1 {
				m.findings = append([]finding{{"RECORD_ID", ReasonRecordIDDuplicate,
					fmt.Sprintf("RECORD_ID is on %d mailing rows (first on row %d); it must be unique", e.mailN, e.mailRow)}}, m.findings...)
			}
			if e.sampleN == 0 {
				m.findings = append([]finding{{"RECORD_ID", ReasonNoSampleRecord,
					"no sample record has this RECORD_ID"}}, m.findings...)
			}
		} else {
			r.checkMailing(in.src, in.hdr.width, &c, fields, &m)
		}
		if len(m.findings) > 0 {
			for _, f := range m.findings {
				if err := r.mailRp.add(schemas.FileMailing, row, m.id, schemas.DispositionRejected, f); err != nil {
					return err
				}
			}
			res.Findings += len(m.findings)
			res.MailingRejected++
			res.MailingByReason[m.findings[0].reason]++
			return nil
		}
		switch e.state {
		case stateAccepted:
			r.appendContact(e, &c, fields, &m, &full)
			res.MailingUsed++
		case stateExcluded:
			res.MailingExcluded++
		case stateRejected:
			res.MailingRejected++
			res.MailingByReason[ReasonSampleRecordRejected]++
		default:
			return fmt.Errorf("%w: mailing row %d joins a sample record with no outcome", ErrReconciliation, row)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.contacts.end() // the file is finished in the background
	if n != res.MailingRowsRead {
		return fmt.Errorf("%w: %s had %d rows, now %d", ErrInputChanged, r.in.MailingKey, res.MailingRowsRead, n)
	}
	if in.fingerprint(n) != r.mailingFP {
		return fmt.Errorf("%w: %s", ErrInputChanged, r.in.MailingKey)
	}
	return nil
}

// appendContact writes the contact record of an accepted person. full is the size
// of the text of the last full row group, kept for sizing the next ones.
func (r *run) appendContact(e *entry, c *mailingCols, fields [][]byte, m *mailingRow, full *groupBytes) {
	g := r.contacts.cur
	if len(g.dob) == 0 && r.contacts.total >= rowsMax {
		g.presize(*full)
	}
	// The survey record id and access code come from the person's HMAC, taken once
	// in the sample pass (see sampleRow). This pass keeps up with the Parquet encoder
	// easily, so they are spelled out here rather than on the encoder's goroutine.
	g.surveyID.data = e.person.AppendSurveyRecordID(g.surveyID.data)
	g.surveyID.offs = append(g.surveyID.offs, int32(len(g.surveyID.data)))
	g.accessCode.data = e.person.AppendAccessCode(g.accessCode.data)
	g.accessCode.offs = append(g.accessCode.offs, int32(len(g.accessCode.data)))
	g.icsRecordID.add(m.id)
	g.ics.addCode(0, r.cfg.ICS)
	g.nhs.data = appendNHSDigits(g.nhs.data, e.nhs)
	g.nhs.offs = append(g.nhs.offs, int32(len(g.nhs.data)))
	g.dob = append(g.dob, e.dob)
	g.gender.addCode(int(e.gender-1), genderCodes[e.gender-1])
	g.title.add(field(fields, c.title))
	g.first.add(field(fields, c.first))
	g.last.add(field(fields, c.last))
	for i, ai := range c.addr {
		g.addr[i].add(field(fields, ai))
	}
	g.postcode.add(trimNUL(e.postcode[:]))
	if e.flags&flagHasMobile != 0 {
		// Straight into the column (no string per row); as "" if not a mobile after all.
		g.mobile.data, _ = codes.AppendMobile(g.mobile.data, view(m.mobile))
	}
	g.mobile.offs = append(g.mobile.offs, int32(len(g.mobile.data)))
	if len(g.dob) == rowsMax { // full: endRow hands it on
		*full = bytesOf(g)
	}
	r.contacts.endRow()
}

// groupBytes is the bytes of each of a contactGroup's strs in a full row group.
type groupBytes []int

func bytesOf(g *contactGroup) groupBytes {
	var b groupBytes
	for _, c := range g.strs() {
		b = append(b, len(c.data))
	}
	return b
}

// presize gives the columns of a row group a full row group's room at once, when the
// file has filled one before (see sampleGroup.presize): the string columns as much as
// those of the last full row group held, and an eighth more.
func (g *contactGroup) presize(full groupBytes) {
	for i, c := range g.strs() {
		c.offs = reserve(c.offs, rowsMax+1)
		if i < len(full) {
			c.data = reserve(c.data, full[i]+full[i]/8)
		}
	}
	g.ics.idx = reserve(g.ics.idx, rowsMax)
	g.gender.idx = reserve(g.gender.idx, rowsMax)
	g.dob = reserve(g.dob, rowsMax)
}

// appendNHSDigits appends the ten digits of n (its last ten, were it longer), two at
// a time.
func appendNHSDigits(dst []byte, n uint64) []byte {
	var d [10]byte
	for i := 8; i >= 0; i -= 2 {
		r := n % 100
		n /= 100
		d[i], d[i+1] = digitPairs[2*r], digitPairs[2*r+1]
	}
	return append(dst, d[:]...)
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
