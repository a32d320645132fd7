package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/workflows"
)

// Report is what a campaign found.
type Report struct {
	Wall     time.Duration
	Planned  int
	Restarts int
	Kills    []kill

	// SMS: expected are the people each SMS step selected (its mailing history).
	SMSExpected, SMSReceived, SMSDuplicates, SMSMissing, SMSUnexpected int
	// Delivery receipts as the mailing history holds them at the end: delivered,
	// failed (permanently or for now), not yet final, and final results that are not
	// what Notify says of the message.
	ReceiptsDelivered, ReceiptsFailed, ReceiptsInFlight, ReceiptMismatches int
	// Print files: one per letter step and ICS.
	PrintFiles, PrintRows, PrintDuplicates, PrintMissing, PrintProblems int
	Tables                                                              []tableCount
	// Lake objects of warehouse tables not loaded (or loaded with other bytes).
	Unloaded int
	// KilledAttempts are the activity attempts running at a kill; Retried those that a
	// later attempt of the same activity completed in the audit trail.
	KilledAttempts, Retried int
	// TempSwept are the killed workers' temporary directories that later workers
	// removed as they started; TempLeft what is left in the workers' TMPDIR at the end.
	TempSwept, TempLeft int

	Failures []string
}

type tableCount struct {
	Table           schemas.Table
	LakeObjects     int
	LakeRows        int64 // every row of every object
	LakeDistinct    int64 // distinct keys (rows, for a table without a key)
	WarehouseRows   int64
	WarehouseLoaded int // loaded_files rows
}

