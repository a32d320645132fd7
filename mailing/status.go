package mailing

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"icesurvey/audit"
	"icesurvey/notify"
	"icesurvey/store"
)

// StatusGetter fetches a notification's status; *notify.Client implements it.
type StatusGetter interface {
	Get(ctx context.Context, id string) (*notify.Notification, error)
}

// DeliveryReport summarises the ledger after a status refresh.
type DeliveryReport struct {
	// Checked is the number of notifications whose status was fetched.
	Checked int `json:"checked"`
	// ByStatus counts ledger entries by delivery status ("unknown" when never
	// checked, "refused" for entries Notify refused at send time).
	ByStatus map[string]int `json:"by_status"`
	// PermanentFailures are the survey record ids, sorted, whose message ended in
	// permanent-failure or was refused at send time: send them nothing more on this
	// channel.
	PermanentFailures []string `json:"permanent_failures,omitempty"`
}

// RefreshDeliveryStatus asks Notify for the status of every sent notification in the
// ledger whose status is not yet final, records it in the ledger entry, and reports
// the ledger's delivery state. It can be run any number of times.
func RefreshDeliveryStatus(ctx context.Context, st store.Store, client StatusGetter, ledgerPrefix string, opts ...BatchOption) (DeliveryReport, error) {
	cfg := batchConfig{workers: DefaultWorkers}
	for _, o := range opts {
		o(&cfg)
	}
	entries, err := ReadLedger(ctx, st, ledgerPrefix)
	if err != nil {
		return DeliveryReport{}, err
	}
	var todo []int
	for i, e := range entries {
		if e.State == StateSent && e.NotificationID != "" && !notify.FinalStatus(e.DeliveryStatus) {
			todo = append(todo, i)
		}
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  int
		rep   = DeliveryReport{ByStatus: map[string]int{}}
	)
	for range min(cfg.workers, max(1, len(todo))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(todo) || first != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := todo[next]
				next++
				mu.Unlock()
				e := entries[i]
				n, err := client.Get(ctx, e.NotificationID)
				if err == nil && n.Status != e.DeliveryStatus {
					now := time.Now().UTC()
					e.DeliveryStatus, e.StatusCheckedAt = n.Status, &now
					err = writeEntry(ctx, st, ledgerPrefix, e)
				}
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("mailing: refresh status of %s: %w", e.Reference, err)
					}
				} else {
					entries[i] = e
					rep.Checked++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = fmt.Errorf("mailing: refresh delivery status %s: %w", ledgerPrefix, ctx.Err())
	}
	for _, e := range entries {
		switch {
		case e.State == StateFailed:
			rep.ByStatus["refused"]++
			rep.PermanentFailures = append(rep.PermanentFailures, e.SurveyRecordID)
		case e.DeliveryStatus == "":
			rep.ByStatus["unknown"]++
		default:
			rep.ByStatus[e.DeliveryStatus]++
			if e.DeliveryStatus == notify.StatusPermanentFailure {
				rep.PermanentFailures = append(rep.PermanentFailures, e.SurveyRecordID)
			}
		}
	}
	sort.Strings(rep.PermanentFailures)
	details := map[string]any{"ledger_prefix": ledgerPrefix, "checked": rep.Checked, "permanent_failures": len(rep.PermanentFailures)}
	for s, c := range rep.ByStatus {
		details["status_"+s] = c
	}
	audit.Record(ctx, "delivery_status_refreshed", details)
	return rep, first
}
