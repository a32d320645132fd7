// Package pseudo derives the keyed identifiers of the pipeline from a per-project
// secret key, so no direct identifier has to travel with analysis data (SPEC §9):
//
//   - NHSPseudonym: HMAC-SHA256 of the NHS number, hex — the same pseudonym for a person in
//     every dataset of one project, so linkage joins on it without the NHS number.
//   - SurveyRecordID: our id for a person in one wave of one ICS.
//   - AccessCode: the code printed on the invitation letter, used to log in online.
//
// Survey record ids and access codes are derived by HMAC from (wave, ICS, the ICS's
// RECORD_ID) — disjoint bytes of one HMAC output — rather than drawn at random, so a retried intake of the same files gives
// the same ids and codes; they cannot be worked back or guessed without the key. The
// NHS pseudonym is a bare HMAC of the ten digits (so other datasets of the project can
// reproduce it); the per-person derivation has a domain-separation label and
// length-prefixed fields, so it never coincides with a pseudonym.
//
// The key must be secret, random and at least MinKeyLen bytes; CheckKey says whether it
// is. The functions themselves accept any key, since a derived id is only as good as the
// key the caller chose.
package pseudo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"icesurvey/fault"
)

// MinKeyLen is the shortest key CheckKey accepts: 256 bits, the HMAC-SHA256 block strength.
const MinKeyLen = 32

// ErrKeyTooShort is returned by CheckKey: a fault.Configuration error.
var ErrKeyTooShort = fault.New(fault.Configuration, "pseudonymisation key is too short")

// CheckKey reports whether key is long enough to derive identifiers from.
func CheckKey(key []byte) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrKeyTooShort, len(key), MinKeyLen)
	}
	return nil
}

// AccessCodeAlphabet is the alphabet of access codes: digits and upper-case letters
// without 0, 1, I and O, which are easily misread on paper or over the phone.
const AccessCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// AccessCodeLen is the number of characters in an access code (60 bits), printed in
// groups of AccessCodeGroup separated by hyphens: "K7QM-3XWD-9HTP".
const (
	AccessCodeLen   = 12
	AccessCodeGroup = 4
)

// SurveyRecordIDLen is the length of a survey record id: "S" and 16 characters of
// AccessCodeAlphabet (80 bits), so ids never look like NHS numbers or access codes.
const SurveyRecordIDLen = 17

