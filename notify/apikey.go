package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// APIKey is a parsed GOV.UK Notify API key. The key as issued is
// "{name}-{service_id}-{secret}", where the service id and the secret are UUIDs; the
// name may itself contain dashes, so the key is split from the right.
type APIKey struct {
	Name      string
	ServiceID string
	secret    string
}

const uuidLen = 36

// ParseAPIKey splits a Notify API key into its name, service id and secret. The error
// never repeats the key.
func ParseAPIKey(key string) (APIKey, error) {
	key = strings.TrimSpace(key)
	n := len(key)
	if n < 2*uuidLen+1 {
		return APIKey{}, fmt.Errorf("notify: API key is too short (want {name}-{service_id}-{secret})")
	}
	secret := key[n-uuidLen:]
	if key[n-uuidLen-1] != '-' {
		return APIKey{}, fmt.Errorf("notify: API key is malformed: no dash before the secret")
	}
	serviceID := key[n-2*uuidLen-1 : n-uuidLen-1]
	name := ""
	if n > 2*uuidLen+1 {
		if key[n-2*uuidLen-2] != '-' {
			return APIKey{}, fmt.Errorf("notify: API key is malformed: no dash before the service id")
		}
		name = key[:n-2*uuidLen-2]
	}
	if !IsUUID(serviceID) {
		return APIKey{}, fmt.Errorf("notify: API key is malformed: service id is not a UUID")
	}
	if !IsUUID(secret) {
		return APIKey{}, fmt.Errorf("notify: API key is malformed: secret is not a UUID")
	}
	return APIKey{Name: name, ServiceID: serviceID, secret: secret}, nil
}

// String names the key without its secret, for logs.
func (k APIKey) String() string {
	if k.Name == "" {
		return k.ServiceID + "-[secret]"
	}
	return k.Name + "-" + k.ServiceID + "-[secret]"
}

// Token returns the bearer token for one request made at now: an HS256 JWT whose
// claims are iss = service id and iat = now (Unix seconds), signed with the secret.
// Notify rejects a token whose iat is more than 30 seconds from its own clock, so a
// token is made fresh for every request, retries included.
func (k APIKey) Token(now time.Time) string {
	header := b64([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{k.ServiceID, now.Unix()}) // cannot fail: a string and an int
	signing := header + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(k.secret))
	mac.Write([]byte(signing))
	return signing + "." + b64(mac.Sum(nil))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form.
func IsUUID(s string) bool {
	if len(s) != uuidLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
