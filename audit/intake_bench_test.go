package audit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkIntakeChecks times the intake checks (V7, V9–V13, V15) over the
// sample: 100,000 jobs, and a million when HUIFANG_BENCH_1M is set (loading
// a million jobs takes minutes). The jobs and the sample catalog are loaded
// and the tables analysed, as autovacuum would after a bulk import, before
// the clock starts; each iteration checks every job.
func BenchmarkIntakeChecks(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("HUIFANG_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			ctx := context.Background()
			start := time.Now()
			s := intakeSampleWorld(b, n, 5)
			if _, err := s.Pool.Exec(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.Logf("loaded %d sample jobs and the catalog in %s", n, time.Since(start).Round(time.Millisecond))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					if _, err := s.Pool.Exec(ctx, `DELETE FROM flags; DELETE FROM audit_intake_checked`); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				run, err := s.RunIntakeChecks(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				if run.Jobs != n || run.Flags == 0 {
					b.Fatalf("run %+v, want %d jobs checked and flags", run, n)
				}
				if i == 0 {
					b.Logf("%+v", run)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}
