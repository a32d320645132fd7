package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/freetext"
)

func TestFileGateDecides(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	gate := FileGate{Path: filepath.Join("testdata", "access.yaml")}
	cases := []struct {
		name   string
		gate   FileGate
		req    freetext.Request
		allow  bool
		reason string
	}{
		{"a named reader downloads", gate, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionDownload, At: at}, true, "approved by"},
		{"a named reader codes", gate, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionCode, At: at}, true, "approved by"},
		{"another ICS", gate, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QJK", Action: freetext.ActionDownload, At: at}, false, "not a named free-text reader for QJK"},
		{"after the grant's expiry day", gate, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionDownload, At: time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)}, false, "expired"},
		{"an analyst without a grant", gate, freetext.Request{UserID: "nat.national@example.nhs.uk", ICS: "QMM", Action: freetext.ActionView, At: at}, false, "not a named free-text reader"},
		{"someone the file does not name", gate, freetext.Request{UserID: "mallory@example.com", ICS: "QMM", Action: freetext.ActionDownload, At: at}, false, `"mallory@example.com" is not in the access file`},
		{"no name at all", gate, freetext.Request{UserID: "", ICS: "QMM", Action: freetext.ActionDownload, At: at}, false, "not in the access file"},
		{"originals are never granted", gate, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionAudit, At: at}, false, ""},
		{"no access file configured", FileGate{}, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionDownload, At: at}, false, "no access file is configured"},
		{"an access file that is not there", FileGate{Path: filepath.Join(t.TempDir(), "gone.yaml")}, freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionDownload, At: at}, false, "cannot be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.gate.Decide(c.req)
			if d.Allowed != c.allow || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("Decide = %+v, want allowed %v with a reason containing %q", d, c.allow, c.reason)
			}
		})
	}
}

// TestFileGateReadsTheFileEachTime: a grant taken out of the file is refused at the
// next decision, and a broken file refuses everyone rather than keeping the old grants.
func TestFileGateReadsTheFileEachTime(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "access.yaml")
	write := func(b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(src)
	gate := FileGate{Path: path}
	req := freetext.Request{UserID: "fay.reader@example.nhs.uk", ICS: "QMM", Action: freetext.ActionDownload, At: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	if d := gate.Decide(req); !d.Allowed {
		t.Fatalf("before: %+v", d)
	}
	i := strings.Index(string(src), "    free_text:")
	j := strings.Index(string(src), "  - id: adam.admin")
	if i < 0 || j < i {
		t.Fatal("test data changed: no free_text block before adam")
	}
	write(append(append([]byte{}, src[:i]...), src[j:]...))
	if d := gate.Decide(req); d.Allowed || !strings.Contains(d.Reason, "not a named free-text reader") {
		t.Fatalf("after the grant was removed: %+v", d)
	}
	write(src)
	if d := gate.Decide(req); !d.Allowed {
		t.Fatalf("restored: %+v", d)
	}
	write([]byte("version: 1\nusers:\n  - id: fay.reader@example.nhs.uk\n    free_text: [oops\n"))
	if d := gate.Decide(req); d.Allowed || !strings.Contains(d.Reason, "cannot be read") {
		t.Fatalf("a broken file: %+v", d)
	}
}