func (r *Report) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// verify checks what the wave left behind, against the people the steps selected.
func (c *campaign) verify(ctx context.Context) (*Report, error) {
	r := &Report{}
	wave := c.w.spec.WaveID
	st := c.w.store

	// The wave's result holds each ICS's final status (a query would need a worker).
	selected := map[string]int{}   // ics/step → selected
	notSent := map[string]string{} // ics/step → why it never went out
	for _, code := range c.w.spec.Codes() {
		s, ok := c.result.ICS[code]
		if !ok || s.Stage != workflows.StageClosed {
			r.fail("%s ended at stage %q, not closed", code, s.Stage)
		}
		for _, m := range s.Mailings {
			selected[code+"/"+m.Step] = m.Selected
			if m.State == workflows.MailingNotSent {
				notSent[code+"/"+m.Step] = m.NotSent
			}
		}
	}

	// SMS: each message reference of the mailing history reached Notify exactly once.
	expected := map[string]bool{}
	results := map[string]string{}          // SMS reference → the mailing history's result
	letters := map[string]map[string]bool{} // print file key → references
	for _, code := range c.w.spec.Codes() {
		for _, step := range c.w.spec.Schedule.Steps {
			// A step the kills delayed past the close has no mailing history: that is a
			// failure of the campaign (it checks every step went), said as such, not an
			// error reading a file that was never meant to exist.
			if why, ok := notSent[code+"/"+step.Name]; ok {
				r.fail("%s %s was not sent (%s): the kills delayed it past the close; give the fieldwork more days", code, step.Name, why)
				continue
			}
			refs := map[string]bool{}
			err := lake.Scan(ctx, st, schemas.MailingHistoryKey(wave, code, step.Name), schemas.MailingEventLayout(),
				func(e *schemas.MailingEvent) error {
					refs[e.Reference] = true
					if step.Channel == mailing.ChannelSMS {
						results[e.Reference] = e.Result
					}
					return nil
				})
			if err != nil {
				return nil, fmt.Errorf("read the mailing history of %s %s: %w", code, step.Name, err)
			}
			if n := selected[code+"/"+step.Name]; n != len(refs) {
				r.fail("%s %s: %d selected, %d in the mailing history", code, step.Name, n, len(refs))
			}
			if step.Channel == mailing.ChannelSMS {
				for ref := range refs {
					expected[ref] = true
				}
			} else {
				letters[schemas.PrintFileKey(wave, code, step.Name)] = refs
			}
		}
	}
	counts := map[string]int{}
	for _, n := range c.w.notify.Notifications() {
		if n.Type == "sms" {
			counts[n.Reference]++
			c.checkReceipt(r, results, n)
		}
	}
	if r.ReceiptsDelivered == 0 {
		r.fail("no delivery receipt reached the mailing history: %d SMS, %d of them still in flight", len(results), r.ReceiptsInFlight)
	}
	if r.ReceiptMismatches > 0 {
		r.fail("%d SMS have a result in the mailing history that is not what Notify says of them", r.ReceiptMismatches)
	}
	r.SMSExpected = len(expected)
	for ref, n := range counts {
		r.SMSReceived += n
		if n > 1 {
			r.SMSDuplicates += n - 1
		}
		if !expected[ref] {
			r.SMSUnexpected++
		}
	}
	for ref := range expected {
		if counts[ref] == 0 {
			r.SMSMissing++
		}
	}
	if r.SMSExpected == 0 {
		r.fail("no SMS was selected: the campaign tested nothing")
	}
	if r.SMSDuplicates+r.SMSMissing+r.SMSUnexpected > 0 {
		r.fail("SMS: %d duplicates, %d missing, %d unexpected", r.SMSDuplicates, r.SMSMissing, r.SMSUnexpected)
	}

	// Print files: complete (manifest, digest), each person once, nothing stray.
	keys := make([]string, 0, len(letters))
	for k := range letters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dirs := map[string]int{}
	for _, key := range keys {
		dirs[path.Dir(key)] += 2 // the file and its manifest
		c.checkPrintFile(ctx, r, key, letters[key])
	}
	for dir, want := range dirs {
		infos, err := st.List(ctx, dir+"/")
		if err != nil {
			return nil, err
		}
		if len(infos) != want {
			var names []string
			for _, inf := range infos {
				names = append(names, path.Base(inf.Key))
			}
			r.PrintProblems++
			r.fail("%s holds %d objects, want %d (a print file and a manifest per letter step): %v", dir, len(infos), want, names)
		}
	}

	if err := c.compareLakeAndWarehouse(ctx, r); err != nil {
		return nil, err
	}
	if err := c.checkAudit(ctx, r); err != nil {
		return nil, err
	}
	byKind := map[string]int{}
	for _, k := range c.kills {
		byKind[k.Kind]++
	}
	if len(c.kills) < c.cfg.Kills {
		r.fail("%d kills delivered, %d planned (the wave ended first)", len(c.kills), c.cfg.Kills)
	}
	for _, kind := range []string{KillSMS, KillPrintFile, KillWarehouse} {
		if byKind[kind] == 0 {
			r.fail("no kill in the middle of a %s", kind)
		}
	}
	// Temporary files: a killed worker cannot remove its private temporary directory
	// (proctmp), which may hold copies of patients' data; the next worker to start
	// removes it, and the last one, stopped gracefully, removes its own. Nothing is
	// left, and each kill's directory was removed by a worker that said so.
	left, err := os.ReadDir(c.w.tmpDir)
	if err != nil {
		return nil, err
	}
	r.TempLeft = len(left)
	for _, e := range left {
		r.fail("a worker's temporary %s is left in %s", e.Name(), c.w.tmpDir)
	}
	c.logMu.Lock()
	r.TempSwept = c.tempSwept
	c.logMu.Unlock()
	if r.TempSwept != len(c.kills) {
		r.fail("the workers removed %d temporary directories of killed workers, not one for each of the %d kills", r.TempSwept, len(c.kills))
	}
	return r, nil
}

