package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every kind the code records, through Record or ice's recordEvent, is in Kinds: ice
// audit refuses a --kind that is not, so a missing kind could not be asked for.
func TestKindsListsEveryRecordedKind(t *testing.T) {
	recorded := map[string]string{} // kind -> where
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			arg := -1
			switch fun := call.Fun.(type) {
			case *ast.SelectorExpr:
				if x, ok := fun.X.(*ast.Ident); ok && x.Name == "audit" && fun.Sel.Name == "Record" {
					arg = 1
				}
			case *ast.Ident:
				if fun.Name == "recordEvent" || fun.Name == "Record" && f.Name.Name == "audit" {
					arg = map[string]int{"recordEvent": 4, "Record": 1}[fun.Name]
				}
			}
			if arg < 0 || len(call.Args) <= arg {
				return true
			}
			where := fset.Position(call.Pos()).String()
			switch k := call.Args[arg].(type) {
			case *ast.BasicLit:
				s, _ := strconv.Unquote(k.Value)
				recorded[s] = where
			case *ast.SelectorExpr: // audit.KindX
				recorded["const "+k.Sel.Name] = where
			case *ast.BinaryExpr: // channel+"_batch"
				if lit, ok := k.Y.(*ast.BasicLit); ok && lit.Value == `"_batch"` {
					recorded["letter_batch"], recorded["sms_batch"] = where, where
					return true
				}
				t.Errorf("%s: a kind made at run time; list what it can be in Kinds and teach this test", where)
			default:
				if fun, ok := call.Fun.(*ast.Ident); ok && fun.Name == "Record" {
					return true // Record's own definition's callers in package audit
				}
				t.Errorf("%s: a kind this test cannot read; list what it can be in Kinds and teach this test", where)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) < 40 {
		t.Fatalf("found only %d recorded kinds: is the walk of the repository right?", len(recorded))
	}
	consts := map[string]string{"const KindActivityAttempt": KindActivityAttempt, "const KindFieldworkEndedEarly": KindFieldworkEndedEarly}
	for k, where := range recorded {
		if c, ok := consts[k]; ok {
			k = c
		} else if strings.HasPrefix(k, "const ") {
			t.Errorf("%s: records the constant %s; map it in this test", where, k)
			continue
		}
		if !slices.Contains(Kinds, k) {
			t.Errorf("%s records kind %q, which Kinds does not list", where, k)
		}
	}
}

func TestKnownKind(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want bool
	}{
		{"activity_attempt", true},
		{"intake", true}, // the parent of intake.*
		{"intake.file_received", true},
		{"linkage_release_built", true},
		{"linkage", false}, // a family's start, not a kind
		{"intak", false},
		{"nonsense_kind", false},
		{"", false},
	} {
		if got := KnownKind(tc.kind); got != tc.want {
			t.Errorf("KnownKind(%q) = %v, want %v", tc.kind, got, tc.want)
		}
	}
	if got := KindsStartingWith("linkage"); len(got) < 10 || !slices.Contains(got, "linkage_release_built") || slices.Contains(got, "late_opt_out") {
		t.Errorf("KindsStartingWith(linkage) = %v", got)
	}
}
