package parallel

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestIndexed(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got := make([]int, n)
			err := Indexed(n, func(i int) error {
				got[i] = i * i
				if i%3 == 1 {
					return fmt.Errorf("slot %d", i)
				}
				return nil
			})
			for i, v := range got {
				if v != i*i {
					t.Fatalf("slot %d = %d: not every index ran once", i, v)
				}
			}
			var want []error
			for i := 1; i < n; i += 3 {
				want = append(want, fmt.Errorf("slot %d", i))
			}
			if fmt.Sprint(err) != fmt.Sprint(errors.Join(want...)) {
				t.Fatalf("errors %v, want %v in index order", err, errors.Join(want...))
			}
		})
	}
}

// IndexedOn runs every index on the workers it is given, never more at once, and at
// least one worker when given none.
func TestIndexedOn(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 20} {
		var mu sync.Mutex
		running, most, ran := 0, 0, 0
		err := IndexedOn(workers, 12, func(int) error {
			mu.Lock()
			running++
			most = max(most, running)
			ran++
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
			return nil
		})
		if err != nil || ran != 12 || most > max(workers, 1) {
			t.Errorf("%d workers: ran %d, at most %d at once (%v)", workers, ran, most, err)
		}
	}
}
