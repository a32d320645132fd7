// Package crashpoint lets a crash campaign (bench/chaos) hold a worker at a named point
// inside a step — between a print file and its manifest, inside a warehouse
// transaction before its commit — so that the worker can be killed there for certain,
// not only when a random moment happens to fall inside a write of a few milliseconds.
//
// A point stalls only when the environment variable ICE_CRASHPOINTS names it, as a
// comma-separated list of point=duration (e.g. "print-file=1s,warehouse-load=300ms").
// At a named point the process writes one line, "ice-crashpoint: POINT DETAIL", to
// standard error, then sleeps for the duration (or until ctx ends). Without the
// variable, or in a production build (-tags production), Stall does nothing. DETAIL is
// a store key or a table name: never identifiable data.
package crashpoint

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// The points the code declares.
const (
	// PrintFile: the print file is written and its manifest is not (mailing).
	PrintFile = "print-file"
	// WarehouseLoad: lake objects are loaded into the warehouse transaction, which has
	// not committed (warehouse).
	WarehouseLoad = "warehouse-load"
)

// EnvVar names the points to stall at and for how long.
const EnvVar = "ICE_CRASHPOINTS"

// Marker starts the line written at a stalled point.
const Marker = "ice-crashpoint:"

var (
	once   sync.Once
	stalls map[string]time.Duration
)

// Parse reads a point list, "point=duration,...".
func Parse(spec string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, dur, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s: %q is not point=duration", EnvVar, part)
		}
		d, err := time.ParseDuration(dur)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %q: bad duration %q", EnvVar, name, dur)
		}
		out[name] = d
	}
	return out, nil
}

// Stall holds the caller at point when ICE_CRASHPOINTS names it.
func Stall(ctx context.Context, point, detail string) {
	if !enabled {
		return
	}
	once.Do(func() {
		s, err := Parse(os.Getenv(EnvVar))
		if err != nil {
			fmt.Fprintln(os.Stderr, "ice: ignoring", err)
		}
		stalls = s
	})
	d, ok := stalls[point]
	if !ok {
		return
	}
	fmt.Fprintf(os.Stderr, "%s %s %s\n", Marker, point, detail)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
