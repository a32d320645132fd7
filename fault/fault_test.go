package fault

import (
	"errors"
	"fmt"
	"testing"
)

// httpErr is an error type whose kind depends on its value, as an HTTP answer's does.
type httpErr struct{ status int }

func (e *httpErr) Error() string { return fmt.Sprintf("HTTP %d", e.status) }
func (e *httpErr) FaultKind() Kind {
	if e.status >= 500 {
		return ""
	}
	return Configuration
}

func TestKindOf(t *testing.T) {
	sentinel := New(BadInput, "bad row")
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, ""},
		{"plain", errors.New("disk full"), ""},
		{"sentinel", sentinel, BadInput},
		{"wrapped sentinel", fmt.Errorf("file x: %w", sentinel), BadInput},
		{"marked", Wrap(NotReady, errors.New("not yet")), NotReady},
		{"formatted", Errorf(Conflict, "request %s: %w", "r1", errors.New("in doubt")), Conflict},
		{"value says retry", &httpErr{503}, ""},
		{"value says no", fmt.Errorf("call: %w", &httpErr{400}), Configuration},
		// The outermost classified error decides: a retryable answer wrapped as bad input
		// is bad input.
		{"outermost wins", Wrap(BadInput, &httpErr{503}), BadInput},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("%s: KindOf = %q, want %q", tt.name, got, tt.want)
		}
		if IsPermanent(tt.err) != tt.want.Permanent() {
			t.Errorf("%s: IsPermanent = %v", tt.name, IsPermanent(tt.err))
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", sentinel), sentinel) {
		t.Error("errors.Is lost through wrapping")
	}
	if Wrap(BadInput, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if e := Errorf(Conflict, "a %s", "b"); e.Error() != "a b" {
		t.Errorf("text %q", e.Error())
	}
}

func TestKinds(t *testing.T) {
	var permanent []Kind
	for _, k := range Kinds {
		if k.Permanent() {
			permanent = append(permanent, k)
		}
	}
	if fmt.Sprint(permanent) != fmt.Sprint(PermanentKinds()) || len(permanent) != 5 {
		t.Errorf("permanent kinds %v, PermanentKinds %v", permanent, PermanentKinds())
	}
	for _, k := range []Kind{Busy, NotReady, ""} {
		if k.Permanent() {
			t.Errorf("%q is permanent", k)
		}
	}
	// The kinds a retry may mend are waits by design; no other kind is (nor an
	// unclassified error, nor a Go error type's name).
	for _, k := range append(Kinds, "", "*fmt.wrapError") {
		if want := k == Busy || k == NotReady; k.Awaited() != want || (k.Awaited() && k.Permanent()) {
			t.Errorf("%q awaited: %v", k, k.Awaited())
		}
	}
}
