// Command dashboard-bench measures the ICS dashboard (issue #16) under load: a
// national-size wave (-ics ICSs of -patients patients and -carers carers, 42 × (1,000 +
// 330) = 55,860 respondents by default) is built once as setup (the real layouts, lake
// objects, migrations and a release loaded into published_*), the dashboard is served
// over it on loopback exactly as `ice serve` serves it (dashdata over a snapshot, the
// web server with its sessions, CSP, compression), and -users signed-in users each
// request the main pages in turn for -duration: home, wave overview, the four
// brochure themes and a questionnaire section for their own ICS (a quarter of them
// broken down by age band), carers, releases, the response by GP practice, and the
// linked activity page (#15) over a linkage release of the same wave, built by the real
// linkage (consent derived from the responses, synthetic extracts of the seven
// datasets validated, the release built, its aggregates disclosure-checked and loaded).
//
// It prints, per page and overall, the requests, p50 / p95 / max latency, requests
// per second, and each page's weight (gzip-compressed bytes on the wire: the HTML, and
// a first load with every stylesheet, script and image it references), beside the
// issue's targets: p95 under 100 ms, every page under 150 KB transferred.
//
//	go run ./bench/dashboard
//	go run ./bench/dashboard -ics 42 -patients 1000 -carers 330 -users 20 -duration 30s
package main

import (
	"compress/gzip"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/bcrypt"

	"icesurvey/access"
	"icesurvey/activities"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
	"icesurvey/web"
	"icesurvey/web/dashdata"
)

const (
	targetP95     = 100 * time.Millisecond
	targetWeightK = 150.0
	password      = "bench-password-not-secret"
)

func main() {
	nICS := flag.Int("ics", 42, "ICSs")
	nPat := flag.Int("patients", 1000, "patient respondents per ICS")
	nCar := flag.Int("carers", 330, "carer respondents per ICS")
	users := flag.Int("users", 20, "concurrent signed-in users")
	duration := flag.Duration("duration", 20*time.Second, "how long the users request pages")
	dir := flag.String("dir", "", "working directory (default: a temporary one, removed)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the load phase to this file")
	flag.Parse()
	profile = *cpuProfile
	if err := run(*nICS, *nPat, *nCar, *users, *duration, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard-bench:", err)
		os.Exit(1)
	}
}

func nationalSpec(nICS, nPat, nCar int) pubsynth.Spec {
	spec := pubsynth.Spec{Wave: "NATIONAL", Seed: 2026, Duplicates: 0.01, Incomplete: 0.02, LocalQuestions: map[string][]string{}}
	for k := range nICS {
		code := fmt.Sprintf("Q%02d", k)
		ics := pubsynth.ICS{Code: code, Sampled: 4 * nPat, Patients: nPat, Carers: nCar,
			Deceased: nPat / 25, Ineligible: nPat / 100, OptedOut: nPat / 20, Undelivered: nPat / 30,
			YoungPropensity: 0.2 + 0.03*float64(k%4), SeverePropensity: 0.35 + 0.04*float64(k%3), Effect: 0.02 * float64(k%7-3)}
		if k%3 == 0 {
			spec.LocalQuestions[code] = []string{"LQ_LONELINESS", "LQ_DIGITAL_SERVICES"}
		}
		spec.ICSs = append(spec.ICSs, ics)
	}
	return spec
}

var profile string

type sample struct {
	page string
	d    time.Duration
}

