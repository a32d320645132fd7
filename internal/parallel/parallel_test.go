package parallel

import (
	"errors"
	"fmt"
	"testing"
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
