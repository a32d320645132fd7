package activities

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"icesurvey/access"
	"icesurvey/codes"
	"icesurvey/dbs"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/intake"
	"icesurvey/linkage"
	"icesurvey/mailing"
	"icesurvey/mesh"
	"icesurvey/notify"
	"icesurvey/pseudo"
	"icesurvey/retention"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/weighting"
)

// errorCase is one exported error of a domain package (a sentinel, or a value of an
// exported error type) and the kind the taxonomy must give it ("" for an ordinary,
// retryable failure).
type errorCase struct {
	name string // package.Name as declared
	err  error
	want fault.Kind
}

// domainErrors lists every exported error of every domain package.
// TestEveryExportedErrorIsClassified fails when a package declares one not listed here,
// so a new error is classified when it is written.
var domainErrors = []errorCase{
	{"codes.ErrNHSNumberFormat", codes.ErrNHSNumberFormat, fault.BadInput},
	{"codes.ErrNHSNumberCheckDigit", codes.ErrNHSNumberCheckDigit, fault.BadInput},
	{"codes.ErrNHSNumberRepeated", codes.ErrNHSNumberRepeated, fault.BadInput},
	{"codes.ErrDateFormat", codes.ErrDateFormat, fault.BadInput},
	{"codes.ErrPostcodeMissing", codes.ErrPostcodeMissing, fault.BadInput},
	{"codes.ErrPostcodeFormat", codes.ErrPostcodeFormat, fault.BadInput},
	{"codes.ErrPseudoPostcode", codes.ErrPseudoPostcode, fault.BadInput},

	{"retention.ErrProtected", retention.ErrProtected, fault.Configuration},
	{"retention.ErrNoLineage", retention.ErrNoLineage, fault.Conflict},
	{"dbs.ErrNotSubmitted", dbs.ErrNotSubmitted, fault.Conflict},
	{"dbs.ErrSubmitConflict", dbs.ErrSubmitConflict, fault.Conflict},
	{"dbs.ErrSubmitInDoubt", dbs.ErrSubmitInDoubt, fault.Conflict},
	{"dbs.ErrReplyNotReady", dbs.ErrReplyNotReady, fault.NotReady},
	{"dbs.ParseError", &dbs.ParseError{File: "reply", Line: 3, Field: "TRACE_STATUS", Reason: "not a number"}, fault.ReplyMismatch},
	{"dbs.ReplyMismatchError", &dbs.ReplyMismatchError{RequestID: "r1", Requested: 2, Rows: 1}, fault.ReplyMismatch},
	{"dbs.DeliveryReportError", &dbs.DeliveryReportError{RequestID: "r1", Code: "14"}, fault.Configuration},

	// The taxonomy's own marked error carries the kind it was given.
	{"fault.Error", fault.Errorf(fault.Conflict, "a marked error"), fault.Conflict},

	{"intake.FileError", &intake.FileError{File: "sample.csv", Row: 1, Reason: intake.FileHeaderMissing}, fault.BadInput},
	// A defect in the intake: left to retry, so a fixed and deployed worker carries on.
	{"intake.ErrReconciliation", intake.ErrReconciliation, ""},
	// The input changed under the intake: a retry reads the new object.
	{"intake.ErrInputChanged", intake.ErrInputChanged, ""},
	// Documented as not worth retrying, and (no longer) retried forever.
	{"intake.ErrInvalidConfig", intake.ErrInvalidConfig, fault.Configuration},

	{"mailing.ErrPrintFileConflict", mailing.ErrPrintFileConflict, fault.Conflict},

	{"mesh.Error", &mesh.Error{Op: "send", Status: http.StatusUnauthorized}, fault.NotAuthorised},
	{"mesh.Error", &mesh.Error{Op: "send", Status: http.StatusForbidden}, fault.NotAuthorised},
	{"mesh.Error", &mesh.Error{Op: "download", Status: http.StatusNotFound}, fault.Configuration},
	{"mesh.Error", &mesh.Error{Op: "send", Status: http.StatusServiceUnavailable}, ""},
	{"mesh.Error", &mesh.Error{Op: "send", Status: http.StatusTooManyRequests}, ""},
	{"mesh.Error", &mesh.Error{Op: "send", Err: errors.New("connection reset"), Dialed: true}, ""},

	{"notify.APIError", &notify.APIError{Status: http.StatusForbidden}, fault.NotAuthorised},
	{"notify.APIError", &notify.APIError{Status: http.StatusBadRequest, Errors: []notify.ErrorItem{{Error: "BadRequestError", Message: "Template not found"}}}, fault.Configuration},
	{"notify.APIError", &notify.APIError{Status: http.StatusTooManyRequests}, ""},
	{"notify.APIError", &notify.APIError{Status: http.StatusInternalServerError}, ""},
	{"notify.ValidationError", &notify.ValidationError{Field: "template_id", Message: "missing"}, fault.Configuration},

	{"pseudo.ErrKeyTooShort", pseudo.ErrKeyTooShort, fault.Configuration},

	// A missing object is for its reader to judge (Intake calls a missing input file
	// bad input; a missing reply is not there yet).
	{"store.ErrNotExist", store.ErrNotExist, ""},

	{"warehouse.ErrBusy", warehouse.ErrBusy, fault.Busy},

	{"access.Error", &access.Error{File: "access.yaml", Problems: []string{"line 3: unknown role"}}, fault.Configuration},
	{"freetext.ErrRefused", freetext.ErrRefused, fault.NotAuthorised},

	{"linkage.ExtractError", &linkage.ExtractError{File: "gp.csv", Row: 4, Field: "pseudonym", Reason: linkage.ReasonNotLinkable, Message: "not in the cohort"}, fault.BadInput},
	{"linkage.ExportError", &linkage.ExportError{File: "release.parquet", Column: "nhs_number", Reason: "forbidden", Message: "an identifier"}, fault.Configuration},
	// A defect in the linkage's counts: retried, so a fixed and deployed worker carries on.
	{"linkage.ErrReconciliation", linkage.ErrReconciliation, ""},
	{"linkage.ErrNoExtractLineage", linkage.ErrNoExtractLineage, fault.Conflict},
	{"linkage.ErrLandingNotValidated", linkage.ErrLandingNotValidated, fault.BadInput},
	{"linkage.ErrNoSample", linkage.ErrNoSample, fault.BadInput},

	{"weighting.ErrNoRespondents", weighting.ErrNoRespondents, fault.BadInput},
}

