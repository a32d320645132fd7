package importrules

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "icesurvey/"

// domain are the domain packages: they know nothing of Temporal, the workflows, their
// adapters or their faces, and are tested on their own.
var domain = []string{
	"audit", "codes", "dbs", "fault", "intake", "lake", "mailing", "mesh", "notify", "pseudo",
	"questionnaire", "responses", "schemas", "store", "synth", "warehouse", "wavespec",
	"weighting", "estimate", "disclosure", "publication/", "linkage/", "freetext", "themes", "profiles", "access",
	"retention",  // #13
	"localindex", // #17
}

// statistics are the pure statistics of a release (PUBLICATION.md): no I/O of any kind,
// so the same inputs give the same figures wherever they run.
var statistics = []string{"weighting", "estimate", "disclosure"}

// simulators stand in for the outside world in the dev stack and tests only.
var simulators = []string{"sim/", "notify/notifytest", "mesh/meshtest", "store/storetest", "infra/devstack", "infra/devserver"}

// testHelpers are packages imported by tests only: harnesses and fixtures several
// packages' tests share.
var testHelpers = []string{"internal/rcheck", "internal/idscan", "dbs/dbstest"}

// rule says that packages matching from (a path under the module, "x/" matching x and
// everything under it, "*" every package) may not import, directly, any package
// matching one of forbid (module paths, or "go.temporal.io/" and other prefixes outside
// the module). except exempts packages from a rule.
type rule struct {
	from   []string
	except []string
	forbid []string
	why    string
}

// rules are the import rules. Add a line for a new package or feature.
var rules = []rule{
	{from: domain, forbid: []string{"go.temporal.io/", module + "activities", module + "workflows", module + "worker",
		module + "waveclient", module + "infra", module + "cmd/", module + "sim/"},
		why: "domain packages know nothing of Temporal, the adapters or the faces"},
	{from: statistics, except: nil, forbid: []string{"os", "os/", "net/", "database/", "io/fs", module + "store", module + "lake",
		module + "warehouse", module + "audit"},
		why: "the statistics are pure: no files, network, database or store"},
	{from: []string{"fault"}, forbid: []string{module},
		why: "the error taxonomy is a leaf every package can use"},
	{from: []string{"schemas"}, except: nil, forbid: []string{module + "store", module + "lake", module + "warehouse", module + "audit",
		module + "intake", module + "dbs", module + "mailing", module + "responses", module + "pseudo", module + "codes"},
		why: "schemas declares layouts and keys; every package may import it, so it imports none of them"},
	{from: []string{"*"}, except: append([]string{"cmd/ice", "bench/chaos", "bench/sms"}, simulators...), forbid: prefixed(simulators),
		why: "simulators and test servers are reached only from the dev stack, tests and the benchmarks that run them in their parent (bench/chaos: the crash campaign; bench/sms: measures against notifytest; #13)"},
	{from: []string{"workflows"}, forbid: []string{module + "store", module + "lake", module + "warehouse", module + "dbs",
		module + "intake", module + "responses", module + "notify", module + "mesh", module + "audit", module + "pseudo", module + "sim/"},
		why: "workflows are orchestration only: they reach the world through activities"},
	{from: []string{"activities"}, forbid: []string{module + "workflows", module + "waveclient", module + "worker", module + "infra", module + "cmd/"},
		why: "activities are adapters the workflows call, not callers of them"},
	{from: []string{"waveclient"}, forbid: []string{module + "warehouse", module + "lake", module + "dbs", module + "intake",
		module + "responses", module + "mailing", module + "worker", module + "sim/"},
		why: "the client reaches the pipeline through its workflows only"},
	{from: []string{"cmd/ice"}, forbid: []string{"go.temporal.io/sdk/client", "go.temporal.io/api/", module + "activities"},
		why: "cmd/ice is flags and printing: it reaches the workflows through waveclient"},
	{from: []string{"*"}, except: []string{"infra/devserver"}, forbid: []string{"go.temporal.io/server/", "github.com/temporalio/ui-server/"},
		why: "only the dev stack's embedded server links the Temporal server and UI"},
	{from: []string{"internal/yamldefs"}, forbid: []string{module},
		why: "the strict YAML definition reader is a leaf the domain packages share"},
	{from: []string{"internal/workerid"}, forbid: []string{module, "go.temporal.io/"},
		why: "a worker's identity and whether it is dead are judged without Temporal or the pipeline, and tested on their own"},
	{from: []string{"*"}, forbid: prefixed(testHelpers),
		why: "test harnesses and fixtures (the R cross-check, the identifier search, the DBS fixtures) are imported by tests only"},
	// #16: the dashboard is a face over a read-only snapshot; it reaches no workflow.
	{from: []string{"web/"}, forbid: []string{"go.temporal.io/", module + "activities", module + "workflows", module + "worker", module + "sim/"},
		why: "the dashboard reads a warehouse snapshot and the restricted free text, never the workflows"},
}

