package stat

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrentUse runs the estimate and the intervals of one MannWhitney
// from several goroutines at once (run with -race): every goroutine must see
// the results of a fresh, unshared value.
func TestConcurrentUse(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	x, y := latencySample(r, 400, 0.02), latencySample(r, 380, 0)
	ref, err := NewMannWhitney(x, y)
	if err != nil {
		t.Fatal(err)
	}
	wantEst := ref.Estimate()
	wantLo, wantHi, err := ref.Interval(0.95)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := NewMannWhitney(x, y)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if g%2 == 0 {
					if got := shared.Estimate(); got != wantEst {
						errs <- "estimate differs"
						return
					}
				}
				lo, hi, err := shared.Interval(0.95)
				if err != nil || lo != wantLo || hi != wantHi {
					errs <- "interval differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
