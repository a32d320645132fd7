package intake

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"icesurvey/codes"
	"icesurvey/schemas"
)

// mailingCols are the field indexes of the mailing file's columns (-1 when absent).
type mailingCols struct {
	id, title, first, last, postcode, mobile int
	addr                                     [5]int
}

func newMailingCols(h *header) mailingCols {
	c := mailingCols{
		id: h.idx("RECORD_ID"), title: h.idx("TITLE"), first: h.idx("FIRST_NAME"), last: h.idx("LAST_NAME"),
		postcode: h.idx("POSTCODE"), mobile: h.idx("MOBILE"),
	}
	for i := range c.addr {
		c.addr[i] = h.idx("ADDRESS_" + strconv.Itoa(i+1))
	}
	return c
}

// mailingIssueCodes are the reasons a mailing row can fail on its own account; an
// entry stores its first one as an index+1.
var mailingIssueCodes = []string{
	ReasonRowMalformed, ReasonRecordIDMissing, ReasonRecordIDInvalid, ReasonNameMissing,
	ReasonTextInvalid, ReasonPostcodeInvalid, ReasonAddressTooShort,
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
		return // columns may be shifted: nothing else can be trusted
	}
	if len(field(fields, c.last)) == 0 {
		m.findings = append(m.findings, finding{"LAST_NAME", ReasonNameMissing, "LAST_NAME is empty"})
	}
	textCols := [...]struct {
		name string
		i    int
	}{{"TITLE", c.title}, {"FIRST_NAME", c.first}, {"LAST_NAME", c.last}, {"ADDRESS_1", c.addr[0]},
		{"ADDRESS_2", c.addr[1]}, {"ADDRESS_3", c.addr[2]}, {"ADDRESS_4", c.addr[3]}, {"ADDRESS_5", c.addr[4]}}
	for _, tc := range textCols {
		if hasControl(field(fields, tc.i)) {
			m.findings = append(m.findings, finding{tc.name, ReasonTextInvalid,
				tc.name + " contains a line break or control character"})
		}
	}
	_, err := codes.AppendPostcode(m.postcode[:0], view(field(fields, c.postcode)))
	switch {
	case errors.Is(err, codes.ErrPseudoPostcode):
		m.flags |= flagNoUKAddress
	case errors.Is(err, codes.ErrPostcodeMissing):
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is empty"})
	case err != nil:
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is not a valid UK postcode"})
	}
	if m.flags&flagNoUKAddress == 0 {
		lines := 0
		for _, i := range c.addr {
			if len(field(fields, i)) > 0 {
				lines++
			}
		}
		switch {
		case len(field(fields, c.addr[0])) == 0:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort, "ADDRESS_1 is empty"})
		case lines < 2:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort,
				"a postal address needs at least two address lines and a postcode"})
		}
	}
	m.mobile = field(fields, c.mobile)
	if len(m.mobile) > 0 {
		if codes.NormaliseMobile(view(m.mobile)) != "" {
			m.flags |= flagHasMobile
		} else {
			m.flags |= flagMobileUnusable
		}
	}
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
	r.res.Warnings = append(r.res.Warnings, warnings...)
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
	in, _, err := openInput(r.ctx, r.st, r.in.MailingKey, laterPass, schemas.MailingFileLayout())
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
	if r.contacts, err = newContactSink(r.tempFile); err != nil {
		return err
	}
	if r.mailRp, err = newReportFile(r.tempFile); err != nil {
		return err
	}
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
			r.appendContact(e, &c, fields, &m)
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

func (r *run) appendContact(e *entry, c *mailingCols, fields [][]byte, m *mailingRow) {
	g := r.contacts.cur
	// The survey record id and access code come from the person's HMAC, taken once
	// in the sample pass (see sampleRow). This pass keeps up with the Parquet encoder
	// easily, so they are spelled out here rather than on the encoder's goroutine.
	g.surveyID.data = e.person.AppendSurveyRecordID(g.surveyID.data)
	g.surveyID.offs = append(g.surveyID.offs, int32(len(g.surveyID.data)))
	g.accessCode.data = e.person.AppendAccessCode(g.accessCode.data)
	g.accessCode.offs = append(g.accessCode.offs, int32(len(g.accessCode.data)))
	g.icsRecordID.add(m.id)
	g.ics.addCode(0, r.cfg.ICS)
	r.buf = appendNHSDigits(r.buf[:0], e.nhs)
	g.nhs.add(r.buf)
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
		g.mobile.addString(codes.NormaliseMobile(view(m.mobile)))
	} else {
		g.mobile.addString("")
	}
	r.contacts.endRow()
}

func appendNHSDigits(dst []byte, n uint64) []byte {
	var d [10]byte
	for i := 9; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, d[:]...)
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