func run(nICS, nPat, nCar, nUsers int, duration time.Duration, dir string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "dashboard-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("Setup: a national wave of %d ICSs × (%d patients + %d carers) = %d respondents, and release R1 of it…\n", nICS, nPat, nCar, nICS*(nPat+nCar))
	t0 := time.Now()
	spec := nationalSpec(nICS, nPat, nCar)
	w, err := pubsynth.Build(ctx, filepath.Join(dir, "wave"), spec)
	if err != nil {
		return err
	}
	var res *publication.Results
	if err := w.Warehouse.Read(ctx, func(db *sql.DB) (err error) {
		res, err = publication.Compute(ctx, db, spec.Wave, publication.DefaultParams())
		return err
	}); err != nil {
		return err
	}
	m, err := publication.Write(ctx, w.Store, res, "R1")
	if err != nil {
		return err
	}
	if _, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, spec.Wave, "", m.WarehouseObjects()); err != nil {
		return err
	}
	fmt.Printf("  built in %s\n", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	lk, err := linkageRelease(ctx, w, spec.Wave)
	if err != nil {
		return fmt.Errorf("linkage release: %w", err)
	}
	fmt.Printf("  linkage release %s: %d extract rows validated, %d consenting respondents, %d found in a dataset; %d disclosure-checked cells (%d withheld), in %s\n",
		linkageReleaseID, lk.rows, lk.consented, lk.linked, lk.cells, lk.withheld, time.Since(t0).Round(time.Millisecond))

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t1 := time.Now()
	src, err := dashdata.Open(ctx, dashdata.Config{Warehouse: w.Warehouse.Path(), SnapshotDir: filepath.Join(dir, "snapshots"), Logger: quiet})
	if err != nil {
		return err
	}
	defer src.Close()
	fmt.Printf("  dashboard snapshot and live figures ready in %s (the server's start-up and each refresh)\n", time.Since(t1).Round(time.Millisecond))

	// Users: each an analyst of one ICS.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), access.MinBcryptCost)
	if err != nil {
		return err
	}
	var af, uf strings.Builder
	af.WriteString("version: 1\nusers:\n")
	uf.WriteString("users:\n")
	for i := range nUsers {
		id := fmt.Sprintf("analyst%02d@example.nhs.uk", i)
		fmt.Fprintf(&af, "  - id: %s\n    name: Analyst %d\n    analyst: [%s]\n", id, i, spec.ICSs[i%len(spec.ICSs)].Code)
		fmt.Fprintf(&uf, "  - id: %s\n    password_bcrypt: %q\n", id, string(hash))
	}
	policy, err := access.Parse("access.yaml", []byte(af.String()))
	if err != nil {
		return err
	}
	lu, err := access.ParseLocalUsers("users.yaml", []byte(uf.String()))
	if err != nil {
		return err
	}
	srv, err := web.NewServer(web.Config{Logger: quiet, SignInPerIP: web.RateLimit{Burst: nUsers + 5, Every: time.Second}},
		// As ice serve wires them (but free text, which needs the store and named readers).
		web.Deps{Policy: policy, LocalUsers: lu, Freshness: src, Waves: src, Fieldwork: src, Results: src, Releases: src, Practices: src,
			FreeTextThemes: src, Linkage: src})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	clients := make([]*http.Client, nUsers)
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		// Compression is asked for by hand so the bytes on the wire can be counted.
		clients[i] = &http.Client{Jar: jar, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
		resp, err := clients[i].PostForm(base+"/sign-in", url.Values{"username": {fmt.Sprintf("analyst%02d@example.nhs.uk", i)}, "password": {password}, "next": {"/"}})
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("sign-in of user %d: %d", i, resp.StatusCode)
		}
	}
	wave := "/waves/" + spec.Wave
	pagesFor := func(i int) []struct{ name, path string } {
		ics := spec.ICSs[i%len(spec.ICSs)].Code
		q := "?ics=" + ics
		if i%4 == 0 {
			q += "&breakdown=age_band"
		}
		return []struct{ name, path string }{
			{"home", "/"},
			{"overview (42 ICSs)", wave},
			{"care administration", wave + "/themes/care-administration" + q},
			{"care integration", wave + "/themes/care-integration" + q},
			{"waiting times", wave + "/themes/waiting-times" + q},
			{"emotional support", wave + "/themes/emotional-support" + q},
			{"coordination (section)", wave + "/themes/coordination" + q},
			{"carers", wave + "/carers?ics=" + ics},
			{"releases", wave + "/releases"},
			{"practices", wave + "/practices?ics=" + ics},
			{"theme, release R1", wave + "/themes/care-integration?ics=" + ics + "&release=R1"},
			{"linked activity", wave + "/linkage"},
			{"linked activity, by group", wave + "/linkage?" + linkageFilters[i%len(linkageFilters)]},
		}
	}

	get := func(c *http.Client, path string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return len(b), nil, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(string(b)))
			if err != nil {
				return 0, nil, err
			}
			plain, err := io.ReadAll(zr)
			return len(b), plain, err
		}
		return len(b), b, nil
	}

	// Page weight: the HTML on the wire, and a first load with what it references.
	refs := regexp.MustCompile(`(?:href|src)="(/(?:static|assets|favicon)[^"]*)"`)
	type weight struct{ html, first int }
	weights := map[string]weight{}
	var order []string
	for _, p := range pagesFor(0) {
		n, body, err := get(clients[0], p.path)
		if err != nil {
			return err
		}
		wt := weight{html: n, first: n}
		for _, m := range refs.FindAllStringSubmatch(string(body), -1) {
			rn, _, err := get(clients[0], m[1])
			if err != nil {
				return err
			}
			wt.first += rn
		}
		weights[p.name] = wt
		order = append(order, p.name)
	}

	fmt.Printf("Load: %d users, each requesting the %d main pages in turn for %s, on loopback (GOMAXPROCS %d)…\n", nUsers, len(order), duration, runtime.GOMAXPROCS(0))
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var mu sync.Mutex
	var samples []sample
	var failures []string
	load0 := loadAverage()
	cpu0 := cpuTime()
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range nUsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages := pagesFor(i)
			var local []sample
			for k := i; time.Now().Before(deadline); k++ {
				p := pages[k%len(pages)]
				t := time.Now()
				_, _, err := get(clients[i], p.path)
				d := time.Since(t)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				local = append(local, sample{p.name, d})
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	load1 := loadAverage()
	if len(failures) > 0 {
		return fmt.Errorf("%d requests failed, first: %s", len(failures), failures[0])
	}

	by := map[string][]time.Duration{}
	var all []time.Duration
	for _, s := range samples {
		by[s.page] = append(by[s.page], s.d)
		all = append(all, s.d)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "page\trequests\tp50 ms\tp95 ms\tmax ms\tp95 target\tHTML KB\tfirst load KB\tweight target\t")
	ok := true
	row := func(name string, ds []time.Duration, wt *weight) {
		p50, p95, mx := quantile(ds, 0.5), quantile(ds, 0.95), quantile(ds, 1)
		pOK := p95 < targetP95
		ok = ok && pOK
		line := fmt.Sprintf("%s\t%d\t%.1f\t%.1f\t%.1f\t< 100 %s\t", name, len(ds), ms(p50), ms(p95), ms(mx), mark(pOK))
		if wt != nil {
			wOK := float64(wt.first)/1024 < targetWeightK
			ok = ok && wOK
			line += fmt.Sprintf("%.1f\t%.1f\t< 150 %s\t", float64(wt.html)/1024, float64(wt.first)/1024, mark(wOK))
		} else {
			line += "\t\t\t"
		}
		fmt.Fprintln(tw, line)
	}
	for _, name := range order {
		wt := weights[name]
		row(name, by[name], &wt)
	}
	row("all pages", all, nil)
	tw.Flush()
	fmt.Printf("\n%d requests in %s: %.0f requests/s with %d concurrent users; targets (issue #16): p95 < 100 ms, every page < 150 KB transferred: %s\n",
		len(all), elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds(), nUsers, map[bool]string{true: "met", false: "NOT MET"}[ok])
	perReq := cpu.Seconds() / float64(len(all))
	fmt.Printf("CPU: %.2f s of this process (server and load generator) = %.2f ms per request, %.2f of the %d cores on average;\n"+
		"     machine load average %s at the start, %s at the end (other processes share these cores, and latency under load is mostly queueing for them)\n",
		cpu.Seconds(), 1000*perReq, cpu.Seconds()/elapsed.Seconds(), runtime.NumCPU(), load0, load1)
	fmt.Printf("     at %.2f ms of CPU per request, %d cores alone would serve about %.0f requests/s\n", 1000*perReq, runtime.NumCPU(), float64(runtime.NumCPU())/perReq)
	return nil
}

