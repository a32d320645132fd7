package web

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets, one per key (a client address or a user name),
// forgotten once they have refilled.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLimiter(l RateLimit) *limiter {
	return &limiter{limit: l, buckets: map[string]*rate.Limiter{}}
}

// allow takes one token for key at now; when none is left it says how long to wait.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Every(l.limit.Every), l.limit.Burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, time.Duration(math.Ceil(d.Seconds())) * time.Second
	}
	return true, 0
}

// blocked says, without taking a token, whether key's bucket is empty at now and how
// long until it holds one again.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - tokens) * float64(l.limit.Every))
	return true, time.Duration(math.Ceil(wait.Seconds())) * time.Second
}

// sweep forgets full buckets at most once a minute, so the map does not grow with every
// address that ever tried.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.limit.Burst) {
			delete(l.buckets, k)
		}
	}
}
