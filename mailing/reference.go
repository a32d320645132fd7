package mailing

import (
	"fmt"
	"net/url"
	"strings"
)

// Reference is the deterministic reference of one message: the same wave, ICS, person
// and step always give the same reference, and different ones never collide. It is
// "ice.{wave}.{ics}.{survey_record_id}.{step}" with each part escaped (any byte outside
// A-Z a-z 0-9 '-' '_' as %XX, an empty part as '~'), so it holds no separator inside a
// part, is safe as a store key segment, and names no person. Notify is given it as the
// notification's reference and the ledger keys on it: it is what makes a resend safe.
func Reference(wave, ics, surveyRecordID, step string) string {
	return "ice." + refEscape(wave) + "." + refEscape(ics) + "." + refEscape(surveyRecordID) + "." + refEscape(step)
}

// ParseReference splits a reference made by Reference back into its parts.
func ParseReference(ref string) (wave, ics, surveyRecordID, step string, err error) {
	parts := strings.Split(ref, ".")
	if len(parts) != 5 || parts[0] != "ice" {
		return "", "", "", "", fmt.Errorf("mailing: %q is not a message reference", ref)
	}
	var out [4]string
	for i, p := range parts[1:] {
		if out[i], err = refUnescape(p); err != nil {
			return "", "", "", "", fmt.Errorf("mailing: reference %q: %w", ref, err)
		}
	}
	return out[0], out[1], out[2], out[3], nil
}

func refEscape(s string) string {
	if s == "" {
		return "~"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func refUnescape(p string) (string, error) {
	if p == "~" {
		return "", nil
	}
	if p == "" || strings.ContainsAny(p, "~+") {
		return "", fmt.Errorf("bad part %q", p)
	}
	return url.PathUnescape(p)
}

func normPrefix(p string) string {
	if p != "" && !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}