// linkageReleaseID is the benchmark's linkage release.
const linkageReleaseID = "L1"

// linkageFilters are the linked activity page's groupings the users ask for.
var linkageFilters = []string{
	"question=P_REPEAT_STORY&burden=efi_band&found_by=age_band&consent_by=ethnicity_group",
	"question=P_WHO_TO_CONTACT&burden=contact_days_12m&found_by=efi_band&consent_by=age_band",
	"burden=emergency_admissions_12m&found_by=gender&consent_by=gender",
	"burden=services_12m&found_by=all&consent_by=efi_band",
}

type linkageSummary struct {
	rows, consented, linked int64
	cells, withheld         int
}

// linkageRelease runs the linkage over the wave through LinkageWorkflow's own
// activities, in its order: consent derived from the responses, synthetic Parquet
// extracts of every dataset for the sample (a tenth of the activity rates: the page
// shows aggregates), every extract validated, the release built, its aggregates
// disclosure-checked and the release loaded into the warehouse.
func linkageRelease(ctx context.Context, w *pubsynth.Wave, wave string) (linkageSummary, error) {
	var out linkageSummary
	key := []byte("dashboard-bench-key-not-secret-0123456789")
	a := &activities.Activities{Store: w.Store, PseudonymKey: key}
	scope := activities.Scope{WaveID: wave}
	rel := activities.LinkageReleaseInput{Scope: scope, ReleaseID: linkageReleaseID}
	if _, err := a.DeriveLinkageConsent(ctx, scope); err != nil {
		return out, err
	}
	if _, err := synthlink.Generate(ctx, w.Store, synthlink.Config{WaveID: wave, Seed: 7, Format: "parquet", Scale: 0.1, NoTruth: true,
		ProjectKeyID: linkage.KeyID(key)}); err != nil {
		return out, err
	}
	ex, err := a.ValidateLinkageExtracts(ctx, scope)
	if err != nil {
		return out, err
	}
	for _, e := range ex.Extracts {
		if e.Refused != "" {
			return out, fmt.Errorf("extract refused: %s", e.Refused)
		}
		out.rows += e.RowsRead
	}
	built, err := a.BuildLinkageRelease(ctx, rel)
	if err != nil {
		return out, err
	}
	out.consented, out.linked = built.Consented, built.Linked
	dr, err := a.DiscloseLinkageAggregates(ctx, rel)
	if err != nil {
		return out, err
	}
	out.cells, out.withheld = dr.Cells, dr.Withheld
	wa := &activities.WarehouseActivities{Store: w.Store, Warehouse: w.Warehouse}
	if _, err := wa.LoadLinkageRelease(ctx, rel); err != nil {
		return out, err
	}
	return out, nil
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's 1-minute load average (Linux), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
