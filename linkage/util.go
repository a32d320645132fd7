package linkage

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strings"
)

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fileSHA256 is the hex SHA-256 of a local file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newInterner returns a function that gives one copy of each distinct string it is
// passed: columns that take a handful of values (codes, kinds, bands) are kept once
// each instead of once per row, and not as views of a whole record batch's buffer.
func newInterner() func(string) string {
	interned := map[string]string{}
	return func(s string) string {
		v, ok := interned[s]
		if !ok {
			v = strings.Clone(s)
			interned[v] = v
		}
		return v
	}
}
