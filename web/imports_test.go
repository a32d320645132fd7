package web

import (
	"os/exec"
	"strings"
	"testing"
)

// importRules are the dashboard's dependency rules as data: a production package on the
// left must not depend, directly or through others, on any package matching a prefix on
// the right. A new package adds its line here.
var importRules = []struct {
	pkg       string
	forbidden []string
}{
	// The server reads, never writes: no store, lake, warehouse writer or workflow code,
	// and none of the test-only helpers.
	{"icesurvey/web", []string{"icesurvey/store", "icesurvey/lake", "icesurvey/warehouse", "icesurvey/activities", "icesurvey/workflows",
		"icesurvey/web/internal/oidctest", "icesurvey/web/internal/browsertest", "github.com/zitadel/", "github.com/chromedp/"}},
	// The dashboard's data reads a warehouse snapshot and the restricted free text; it
	// is no workflow code and no writer of the warehouse (its own snapshot files aside).
	{"icesurvey/web/dashdata", []string{"go.temporal.io/", "icesurvey/activities", "icesurvey/workflows", "icesurvey/waveclient",
		"icesurvey/worker", "icesurvey/web/internal/", "github.com/zitadel/", "github.com/chromedp/"}},
	// Charts are pure drawing.
	{"icesurvey/web/chart", []string{"icesurvey/", "net/http"}},
	// Access decisions are pure: no HTTP, no storage.
	{"icesurvey/access", []string{"icesurvey/store", "icesurvey/web", "net/http"}},
}

func TestImportRules(t *testing.T) {
	for _, r := range importRules {
		out, err := exec.Command("go", "list", "-deps", r.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", r.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == r.pkg {
				continue
			}
			for _, f := range r.forbidden {
				allowedSelf := r.pkg == "icesurvey/web/chart" && f == "icesurvey/" && dep == r.pkg
				if strings.HasPrefix(dep, f) && !allowedSelf {
					t.Errorf("%s depends on %s, which its rules forbid (%s)", r.pkg, dep, f)
				}
			}
		}
	}
}
