package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"icesurvey/internal/crashpoint"
	"icesurvey/worker"
	"icesurvey/workflows"
)

// Config is one crash campaign.
type Config struct {
	// Kills is the number of SIGKILLs to deliver during the wave (at least).
	Kills int
	// ICSs is the number of ICSs in the wave.
	ICSs int
	// Size names the wave: small (CI) or full.
	Size string
	// Seed drives the synthetic files and the kill schedule.
	Seed int64
	// Dir keeps the campaign's state; empty means a temporary directory removed after.
	Dir string
	// Ice is a prebuilt ice binary; empty means build one.
	Ice string
	// FailDeadAttempts makes the supervisor, after each kill, report the attempts the
	// dead worker was running as failed (RespondActivityTaskFailedById), so they are
	// retried at once instead of after their heartbeat or start-to-close timeout (one to
	// two minutes each). The retry is the same either way; only the wait differs.
	// Without it the worker started after the kill does the same itself, as every
	// `ice worker` does at start (worker.FailDeadAttempts): the production path.
	FailDeadAttempts bool
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Kill kinds: three aimed at a step in progress, and random moments.
const (
	KillSMS       = "sms-send"
	KillPrintFile = crashpoint.PrintFile
	KillWarehouse = crashpoint.WarehouseLoad
	KillRandom    = "random"
)

// kill is one SIGKILL of the worker.
type kill struct {
	N      int
	Kind   string
	Detail string
	Uptime time.Duration
	// Running are the activity attempts the server had started when the worker died.
	Running []attempt
}

// attempt is one activity attempt, as Temporal knows it.
type attempt = worker.Attempt

// where names what the worker was doing when it was killed.
func (k kill) where() string {
	if k.Kind != KillRandom {
		return k.Kind + " (aimed)"
	}
	if len(k.Running) == 0 {
		return "random: between activities"
	}
	var types []string
	seen := map[string]bool{}
	for _, a := range k.Running {
		if !seen[a.ActivityType] {
			seen[a.ActivityType] = true
			types = append(types, a.ActivityType)
		}
	}
	sort.Strings(types)
	return "random: in " + strings.Join(types, "+")
}

// quotas are the kills the campaign still owes, by kind.
type quotas map[string]int

func planQuotas(total int) quotas {
	aimed := max(1, total/6)
	q := quotas{KillSMS: aimed, KillPrintFile: aimed, KillWarehouse: aimed}
	q[KillRandom] = max(0, total-3*aimed)
	return q
}

func (q quotas) left() int {
	n := 0
	for _, v := range q {
		n += v
	}
	return n
}

// child is one run of `ice worker`.
type child struct {
	pid     int
	cmd     *commandRun
	ready   chan struct{}
	marks   chan mark
	exited  chan struct{}
	started time.Time
}

type mark struct{ point, detail string }

type commandRun struct {
	wait func() error
	kill func(sig syscall.Signal) error
}

// campaign runs the wave while killing and restarting the worker.
type campaign struct {
	cfg   Config
	w     *world
	ice   string
	rng   *rand.Rand
	log   io.Writer
	logMu sync.Mutex
	wlog  *os.File

	kills    []kill
	restarts int
	result   workflows.WaveResult
	// tempSwept counts the temporary directories of killed workers that the workers
	// started after them said they removed (guarded by logMu).
	tempSwept int
}

func (c *campaign) logf(format string, args ...any) {
	if c.log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// start runs `ice worker`, its output appended to worker.log, its crash-point marks
// and readiness reported on channels.
func (c *campaign) start() (*child, error) {
	cmd := c.w.workerCommand(c.ice, crashpoint.PrintFile+"=1500ms,"+crashpoint.WarehouseLoad+"=400ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ice worker: %w", err)
	}
	ch := &child{pid: cmd.Process.Pid, ready: make(chan struct{}), marks: make(chan mark, 64),
		exited: make(chan struct{}), started: time.Now()}
	var readyOnce sync.Once
	var pipes sync.WaitGroup
	scan := func(r io.Reader) {
		defer pipes.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			c.logMu.Lock()
			fmt.Fprintf(c.wlog, "[%d] %s\n", ch.pid, line)
			c.logMu.Unlock()
			if strings.HasPrefix(line, "worker running against") {
				readyOnce.Do(func() { close(ch.ready) })
			}
			if n, ok := sweptDirectories(line); ok {
				c.logMu.Lock()
				c.tempSwept += n
				c.logMu.Unlock()
			}
			if rest, ok := strings.CutPrefix(line, crashpoint.Marker); ok {
				f := strings.Fields(rest)
				m := mark{point: f[0]}
				if len(f) > 1 {
					m.detail = f[1]
				}
				select {
				case ch.marks <- m:
				default:
				}
			}
		}
	}
	pipes.Add(2)
	go scan(stdout)
	go scan(stderr)
	ch.cmd = &commandRun{wait: cmd.Wait, kill: func(sig syscall.Signal) error { return cmd.Process.Signal(sig) }}
	go func() {
		pipes.Wait()
		_ = cmd.Wait()
		close(ch.exited)
	}()
	return ch, nil
}

