package notify

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter is a token bucket that keeps a client under Notify's per-key rate limit
// (3,000 requests per 60 seconds). A bucket of burst B refilled at (N−B)/window lets
// through at most N requests in any window, however they bunch up. Wait reserves a
// token before sleeping, so waiters are served in order. Share one Limiter between
// every Client in a process that uses the same API key.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewLimiter allows at most requests per window. The burst is a twentieth of the limit
// (at least 1), so a batch starts quickly without ever overshooting the window; in
// steady state it allows 94 % of the limit (3,000 per minute: 2,820).
func NewLimiter(requests int, window time.Duration) (*Limiter, error) {
	if requests < 1 || window <= 0 {
		return nil, fmt.Errorf("notify: rate limit must be at least 1 request per positive window, got %d per %s", requests, window)
	}
	burst := max(1, requests/20)
	// A hundredth of the limit is kept back: a request reserved at the very end of one
	// window may reach Notify after one reserved a window later, when many are in flight
	// at once (8 ICSs sending together met six 429s at exactly the limit).
	refill := requests - burst - requests/100
	if refill < 1 {
		refill = 1 // a limit of 1: one now, then one per window
	}
	return &Limiter{
		rate:   float64(refill) / window.Seconds(),
		burst:  float64(burst),
		tokens: float64(burst),
		now:    time.Now,
	}, nil
}

// Wait blocks until a request may be made, or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	deficit := -l.tokens
	l.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / l.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.tokens++ // give the reservation back
		l.mu.Unlock()
		return ctx.Err()
	}
}
