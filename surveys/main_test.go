package surveys

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// TestMain shortens the fuzzer's default budget for minimising each input
// that adds coverage from 60 s to 5 s. Go minimises such inputs by deleting
// every subset of their bytes — quadratic in their length — so one survey
// file of a few kilobytes would otherwise hold a worker for a whole minute
// and a 60-second run would be spent minimising rather than exploring. It
// changes nothing but the fuzzer's time budget, and an explicit
// -fuzzminimizetime on the command line still wins.
func TestMain(m *testing.M) {
	if err := flag.Set("test.fuzzminimizetime", "5s"); err != nil {
		fmt.Fprintln(os.Stderr, "surveys tests: cannot set the fuzz minimisation budget:", err)
	}
	os.Exit(m.Run())
}