// IsSurveyRecordID reports whether s has the form of a survey record id: "S" and
// SurveyRecordIDLen-1 characters of AccessCodeAlphabet. Case and surrounding spaces
// are not forgiven: normalise first.
func IsSurveyRecordID(s string) bool {
	if len(s) != SurveyRecordIDLen || s[0] != 'S' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if strings.IndexByte(AccessCodeAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// labelPerson is the domain-separation label of the per-person derivation, versioned so
// a future change of scheme cannot collide. One HMAC gives both identifiers: the survey
// record id from output bytes 0–9 and the access code from bytes 12–19, so knowing one
// reveals nothing of the other.
const labelPerson = "icesurvey/person/v1"

// NHSPseudonym returns the keyed pseudonym of an NHS number: the lower-case hex
// HMAC-SHA256 of its ten digits under key. Spaces and hyphens in nhs are ignored, so
// "943 476 5919" and "9434765919" have the same pseudonym; nhs is not otherwise checked.
func NHSPseudonym(key []byte, nhs string) string { return New(key).NHSPseudonym(nhs) }

// SurveyRecordID returns the survey record id of the person with the ICS's RECORD_ID
// icsRecordID in the given wave and ICS.
func SurveyRecordID(key []byte, wave, ics, icsRecordID string) string {
	return New(key).SurveyRecordID(wave, ics, icsRecordID)
}

// AccessCode returns the grouped access code of the person with the ICS's RECORD_ID
// icsRecordID in the given wave and ICS, e.g. "K7QM-3XWD-9HTP".
func AccessCode(key []byte, wave, ics, icsRecordID string) string {
	return New(key).AccessCode(wave, ics, icsRecordID)
}

// NormaliseAccessCode returns an access code as typed by a person (any case, with or
// without spaces and hyphens) in its grouped form, and whether it is well formed.
func NormaliseAccessCode(s string) (string, bool) {
	var b [AccessCodeLen]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' {
			continue
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if n == AccessCodeLen || strings.IndexByte(AccessCodeAlphabet, c) < 0 {
			return "", false
		}
		b[n] = c
		n++
	}
	if n != AccessCodeLen {
		return "", false
	}
	return string(groupCode(nil, b[:])), true
}

// Keyed derives identifiers under one key, reusing its HMAC state between calls: use
// one per goroutine in a hot loop. It is not safe for concurrent use.
type Keyed struct {
	mac hash.Hash
	sum [sha256.Size]byte
	msg []byte
}

// New returns a Keyed deriver for key.
func New(key []byte) *Keyed {
	return &Keyed{mac: hmac.New(sha256.New, key), msg: make([]byte, 0, 128)}
}

func (k *Keyed) digest(msg []byte) []byte {
	k.mac.Reset()
	k.mac.Write(msg)
	return k.mac.Sum(k.sum[:0])
}

// NHSPseudonym is the package-level NHSPseudonym under k's key.
func (k *Keyed) NHSPseudonym(nhs string) string {
	return string(k.AppendNHSPseudonym(nil, nhs))
}

// AppendNHSPseudonym appends the hex pseudonym of nhs to dst.
func (k *Keyed) AppendNHSPseudonym(dst []byte, nhs string) []byte {
	k.msg = k.msg[:0]
	for i := 0; i < len(nhs); i++ {
		if c := nhs[i]; c != ' ' && c != '-' {
			k.msg = append(k.msg, c)
		}
	}
	return hex.AppendEncode(dst, k.digest(k.msg))
}

// AppendNHSPseudonymDigits appends the hex pseudonym of an NHS number held as an
// integer (as codes.ParseNHSNumber returns it) to dst; it equals AppendNHSPseudonym of
// its ten digits.
func (k *Keyed) AppendNHSPseudonymDigits(dst []byte, nhs uint64) []byte {
	var d [10]byte
	for i := 9; i >= 0; i-- {
		d[i] = byte('0' + nhs%10)
		nhs /= 10
	}
	return hex.AppendEncode(dst, k.digest(d[:]))
}

func (k *Keyed) derive(label, wave, ics, id string) []byte {
	// Length-prefixed fields: no two different (wave, ics, id) give the same message.
	k.msg = append(k.msg[:0], label...)
	for _, f := range [...]string{wave, ics, id} {
		k.msg = append(k.msg, 0, byte(len(f)>>8), byte(len(f)))
		k.msg = append(k.msg, f...)
	}
	return k.digest(k.msg)
}

// SurveyRecordID is the package-level SurveyRecordID under k's key.
func (k *Keyed) SurveyRecordID(wave, ics, icsRecordID string) string {
	return string(k.AppendSurveyRecordID(nil, wave, ics, icsRecordID))
}

// AppendSurveyRecordID appends the survey record id to dst.
func (k *Keyed) AppendSurveyRecordID(dst []byte, wave, ics, icsRecordID string) []byte {
	return appendSurveyRecordID(dst, k.derive(labelPerson, wave, ics, icsRecordID))
}

// AppendIDs appends the survey record id to ids and the grouped access code to codes,
// from one HMAC: the cheap way to get both.
func (k *Keyed) AppendIDs(ids, codes []byte, wave, ics, icsRecordID string) ([]byte, []byte) {
	sum := k.derive(labelPerson, wave, ics, icsRecordID)
	return appendSurveyRecordID(ids, sum), appendAccessCode(codes, sum)
}

// PersonLen is the size of a Person.
const PersonLen = 20

// Person is the part of a person's HMAC that their survey record id and access code
// are taken from. A caller that needs the identifiers at two stages (or twice) can
// derive it once, carry its PersonLen bytes, and have either identifier from it
// without another HMAC; it is as secret as the access code.
type Person [PersonLen]byte

// Person returns the Person of the ICS's RECORD_ID icsRecordID in the given wave and
// ICS: p.AppendSurveyRecordID and p.AppendAccessCode give what the functions of those
// names give for the same arguments.
func (k *Keyed) Person(wave, ics, icsRecordID string) (p Person) {
	copy(p[:], k.derive(labelPerson, wave, ics, icsRecordID))
	return p
}

// AppendSurveyRecordID appends p's survey record id to dst.
func (p *Person) AppendSurveyRecordID(dst []byte) []byte { return appendSurveyRecordID(dst, p[:]) }

// AppendAccessCode appends p's grouped access code to dst.
func (p *Person) AppendAccessCode(dst []byte) []byte { return appendAccessCode(dst, p[:]) }

func appendSurveyRecordID(dst, sum []byte) []byte {
	dst = append(dst, 'S')
	return appendBase32(dst, sum[:10], SurveyRecordIDLen-1)
}

func appendAccessCode(dst, sum []byte) []byte {
	var raw [AccessCodeLen]byte
	appendBase32(raw[:0], sum[12:20], AccessCodeLen)
	return groupCode(dst, raw[:])
}

// AccessCode is the package-level AccessCode under k's key.
func (k *Keyed) AccessCode(wave, ics, icsRecordID string) string {
	return string(k.AppendAccessCode(nil, wave, ics, icsRecordID))
}

// AppendAccessCode appends the grouped access code to dst.
func (k *Keyed) AppendAccessCode(dst []byte, wave, ics, icsRecordID string) []byte {
	return appendAccessCode(dst, k.derive(labelPerson, wave, ics, icsRecordID))
}

// appendBase32 appends n characters of AccessCodeAlphabet taken 5 bits at a time from
// sum, which must hold at least 5n bits: eight characters from each five bytes, then
// the rest one at a time (as appendBase32Bits, which gives the same characters).
func appendBase32(dst, sum []byte, n int) []byte {
	const a = AccessCodeAlphabet
	i := 0
	for ; i+8 <= n; i += 8 {
		b := sum[i/8*5 : i/8*5+5]
		v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		dst = append(dst, a[v>>35&31], a[v>>30&31], a[v>>25&31], a[v>>20&31],
			a[v>>15&31], a[v>>10&31], a[v>>5&31], a[v&31])
	}
	if i == n {
		return dst
	}
	return appendBase32Bits(dst, sum[i/8*5:], n-i)
}

// appendBase32Bits is appendBase32 one character at a time.
func appendBase32Bits(dst, sum []byte, n int) []byte {
	var acc uint64
	bits := 0
	j := 0
	for i := 0; i < n; i++ {
		if bits < 5 {
			acc = acc<<8 | uint64(sum[j])
			j++
			bits += 8
		}
		bits -= 5
		dst = append(dst, AccessCodeAlphabet[(acc>>uint(bits))&31])
	}
	return dst
}

func groupCode(dst, raw []byte) []byte {
	for i, c := range raw {
		if i > 0 && i%AccessCodeGroup == 0 {
			dst = append(dst, '-')
		}
		dst = append(dst, c)
	}
	return dst
}
