package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// ice load backfill refuses bad arguments before it asks the cluster anything or
// prints a line of its table: a range that ends before it starts, and an ICS named
// twice in --ics (it would be loaded twice). The address reaches no cluster, so an
// argument checked only after dialling fails with the dial's error instead.
func TestLoadBackfillRefusesBadArgumentsFirst(t *testing.T) {
	base := []string{"load", "backfill", "--address", "127.0.0.1:1", "--wave", "W1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"to before from", []string{"--ics", "QMM", "--from", "2026-12-08", "--to", "2026-12-06"}, "--to 2026-12-06 is before --from 2026-12-08"},
		{"an ICS twice", []string{"--ics", "QMM,QJK,QMM", "--from", "2026-12-06", "--to", "2026-12-08"}, "--ics names QMM twice (QMM,QJK,QMM)"},
		{"an ICS twice in two cases", []string{"--ics", "QMM,qmm", "--from", "2026-12-06", "--to", "2026-12-08"}, "--ics names qmm twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			root := rootCmd()
			root.SetArgs(append(append([]string{}, base...), c.args...))
			root.SilenceUsage, root.SilenceErrors = true, true
			out, err := captureStdout(t, func() error { return root.ExecuteContext(ctx) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if out != "" {
				t.Errorf("printed before refusing: %q", out)
			}
		})
	}
}
