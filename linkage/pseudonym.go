package linkage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"regexp"

	"icesurvey/pseudo"
)

// Keys of the linkage, all derived from the project key (the key of the NHS-number
// pseudonym, package pseudo) with domain-separation labels, so none can be mistaken for
// another or worked back to the project key:
//
//   - KeyID: a fingerprint of the project key (not the key: an HMAC of a label under
//     it). A data provider that pseudonymised an extract with the project key names it
//     in the extract's manifest; an extract naming another is refused whole.
//   - the release key of (wave, release): HMAC-SHA256 under the project key of a
//     labelled, length-prefixed (wave, release). Each release has its own.
//   - ReleasePseudonym: HMAC-SHA256 of the project pseudonym under the release key,
//     the first 128 bits in hex (32 characters, never the 64 of a project pseudonym).
//     A release pseudonym reveals nothing of the project pseudonym, and the same person
//     has unrelated pseudonyms in two releases: only a holder of the project key can
//     join releases.

const (
	labelKeyID       = "icesurvey/pseudonym-key-id/v1"
	labelReleaseKey  = "icesurvey/linkage/release-key/v1"
	labelReleaseKeyI = "icesurvey/linkage/release-key-id/v1"
)

// ReleasePseudonymLen is the length of a release pseudonym in hex digits.
const ReleasePseudonymLen = 32

// KeyID is the fingerprint of a project key: 16 hex digits.
func KeyID(projectKey []byte) string {
	m := hmac.New(sha256.New, projectKey)
	m.Write([]byte(labelKeyID))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

var releaseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckReleaseID refuses a release id that cannot name a store prefix.
func CheckReleaseID(id string) error {
	if !releaseIDPattern.MatchString(id) {
		return fmt.Errorf("linkage: release id %q: want letters, digits, '.', '_' or '-' (at most 64)", id)
	}
	return nil
}

// Releaser derives one release's pseudonyms. It is not safe for concurrent use.
type Releaser struct {
	mac   hash.Hash
	keyID string
	buf   []byte
}

// NewReleaser derives the release key of (wave, release) from the project key.
func NewReleaser(projectKey []byte, wave, release string) (*Releaser, error) {
	if err := pseudo.CheckKey(projectKey); err != nil {
		return nil, fmt.Errorf("linkage: %w", err)
	}
	if wave == "" {
		return nil, errors.New("linkage: the wave is missing")
	}
	if err := CheckReleaseID(release); err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, projectKey)
	msg := []byte(labelReleaseKey)
	for _, f := range []string{wave, release} {
		msg = append(msg, 0, byte(len(f)>>8), byte(len(f)))
		msg = append(msg, f...)
	}
	m.Write(msg)
	releaseKey := m.Sum(nil)
	id := hmac.New(sha256.New, releaseKey)
	id.Write([]byte(labelReleaseKeyI))
	return &Releaser{mac: hmac.New(sha256.New, releaseKey), keyID: hex.EncodeToString(id.Sum(nil)[:8])}, nil
}

// KeyID is the fingerprint of the release key, for the export's manifest.
func (r *Releaser) KeyID() string { return r.keyID }

// Pseudonym is the release pseudonym of a project pseudonym.
func (r *Releaser) Pseudonym(projectPseudonym string) string {
	r.mac.Reset()
	r.mac.Write([]byte(projectPseudonym))
	r.buf = r.mac.Sum(r.buf[:0])
	return hex.EncodeToString(r.buf[:ReleasePseudonymLen/2])
}

// recordKeySecret is the key of a dataset's record keys (schemas.LinkageActivity's
// record_key): derived from the project key, so the lake's record keys cannot be
// matched to a provider's record ids without it.
func recordKeySecret(projectKey []byte, dataset string) string {
	m := hmac.New(sha256.New, projectKey)
	m.Write([]byte("icesurvey linkage record key\x00" + dataset))
	return hex.EncodeToString(m.Sum(nil))
}
