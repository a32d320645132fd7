package mesh

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuthScheme is the Authorization scheme name MESH expects (followed by one space).
const AuthScheme = "NHSMESH"

// TimestampLayout is the Go layout of the auth timestamp, yyyyMMddHHmm in UTC.
const TimestampLayout = "200601021504"

// AuthToken is the parsed content of an NHSMESH Authorization header.
type AuthToken struct {
	Mailbox    string
	Nonce      string
	NonceCount int
	Timestamp  string // yyyyMMddHHmm, UTC
	HMAC       string // lowercase hex
}

// authHMAC computes hex(HMAC-SHA256(sharedKey, "mailbox:nonce:count:password:timestamp")).
func authHMAC(sharedKey, mailbox, nonce string, nonceCount int, password, timestamp string) string {
	m := hmac.New(sha256.New, []byte(sharedKey))
	fmt.Fprintf(m, "%s:%s:%d:%s:%s", mailbox, nonce, nonceCount, password, timestamp)
	return hex.EncodeToString(m.Sum(nil))
}

// AuthHeader builds the value of the Authorization header:
//
//	NHSMESH {mailbox}:{nonce}:{nonce_count}:{yyyyMMddHHmm}:{hmac}
//
// where hmac is the hex HMAC-SHA256, keyed with the environment's shared key, of
// {mailbox}:{nonce}:{nonce_count}:{password}:{yyyyMMddHHmm}. The timestamp is UTC.
func AuthHeader(mailbox, password, sharedKey, nonce string, nonceCount int, at time.Time) string {
	ts := at.UTC().Format(TimestampLayout)
	mac := authHMAC(sharedKey, mailbox, nonce, nonceCount, password, ts)
	return fmt.Sprintf("%s %s:%s:%d:%s:%s", AuthScheme, mailbox, nonce, nonceCount, ts, mac)
}

// ParseAuthHeader splits an NHSMESH Authorization header into its parts. It checks
// the shape only; Verify checks the HMAC.
func ParseAuthHeader(h string) (AuthToken, error) {
	rest, ok := strings.CutPrefix(h, AuthScheme+" ")
	if !ok {
		return AuthToken{}, fmt.Errorf("mesh: authorization scheme is not %q", AuthScheme)
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 5 {
		return AuthToken{}, fmt.Errorf("mesh: authorization has %d parts, want 5 (mailbox:nonce:count:timestamp:hmac)", len(parts))
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 {
		return AuthToken{}, fmt.Errorf("mesh: authorization nonce count %q is not a non-negative integer", parts[2])
	}
	if parts[0] == "" || parts[1] == "" {
		return AuthToken{}, fmt.Errorf("mesh: authorization has an empty mailbox or nonce")
	}
	if _, err := time.Parse(TimestampLayout, parts[3]); err != nil || len(parts[3]) != len(TimestampLayout) {
		return AuthToken{}, fmt.Errorf("mesh: authorization timestamp %q is not yyyyMMddHHmm", parts[3])
	}
	return AuthToken{Mailbox: parts[0], Nonce: parts[1], NonceCount: n, Timestamp: parts[3], HMAC: strings.ToLower(parts[4])}, nil
}

// Time is the token's timestamp.
func (t AuthToken) Time() time.Time {
	at, _ := time.Parse(TimestampLayout, t.Timestamp) // shape checked by ParseAuthHeader
	return at.UTC()
}

// Verify reports whether the token's HMAC is right for password and sharedKey,
// comparing in constant time.
func (t AuthToken) Verify(password, sharedKey string) bool {
	want := authHMAC(sharedKey, t.Mailbox, t.Nonce, t.NonceCount, password, t.Timestamp)
	return hmac.Equal([]byte(want), []byte(t.HMAC))
}

// newNonce returns a random UUIDv4 string.
func newNonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("mesh: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