func prefixed(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = module + p
	}
	return out
}

// matches reports whether pkg (relative to the module) is one of patterns.
func matches(pkg string, patterns []string) bool {
	for _, p := range patterns {
		switch {
		case p == "*":
			return true
		case strings.HasSuffix(p, "/") && (pkg == strings.TrimSuffix(p, "/") || strings.HasPrefix(pkg, p)):
			return true
		case pkg == p:
			return true
		}
	}
	return false
}

// forbidden reports whether imp (a full import path) is matched by forbid.
func forbidden(imp string, forbid []string) bool {
	for _, f := range forbid {
		if strings.HasSuffix(f, "/") {
			if strings.HasPrefix(imp, f) || imp == strings.TrimSuffix(f, "/") {
				return true
			}
		} else if imp == f || (f == module && strings.HasPrefix(imp, module)) {
			return true
		}
	}
	return false
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// goList runs go list -json over the module's packages (their non-test files).
func goList(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := goList(t, "./...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, r := range rules {
			if !matches(rel, r.from) || matches(rel, r.except) {
				continue
			}
			for _, imp := range p.Imports {
				if forbidden(imp, r.forbid) {
					t.Errorf("%s imports %s: %s", rel, imp, r.why)
				}
			}
		}
	}
	// Temporal stays out of the domain packages, whatever they import in turn.
	for _, p := range pkgs {
		if !matches(strings.TrimPrefix(p.ImportPath, module), domain) {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "go.temporal.io/") {
				t.Errorf("domain package %s depends on %s", p.ImportPath, d)
				break
			}
		}
	}
}

// The rules can fail: each forbids something a package would otherwise be free to do.
func TestRulesMatch(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		want     bool
	}{
		{"intake", "go.temporal.io/sdk/workflow", true},
		{"intake", "icesurvey/schemas", false},
		{"worker", "icesurvey/sim/devsim", true},
		{"infra/devstack", "icesurvey/sim/devsim", false},
		{"cmd/ice", "go.temporal.io/sdk/client", true},
		{"workflows", "icesurvey/warehouse", true},
		{"fault", "icesurvey/schemas", true},
		{"waveclient", "go.temporal.io/server/temporal", true},
		{"publication", "icesurvey/internal/rcheck", true},
		{"internal/yamldefs", "icesurvey/fault", true},
		{"themes", "icesurvey/internal/yamldefs", false},
	} {
		got := false
		for _, r := range rules {
			if matches(tc.pkg, r.from) && !matches(tc.pkg, r.except) && forbidden(tc.imp, r.forbid) {
				got = true
			}
		}
		if got != tc.want {
			t.Errorf("%s importing %s: forbidden = %v, want %v", tc.pkg, tc.imp, got, tc.want)
		}
	}
}

// The production build of ice (go build -tags production, the Dockerfile's) links no
// simulator, no test server and no embedded Temporal server; the default build, which
// hosts `ice dev` and `ice demo`, does.
func TestProductionBuildLinksNoSimulator(t *testing.T) {
	deps := func(tags ...string) map[string]bool {
		args := append([]string{"list", "-deps"}, tags...)
		cmd := exec.Command("go", append(args, "./cmd/ice")...)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %v: %v", args, err)
		}
		m := map[string]bool{}
		for _, l := range strings.Fields(string(out)) {
			m[l] = true
		}
		return m
	}
	banned := append(prefixed(simulators), "go.temporal.io/server/", "github.com/temporalio/ui-server/")
	linked := func(m map[string]bool) []string {
		var out []string
		for p := range m {
			if forbidden(p, banned) {
				out = append(out, p)
			}
		}
		return out
	}
	if got := linked(deps("-tags", "production")); len(got) > 0 {
		t.Errorf("the production build of ice links %v", got)
	}
	dev := deps()
	if !dev[module+"sim/devsim"] || !dev[module+"sim/dbssim"] || !dev[module+"infra/devstack"] {
		t.Error("the default build of ice does not link the dev stack: the production check above proves nothing")
	}
	if !deps("-tags", "production")[module+"worker"] {
		t.Error("the production build of ice does not link the worker")
	}
}
