// Command histories prints the history length and size of every workflow execution
// in a namespace, biggest first: for checking that no workflow's history grows with
// the sample (only object keys and counts pass between steps).
//
//	go run ./bench/histories -address 127.0.0.1:7233 -top 20
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"icesurvey/workflows"
)

func main() {
	addr := flag.String("address", "127.0.0.1:7233", "Temporal frontend")
	ns := flag.String("namespace", "default", "namespace")
	top := flag.Int("top", 25, "rows to print")
	status := flag.String("status", "", "instead: time the wave's status read, ICS by ICS and side by side")
	events := flag.String("events", "", "instead: the biggest events of this workflow's history")
	flag.Parse()
	ctx := context.Background()
	c, err := client.Dial(client.Options{HostPort: *addr, Namespace: *ns})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	if *status != "" {
		timeStatus(ctx, c, *status)
		return
	}
	if *events != "" {
		biggestEvents(ctx, c, *events, *top)
		return
	}
	type row struct {
		id, typ, status string
		events, bytes   int64
	}
	var rows []row
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: *ns, PageSize: 1000, NextPageToken: token})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, e := range resp.Executions {
			d, err := c.DescribeWorkflowExecution(ctx, e.Execution.WorkflowId, e.Execution.RunId)
			if err != nil {
				continue
			}
			i := d.WorkflowExecutionInfo
			rows = append(rows, row{e.Execution.WorkflowId, e.Type.Name, i.Status.String(), i.HistoryLength, i.HistorySizeBytes})
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].bytes > rows[b].bytes })
	var total int64
	for _, r := range rows {
		total += r.bytes
	}
	fmt.Printf("%d executions, %d history bytes in all\n", len(rows), total)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "events\tbytes\t  type\t  workflow id\t")
	for i, r := range rows {
		if i == *top {
			break
		}
		fmt.Fprintf(w, "%d\t%d\t  %s\t  %s (%s)\t\n", r.events, r.bytes, r.typ, r.id, r.status)
	}
	w.Flush()
}

// timeStatus reads the wave's status as waveclient.Status did before (one ICS query
// after another) and as it does now (side by side), three times each.
func timeStatus(ctx context.Context, c client.Client, wave string) {
	v, err := c.QueryWorkflow(ctx, workflows.WaveWorkflowID(wave), "", workflows.QueryStatus)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var ws workflows.WaveStatus
	if err := v.Get(&ws); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	one := func(id string) {
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus); err == nil {
			var s workflows.ICSStatus
			_ = v.Get(&s)
		}
	}
	for range 3 {
		t0 := time.Now()
		for _, ics := range ws.ICS {
			one(ics.WorkflowID)
		}
		seq := time.Since(t0)
		t0 = time.Now()
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, ics := range ws.ICS {
			wg.Add(1)
			sem <- struct{}{}
			go func() { defer func() { <-sem; wg.Done() }(); one(ics.WorkflowID) }()
		}
		wg.Wait()
		fmt.Printf("%d ICSs: one after another %s, 8 at once %s\n", len(ws.ICS), seq.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	}
}

// biggestEvents prints the top biggest events of the latest run of id.
func biggestEvents(ctx context.Context, c client.Client, id string, top int) {
	type ev struct {
		id    int64
		typ   string
		bytes int
	}
	var evs []ev
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		evs = append(evs, ev{e.EventId, e.EventType.String(), proto.Size(e)})
	}
	sort.Slice(evs, func(a, b int) bool { return evs[a].bytes > evs[b].bytes })
	fmt.Printf("%s: %d events\n", id, len(evs))
	for i, e := range evs {
		if i == top {
			break
		}
		fmt.Printf("  event %d %s: %d bytes\n", e.id, e.typ, e.bytes)
	}
}
