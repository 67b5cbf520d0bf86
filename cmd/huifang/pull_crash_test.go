package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/internal/testdb"
)

// A real crash: `huifang source pull` is killed with SIGKILL while it fetches
// page 3. The two committed pages and their watermark survive; the next run
// fetches the rest, and every job is stored exactly once.
func TestPullKilledMidRunResumesExactlyOnce(t *testing.T) {
	t.Parallel()
	const total, page = 230, 50
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	job := func(i int) map[string]any {
		return map[string]any{
			"external_id": fmt.Sprintf("K-%04d", i), "kind": "repair",
			"completed_at": base.Add(time.Duration(i/2) * time.Minute).Format(time.RFC3339),
			"phone":        fmt.Sprintf("+86139%08d", i), "region": "CN-SC", "provider_code": "CD-01",
			"product_category": "air_conditioner", "product_model": "KFR-35",
		}
	}
	var requests atomic.Int32
	var hang atomic.Bool
	hang.Store(true)
	reached := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if n == 3 && hang.Load() {
			reached <- struct{}{}
			<-r.Context().Done() // hold the request until the client dies
			return
		}
		since, _ := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
		after := r.URL.Query().Get("after_id")
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var rows []map[string]any
		for i := 0; i < total && len(rows) < limit; i++ {
			j := job(i)
			at, _ := time.Parse(time.RFC3339, j["completed_at"].(string))
			if at.After(since) || (at.Equal(since) && j["external_id"].(string) > after) {
				rows = append(rows, j)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"work_orders": rows})
	}))
	defer up.Close()

	dbURL := testdb.NewURL(t)
	env := []string{"DATABASE_URL=" + dbURL}
	if _, stderr, code := runCLI(t, env, "source", "add", "crm", "--kind", "http", "--url", up.URL+"/completed",
		"--page-size", strconv.Itoa(page)); code != 0 {
		t.Fatalf("source add: %d %s", code, stderr)
	}

	cmd := exec.Command(huifangBin(t), "source", "pull", "crm")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the pull never asked for page 3")
	}
	cmd.Process.Kill() // SIGKILL: no cleanup, no deferred code
	cmd.Wait()

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var stored int
	var wmID string
	conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM work_orders), coalesce(watermark_external_id, '')
		FROM intake_sources WHERE name = 'crm'`).Scan(&stored, &wmID)
	if stored != 2*page || wmID != fmt.Sprintf("K-%04d", 2*page-1) {
		t.Fatalf("after the crash: %d jobs stored, watermark %q; want %d and K-%04d", stored, wmID, 2*page, 2*page-1)
	}

	hang.Store(false)
	stdout, stderr, code := runCLI(t, env, "source", "pull", "crm")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	var n, distinct int
	conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT external_id) FROM work_orders`).Scan(&n, &distinct)
	if n != total || distinct != total {
		t.Fatalf("after resuming: %d jobs (%d distinct), want %d exactly once; pull said %s", n, distinct, total, stdout)
	}
}
