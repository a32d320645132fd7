// Package harness is the shared frame of the benchmarks under bench/. Each part of a
// benchmark runs in a fresh child process of the benchmark's own binary, so its peak
// memory (VmHWM) and CPU time are its own; over several runs the parts take turns, so a
// machine that gets busier or quieter weighs on all of them alike, and the fastest run
// of each is kept; and the table is printed the same way for every benchmark.
//
// A benchmark's result type embeds Measure and adds its own figures; its main handles
// "-part P -dir D [-cpuprofile F]" by running part P and calling Report.
package harness

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
)

// Measure is what every part reports.
type Measure struct {
	Part    string  `json:"part"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds"`
	PeakKiB int64   `json:"peak_kib"`
}

func (m *Measure) measure() *Measure { return m }

// Result is a pointer to a benchmark's result type, which embeds Measure.
type Result[T any] interface {
	*T
	measure() *Measure
}

// Report, in a child, writes r with this process's peak RSS to stdout for the parent.
func Report[T any, P Result[T]](r T, err error) error {
	if err != nil {
		return err
	}
	P(&r).measure().PeakKiB = PeakRSS()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// Child runs part in a fresh process of this binary and reads its report. The CPU time
// is the whole child's (user + system): steadier than wall time on a shared machine,
// and it includes start-up and every thread (DuckDB's too).
func Child[T any, P Result[T]](part, dir, cpuProfile string) (T, error) {
	var r T
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.Command(self, "-part", part, "-dir", dir, "-cpuprofile", cpuProfile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("part %s: %w", part, err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("part %s: bad report %q: %w", part, out, err)
	}
	P(&r).measure().CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// Fastest runs each part runs times in child processes, the parts taking turns, and
// returns each part's fastest run, in the order of parts. dir gives the working
// directory of each run (it may prepare a fresh copy of the inputs).
func Fastest[T any, P Result[T]](runs int, parts []string, cpuProfile string, dir func() (string, error)) ([]T, error) {
	best := make([]T, len(parts))
	for i := 0; i < max(runs, 1); i++ {
		for j, part := range parts {
			d, err := dir()
			if err != nil {
				return nil, err
			}
			r, err := Child[T, P](part, d, cpuProfile)
			if err != nil {
				return nil, err
			}
			if i == 0 || P(&r).measure().Seconds < P(&best[j]).measure().Seconds {
				best[j] = r
			}
		}
	}
	return best, nil
}

// PrintTable prints one line per part: rows, seconds, rows/s, CPU seconds, peak RSS.
func PrintTable(w io.Writer, ms ...*Measure) {
	fmt.Fprintf(w, "%-10s %10s %10s %12s %10s %12s\n", "part", "rows", "seconds", "rows/s", "cpu s", "peak RSS")
	for _, m := range ms {
		fmt.Fprintf(w, "%-10s %10d %10.2f %12.0f %10.2f %8.0f MiB\n", m.Part, m.Rows, m.Seconds,
			float64(m.Rows)/m.Seconds, m.CPU, float64(m.PeakKiB)/1024)
	}
}

// PeakRSS reads this process's peak resident set size (VmHWM) in KiB; 0 where the
// system does not say.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			if f := strings.Fields(line); len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// Measures are the Measures of results, in order, for PrintTable.
func Measures[T any, P Result[T]](results []T) []*Measure {
	ms := make([]*Measure, len(results))
	for i := range results {
		ms[i] = P(&results[i]).measure()
	}
	return ms
}

// WorkDir returns dir, or when it is "" a new temporary directory named after pattern
// (as os.MkdirTemp), with what removes it afterwards (nothing, for dir).
func WorkDir(dir, pattern string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// Flags are the flags every benchmark takes.
type Flags struct {
	Runs       int
	Dir        string
	Part       string
	CPUProfile string
	profiled   []string
}

// RegisterFlags adds -runs, -dir, -part and -cpuprofile, which profiles the parts named
// profiled, to the command line; call Main (or flag.Parse) after.
func RegisterFlags(profiled ...string) *Flags {
	f := &Flags{profiled: profiled}
	flag.IntVar(&f.Runs, "runs", 1, "run each part this many times and keep the fastest (steadier on a shared machine)")
	flag.StringVar(&f.Dir, "dir", "", "working directory (default: a new temporary directory, removed afterwards)")
	flag.StringVar(&f.Part, "part", "", "internal: run one part in this process")
	flag.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the "+strings.Join(profiled, " or ")+" part to this file")
	return f
}

// Main is a benchmark's main after its flags are registered: it parses the command
// line, runs run (under the CPU profile when this process runs a profiled part) and
// exits with status 1, the error printed after name, when run fails.
func Main(name string, f *Flags, run func() error) {
	flag.Parse()
	stop := f.StartProfile()
	err := run()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// StartProfile starts the CPU profile when this process runs a profiled part, and
// returns what stops it (safe to call twice).
func (f *Flags) StartProfile() (stop func()) {
	if f.CPUProfile == "" || !slices.Contains(f.profiled, f.Part) {
		return func() {}
	}
	out, err := os.Create(f.CPUProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		out.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}
}
