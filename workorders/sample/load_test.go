package sample_test

import (
	"context"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// The whole sample goes through the real intake path without a single
// rejected row, and its truth lands next to every job.
func TestLoadImportsEveryJobWithItsTruth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := &workorders.Store{Pool: testdb.New(t), Now: func() time.Time { return now }}
	src, err := st.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sample.Config{Seed: 7, Jobs: 3000, Now: now}
	res, err := sample.Load(ctx, st, src, cfg)
	if err != nil {
		t.Fatalf("load: %v; first errors: %v", err, res.Errors)
	}
	if res.Read != 3000 || res.Rejected != 0 || res.Inserted != 3000 {
		t.Fatalf("result %+v, want 3000 read and inserted", res)
	}
	jobs, _ := sample.Jobs(cfg)
	wantPlanted := 0
	for _, j := range jobs {
		if j.HasPlanted("V2") {
			wantPlanted++
		}
	}
	var truths, v2, parts int
	err = st.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE 'V2' = ANY(planted)),
		(SELECT count(*) FROM claimed_parts) FROM sample_truth`).Scan(&truths, &v2, &parts)
	if err != nil {
		t.Fatal(err)
	}
	if truths != 3000 || v2 != wantPlanted || parts == 0 {
		t.Fatalf("truth rows %d (want 3000), V2 %d (want %d), claimed parts %d", truths, v2, wantPlanted, parts)
	}
	// Loading again changes nothing.
	res, err = sample.Load(ctx, st, src, cfg)
	if err != nil || res.Unchanged != 3000 {
		t.Fatalf("second load: %+v %v, want 3000 unchanged", res, err)
	}
}
