package crashpoint

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]time.Duration
		err  bool
	}{
		{"", map[string]time.Duration{}, false},
		{"print-file=1s, warehouse-load=300ms", map[string]time.Duration{PrintFile: time.Second, WarehouseLoad: 300 * time.Millisecond}, false},
		{"print-file", nil, true},
		{"print-file=soon", nil, true},
		{"=1s", nil, true},
		{"print-file=-1s", nil, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("Parse(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("Parse(%q) = %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("Parse(%q)[%s] = %v, want %v", tc.in, k, got[k], v)
			}
		}
	}
}