func (c *campaign) checkPrintFile(ctx context.Context, r *Report, key string, refs map[string]bool) {
	st := c.w.store
	r.PrintFiles++
	m, err := mailing.ReadManifest(ctx, st, key)
	if err != nil {
		r.PrintProblems++
		r.fail("print file %s: no manifest: %v", key, err)
		return
	}
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		r.PrintProblems++
		r.fail("print file %s: %v", key, err)
		return
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != m.SHA256 || int64(len(b)) != m.Bytes {
		r.PrintProblems++
		r.fail("print file %s does not match its manifest", key)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) == 0 {
		r.PrintProblems++
		r.fail("print file %s: not CSV: %v", key, err)
		return
	}
	if strings.Join(rows[0], ",") != strings.Join(mailing.PrintColumns, ",") {
		r.PrintProblems++
		r.fail("print file %s: header %v", key, rows[0])
		return
	}
	if len(rows)-1 != m.Rows {
		r.PrintProblems++
		r.fail("print file %s: %d rows, manifest says %d", key, len(rows)-1, m.Rows)
	}
	seenRef, seenID := map[string]bool{}, map[string]bool{}
	for i, row := range rows[1:] {
		ref, id := row[0], row[1]
		if seenRef[ref] || seenID[id] {
			r.PrintDuplicates++
			r.fail("print file %s row %d: survey record %s listed twice", key, i+2, id)
		}
		seenRef[ref], seenID[id] = true, true
		if !refs[ref] {
			r.PrintProblems++
			r.fail("print file %s row %d: message reference not in the step's mailing history", key, i+2)
		}
	}
	r.PrintRows += len(rows) - 1
	missing := 0
	for ref := range refs {
		if !seenRef[ref] {
			missing++
		}
	}
	if missing > 0 {
		r.PrintMissing += missing
		r.fail("print file %s: %d people of the mailing history missing", key, missing)
	}
}

// compareLakeAndWarehouse counts, for every warehouse table loaded from the lake, the
// lake's rows (DuckDB over the Parquet objects) and the warehouse's, and checks that
// every lake object was loaded with its current bytes.
func (c *campaign) compareLakeAndWarehouse(ctx context.Context, r *Report) error {
	st := c.w.store
	infos, err := st.List(ctx, schemas.AreaLake.Prefix())
	if err != nil {
		return err
	}
	objects := map[schemas.Table][]string{}
	for _, inf := range infos {
		rest := strings.TrimPrefix(inf.Key, schemas.AreaLake.Prefix())
		lt, _, _ := strings.Cut(rest, "/")
		t, ok := schemas.LakeTable(lt).Warehouse()
		if !ok || !schemas.IsParquet(inf.Key) {
			continue
		}
		objects[t] = append(objects[t], inf.Key)
	}
	wh, err := warehouse.OpenReadOnly(c.w.warehousePath)
	if err != nil {
		return err
	}
	defer wh.Close()
	mem, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer mem.Close()

	loaded := map[string]string{} // table/key → sha256
	rows, err := wh.QueryContext(ctx, `SELECT table_name, object_key, sha256 FROM loaded_files`)
	if err != nil {
		return fmt.Errorf("warehouse loaded_files: %w", err)
	}
	for rows.Next() {
		var t, k, s string
		if err := rows.Scan(&t, &k, &s); err != nil {
			rows.Close()
			return err
		}
		loaded[t+"/"+k] = s
	}
	rows.Close()

	tables := make([]schemas.Table, 0, len(objects))
	for t := range objects {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i] < tables[j] })
	for _, t := range tables {
		keys := objects[t]
		tc := tableCount{Table: t, LakeObjects: len(keys)}
		def, err := warehouse.LookupTable(t)
		if err != nil {
			return err
		}
		paths := make([]string, len(keys))
		for i, k := range keys {
			paths[i] = "'" + strings.ReplaceAll(st.Root()+"/"+k, "'", "''") + "'"
			b, err := os.ReadFile(st.Root() + "/" + k)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			if got, ok := loaded[string(t)+"/"+k]; !ok || got != hex.EncodeToString(sum[:]) {
				r.Unloaded++
				r.fail("lake object %s is not in the warehouse table %s as it is now", k, t)
			} else {
				tc.WarehouseLoaded++
			}
		}
		src := "read_parquet([" + strings.Join(paths, ",") + "], union_by_name = true)"
		if err := mem.QueryRowContext(ctx, "SELECT count(*) FROM "+src).Scan(&tc.LakeRows); err != nil {
			return fmt.Errorf("count lake %s: %w", t, err)
		}
		tc.LakeDistinct = tc.LakeRows
		if k := def.Layout.KeyNames(); len(k) > 0 {
			cols := make([]string, len(k))
			for i, n := range k {
				cols[i] = schemas.QuoteIdent(n)
			}
			q := "SELECT count(*) FROM (SELECT DISTINCT " + strings.Join(cols, ", ") + " FROM " + src + ")"
			if err := mem.QueryRowContext(ctx, q).Scan(&tc.LakeDistinct); err != nil {
				return fmt.Errorf("count lake %s keys: %w", t, err)
			}
		}
		if err := wh.QueryRowContext(ctx, "SELECT count(*) FROM "+schemas.QuoteIdent(string(t))).Scan(&tc.WarehouseRows); err != nil {
			return fmt.Errorf("count warehouse %s: %w", t, err)
		}
		if tc.WarehouseRows != tc.LakeDistinct {
			r.fail("%s: lake %d rows (%d distinct keys), warehouse %d", t, tc.LakeRows, tc.LakeDistinct, tc.WarehouseRows)
		}
		r.Tables = append(r.Tables, tc)
	}
	if len(r.Tables) == 0 {
		r.fail("the lake holds no table the warehouse loads")
	}
	return nil
}