// sweptDirectories reads how many temporary directories of ended workers a starting
// worker removed, from its log line (cmd/ice, proctmp).
func sweptDirectories(line string) (int, bool) {
	if !strings.Contains(line, "removed the temporary files of ice processes") {
		return 0, false
	}
	_, n, ok := strings.Cut(line, " directories=")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(strings.Fields(n)[0])
	return k, err == nil
}

// running lists the activity attempts the server has started in the wave's open
// workflows.
func (c *campaign) running(ctx context.Context) []attempt {
	ids := []string{workflows.WaveWorkflowID(c.w.spec.WaveID)}
	for _, code := range c.w.spec.Codes() {
		ids = append(ids, workflows.ICSWorkflowID(c.w.spec.WaveID, code))
	}
	return worker.StartedAttempts(ctx, c.w.client, ids...)
}

// killChild SIGKILLs the worker and waits for it to die; then, if so configured, fails
// the attempts it was running so Temporal retries them now.
func (c *campaign) killChild(ctx context.Context, ch *child, kind, detail string) error {
	if err := ch.cmd.kill(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill worker %d: %w", ch.pid, err)
	}
	<-ch.exited
	k := kill{N: len(c.kills) + 1, Kind: kind, Detail: detail, Uptime: time.Since(ch.started).Round(time.Millisecond)}
	k.Running = c.running(ctx)
	c.kills = append(c.kills, k)
	c.logf("kill %2d  pid %d after %v  %s %s  (%d attempts running)", k.N, ch.pid, k.Uptime, k.where(), detail, len(k.Running))
	if c.cfg.FailDeadAttempts {
		for _, a := range k.Running {
			err := worker.FailAttempt(ctx, c.w.client, c.w.server.Namespace(), a, fmt.Errorf("crash campaign: worker process %d killed (SIGKILL) during attempt %d", ch.pid, a.Attempt))
			if err != nil {
				c.logf("  could not fail dead attempt %s/%s: %v", a.WorkflowID, a.ActivityID, err)
			}
		}
	}
	return nil
}

// stopChild stops the worker gracefully (SIGTERM), as an operator would.
func (c *campaign) stopChild(ch *child) {
	_ = ch.cmd.kill(syscall.SIGTERM)
	select {
	case <-ch.exited:
	case <-time.After(30 * time.Second):
		_ = ch.cmd.kill(syscall.SIGKILL)
		<-ch.exited
	}
}

