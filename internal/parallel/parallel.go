// Package parallel runs indexed work on the machine's cores with a result that does
// not depend on the schedule: the release builder and its benchmark share it.
package parallel

import (
	"errors"
	"runtime"
	"sync"
)

// Indexed runs f(0) … f(n−1) on GOMAXPROCS workers and returns the errors joined in
// index order. Each f writes only its own slot, so the result does not depend on the
// schedule.
func Indexed(n int, f func(i int) error) error {
	return IndexedOn(runtime.GOMAXPROCS(0), n, f)
}

// IndexedOn is Indexed on the given number of workers (at least one): for work that
// waits on others (queries to a server) rather than on the cores.
func IndexedOn(workers, n int, f func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