// checkAudit finds, for every attempt a kill cut short, a later attempt of the same
// activity that the audit trail records as completed: the trail shows the retry of
// each killed attempt (the killed attempt itself could not record its end).
func (c *campaign) checkAudit(ctx context.Context, r *Report) error {
	events, err := audit.Trail(ctx, c.w.store, c.w.spec.WaveID)
	if err != nil {
		return err
	}
	type actKey struct{ wf, run, act string }
	okAt := map[actKey][]int32{}
	for _, e := range events {
		if e.Kind == audit.KindActivityAttempt && e.Outcome == "ok" {
			k := actKey{e.WorkflowID, e.RunID, e.ActivityID}
			okAt[k] = append(okAt[k], e.Attempt)
		}
	}
	killed := map[actKey]bool{}
	for _, k := range c.kills {
		for _, a := range k.Running {
			killed[actKey{a.WorkflowID, a.RunID, a.ActivityID}] = true
		}
	}
	// Attempts that took long, or retries no kill explains, are worth a look: a
	// worker's death should cost an attempt, not minutes.
	for _, e := range events {
		if e.Kind != audit.KindActivityAttempt || e.EndedAt == nil {
			continue
		}
		k := actKey{e.WorkflowID, e.RunID, e.ActivityID}
		if d := e.EndedAt.Sub(e.StartedAt); d > 20*time.Second {
			c.logf("slow attempt: %s %s attempt %d of %s took %v (%s)", e.ActivityType, e.ActivityID, e.Attempt, e.WorkflowID, d.Round(time.Millisecond), e.Outcome)
		}
		if e.Attempt > 1 && !killed[k] && e.ActivityType != "CollectDBS" {
			c.logf("retry without a kill: %s %s attempt %d of %s started %s (%s %s)", e.ActivityType, e.ActivityID, e.Attempt,
				e.WorkflowID, e.StartedAt.Format("15:04:05.000"), e.Outcome, e.Error)
		}
	}
	for _, k := range c.kills {
		for _, a := range k.Running {
			r.KilledAttempts++
			retried := false
			for _, n := range okAt[actKey{a.WorkflowID, a.RunID, a.ActivityID}] {
				if n > a.Attempt {
					retried = true
				}
			}
			if retried {
				r.Retried++
			} else {
				r.fail("kill %d: %s %s attempt %d of %s has no later completed attempt in the audit trail",
					k.N, a.ActivityType, a.ActivityID, a.Attempt, a.WorkflowID)
			}
		}
	}
	return nil
}

// checkReceipt compares the mailing history's result for an SMS with Notify's own
// status of it at the end: a final result must be the one Notify gave (a receipt
// fetched and written across kills loses nothing and invents nothing); a message still
// "sent" is in flight (its receipt not fetched since it settled, or not yet final).
func (c *campaign) checkReceipt(r *Report, results map[string]string, n notifytest.Notification) {
	got, ok := results[n.Reference]
	if !ok {
		return // unexpected: counted as such by the caller
	}
	want, _ := mailing.ReceiptResult(n.Status)
	switch got {
	case schemas.ResultDelivered:
		r.ReceiptsDelivered++
	case schemas.ResultPermanentFailure, schemas.ResultTemporaryFailure:
		r.ReceiptsFailed++
	case schemas.ResultSent:
		r.ReceiptsInFlight++
		return
	default:
		r.ReceiptMismatches++
		r.fail("SMS %s: the mailing history says %q", n.Reference, got)
		return
	}
	if got != want {
		r.ReceiptMismatches++
	}
}