// declare signs each ICS's declaration once intake has finished, retrying while the
// worker is down (an update needs a live workflow worker).
func (c *campaign) declare(ctx context.Context) {
	for _, code := range c.w.spec.Codes() {
		for ctx.Err() == nil {
			s, err := c.w.waves.ICSStatus(ctx, c.w.spec.WaveID, code)
			if err == nil && s.Declaration != nil {
				break
			}
			if err == nil && s.Stage == workflows.StageDeclaration {
				uctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				_, err = c.w.waves.Declare(uctx, c.w.spec.WaveID, code, "Chaos Campaign")
				cancel()
				if err == nil {
					c.logf("declared %s", code)
					break
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// run drives the wave to its end through the kills.
func (c *campaign) run(ctx context.Context) (time.Duration, error) {
	began := time.Now()
	if _, err := c.w.waves.StartWave(ctx, c.w.spec); err != nil {
		return 0, err
	}
	waveDone := make(chan error, 1)
	go func() {
		res, err := c.w.waves.WaitWave(ctx, c.w.spec.WaveID)
		if err == nil && res.Status.Stage != workflows.WaveCompleted {
			err = fmt.Errorf("wave ended at stage %q", res.Status.Stage)
		}
		c.result = res
		waveDone <- err
	}()
	go c.declare(ctx)

	q := planQuotas(c.cfg.Kills)
	last := ""
	for {
		ch, err := c.start()
		if err != nil {
			return 0, err
		}
		c.restarts++
		select {
		case <-ch.ready:
		case <-ch.exited:
			return 0, fmt.Errorf("ice worker %d exited before it was ready (see %s)", ch.pid, c.wlog.Name())
		case <-time.After(2 * time.Minute):
			c.stopChild(ch)
			return 0, fmt.Errorf("ice worker %d not ready after 2 minutes", ch.pid)
		}
		acceptedAtStart := c.w.notify.Stats().Accepted
		smsAfter := acceptedAtStart + 3 + c.rng.IntN(40)
		randomAt := ch.started.Add(time.Duration(1500+c.rng.IntN(3500)) * time.Millisecond)
		tick := time.NewTicker(20 * time.Millisecond)
		killed := false
		for !killed {
			select {
			case err := <-waveDone:
				tick.Stop()
				c.stopChild(ch)
				if err != nil {
					return 0, fmt.Errorf("wave %s: %w", c.w.spec.WaveID, err)
				}
				return time.Since(began), nil
			case <-ch.exited:
				tick.Stop()
				return 0, fmt.Errorf("ice worker %d died by itself (see %s)", ch.pid, c.wlog.Name())
			case m := <-ch.marks:
				if q[m.point] == 0 || m.point+m.detail == last {
					continue
				}
				// Well inside the stall: the step is under way and not yet done.
				time.Sleep(time.Duration(c.rng.IntN(150)) * time.Millisecond)
				q[m.point]--
				last = m.point + m.detail
				if err := c.killChild(ctx, ch, m.point, m.detail); err != nil {
					return 0, err
				}
				killed = true
			case <-tick.C:
				accepted := c.w.notify.Stats().Accepted
				switch {
				case q[KillSMS] > 0 && accepted >= smsAfter:
					q[KillSMS]--
					last = KillSMS
					if err := c.killChild(ctx, ch, KillSMS, fmt.Sprintf("after %d messages", accepted-acceptedAtStart)); err != nil {
						return 0, err
					}
					killed = true
				case q[KillRandom] > 0 && time.Now().After(randomAt):
					q[KillRandom]--
					last = KillRandom
					if err := c.killChild(ctx, ch, KillRandom, ""); err != nil {
						return 0, err
					}
					killed = true
				}
			}
		}
		tick.Stop()
		if q.left() == 0 {
			c.logf("all %d kills delivered; the worker now runs to the end of the wave", len(c.kills))
		}
		// A moment's pause, as a supervisor restarting a crashed process takes.
		time.Sleep(time.Duration(100+c.rng.IntN(400)) * time.Millisecond)
	}
}

// Run runs a campaign and checks what it left behind.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	sz, err := sizeNamed(cfg.Size)
	if err != nil {
		return nil, err
	}
	if cfg.ICSs < 2 {
		return nil, fmt.Errorf("-icss must be at least 2, not %d", cfg.ICSs)
	}
	if cfg.Kills < 3 {
		return nil, fmt.Errorf("-kills must be at least 3 (one of each aimed kind), not %d", cfg.Kills)
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ice-chaos-*"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	c := &campaign{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x1ce)), log: cfg.Log, ice: cfg.Ice}
	if c.ice == "" {
		c.logf("building ice …")
		if c.ice, err = buildIce(ctx, dir); err != nil {
			return nil, err
		}
	}
	if c.wlog, err = os.OpenFile(filepath.Join(dir, "worker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640); err != nil {
		return nil, err
	}
	defer c.wlog.Close()
	c.logf("starting Temporal, Notify and the DBS file drop in %s", dir)
	if c.w, err = startWorld(ctx, dir, cfg, sz); err != nil {
		return nil, err
	}
	defer c.w.close()
	c.logf("wave %s: %d ICSs of %d people, day %v, %d steps; %d kills planned", c.w.spec.WaveID, cfg.ICSs, sz.people,
		sz.dayLength, len(c.w.spec.Schedule.Steps), cfg.Kills)
	wall, err := c.run(ctx)
	if err != nil {
		return nil, err
	}
	c.logf("wave completed in %v; checking", wall.Round(time.Millisecond))
	r, err := c.verify(ctx)
	if err != nil {
		return nil, err
	}
	r.Wall = wall
	r.Restarts = c.restarts
	r.Kills = c.kills
	r.Planned = cfg.Kills
	return r, nil
}