// Every error gets its kind, through wrapping, and ApplicationError maps the kind to
// the Temporal application error the workflows and the retry policy see.
func TestErrorTaxonomy(t *testing.T) {
	for _, tc := range domainErrors {
		for _, err := range []error{tc.err, fmt.Errorf("while doing something: %w", tc.err)} {
			name := fmt.Sprintf("%s (%v)", tc.name, err)
			if got := fault.KindOf(err); got != tc.want {
				t.Errorf("%s: kind %q, want %q", name, got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: errors.Is lost through wrapping", name)
			}
			mapped := ApplicationError(err)
			var appErr *temporal.ApplicationError
			switch {
			case tc.want == "":
				if mapped != err {
					t.Errorf("%s: an ordinary failure was mapped to %v", name, mapped)
				}
			case !errors.As(mapped, &appErr):
				t.Errorf("%s: mapped to %T, not an application error", name, mapped)
			default:
				if appErr.Type() != string(tc.want) || appErr.NonRetryable() != tc.want.Permanent() {
					t.Errorf("%s: application error type %q non-retryable %v, want %q %v", name, appErr.Type(), appErr.NonRetryable(), tc.want, tc.want.Permanent())
				}
				if kind, msg := FaultOf(mapped); kind != tc.want || msg != err.Error() {
					t.Errorf("%s: FaultOf = %q %q", name, kind, msg)
				}
				if !errors.Is(mapped, tc.err) {
					t.Errorf("%s: the application error does not wrap its cause", name)
				}
			}
			if ApplicationError(mapped) != mapped {
				t.Errorf("%s: mapping twice changed the error", name)
			}
		}
	}
	if ApplicationError(nil) != nil {
		t.Error("nil mapped to an error")
	}
}

// Every permanent kind is non-retryable in every class's retry policy too.
func TestPolicyNeverRetriesAPermanentKind(t *testing.T) {
	for _, c := range []Class{Storage, Network, Warehouse, Long, Simulator} {
		got := Options(c).RetryPolicy.NonRetryableErrorTypes
		for _, k := range fault.Kinds {
			listed := false
			for _, g := range got {
				listed = listed || g == string(k)
			}
			if listed != k.Permanent() {
				t.Errorf("class %d: kind %s listed non-retryable = %v", c, k, listed)
			}
		}
	}
	p := PollOptions(7 * 60 * 1e9).RetryPolicy
	if p.InitialInterval != p.MaximumInterval || p.BackoffCoefficient != 1 || p.MaximumAttempts != 0 {
		t.Errorf("poll policy %+v: want a fixed interval, for ever", p)
	}
}

// notDomain are the module's packages that are not domain packages: the Temporal
// adapters and faces, the dev stack, the simulators and the benchmarks.
var notDomain = []string{"activities", "workflows", "worker", "waveclient", "cmd", "web", "infra", "sim", "bench", "internal"}

// TestEveryExportedErrorIsClassified reads every domain package's source for exported
// error sentinels (var Err…) and error types (a type with an Error() string method),
// and fails for any the table above does not cover, or a row naming none.
func TestEveryExportedErrorIsClassified(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		if rel != "." && (strings.HasPrefix(top, ".") || strings.Contains(rel, "testdata")) {
			return filepath.SkipDir
		}
		for _, nd := range notDomain {
			if top == nd {
				return filepath.SkipDir
			}
		}
		for _, name := range exportedErrors(t, path) {
			declared[name] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range domainErrors {
		covered[tc.name] = true
	}
	var missing, stale []string
	for name := range declared {
		if !covered[name] {
			missing = append(missing, name)
		}
	}
	for name := range covered {
		if !declared[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("exported errors with no row in domainErrors (classify them): %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("rows in domainErrors naming no exported error: %v", stale)
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d exported errors: is the source walk right?", len(declared))
	}
}

// exportedErrors lists "pkg.Name" of the exported error sentinels and error types
// declared in the non-test Go files of dir.
func exportedErrors(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
							out = append(out, f.Name.Name+"."+n.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Error" || d.Type.Params.NumFields() != 0 || d.Type.Results.NumFields() != 1 {
					continue
				}
				typ := d.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
					out = append(out, f.Name.Name+"."+id.Name)
				}
			}
		}
	}
	return out
}
