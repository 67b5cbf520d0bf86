package surveys

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
)

func TestStorePublishesVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	store := NewStore(pool)
	src, err := os.ReadFile(filepath.Join("testdata", "all_types.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) *Definition {
		t.Helper()
		d, err := ParseDefinition("all_types.yaml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	v1, err := store.Publish(ctx, parse(string(src)))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || !v1.Created || v1.Name != "all-types" || len(v1.SHA256) != 64 {
		t.Fatalf("first publish = %+v, want version 1, created", v1)
	}
	again, err := store.Publish(ctx, parse("# reformatted\n"+string(src)))
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 1 || again.Created || again.ID != v1.ID {
		t.Fatalf("same content = %+v, want version 1 again, not created", again)
	}
	v2, err := store.Publish(ctx, parse(strings.Replace(string(src), "Thanks.", "Thank you.", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || !v2.Created || v2.SHA256 == v1.SHA256 {
		t.Fatalf("changed content = %+v, want version 2", v2)
	}
	// Republishing the first content after the second is a new version: the
	// latest is what a new campaign gets.
	v3, err := store.Publish(ctx, parse(string(src)))
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 || v3.SHA256 != v1.SHA256 {
		t.Fatalf("rolled back content = %+v, want version 3 with version 1's hash", v3)
	}

	got, err := store.Get(ctx, "all-types", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.VersionID != v2.ID || got.SHA256 != v2.SHA256 || got.Closing.Get("en", SMS) != "Thank you." {
		t.Fatalf("Get version 2 = version %d id %d closing %q", got.Version, got.VersionID, got.Closing.Get("en", SMS))
	}
	latest, err := store.Latest(ctx, "all-types")
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version != 3 || latest.Closing.Get("en", SMS) != "Thanks." {
		t.Fatalf("Latest = version %d", latest.Version)
	}

	// A run records its version; a state from version 2 does not run on 3.
	job := SampleJob(JobRepair)
	st, err := got.Start(job, SMS, "en")
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 {
		t.Fatalf("state version = %d, want 2", st.Version)
	}
	if _, err := latest.Next(job, &st); err == nil {
		t.Fatal("a version 2 state ran on version 3")
	}

	for _, c := range []struct {
		name string
		err  error
	}{
		{"missing version", func() error { _, err := store.Get(ctx, "all-types", 9); return err }()},
		{"missing survey", func() error { _, err := store.Latest(ctx, "nothing-here"); return err }()},
	} {
		if !errors.Is(c.err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.name, c.err)
		}
	}
}

// Stored versions cannot be edited in place, whoever tries.
func TestStoredVersionsAreImmutable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	if _, err := NewStore(pool).Publish(ctx, shippedScript(t, "satisfaction")); err != nil {
		t.Fatal(err)
	}
	_, err := pool.Exec(ctx, `UPDATE survey_versions SET source = 'name: edited'`)
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("UPDATE: %v, want the immutability error", err)
	}
}

// Concurrent publishers of the same content agree on one version; of
// different content, they get consecutive versions without gaps or clashes.
func TestConcurrentPublish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(testdb.New(t))
	d := shippedScript(t, "install-verification")
	var wg sync.WaitGroup
	results := make(chan Published, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := store.Publish(ctx, d)
			if err != nil {
				t.Error(err)
				return
			}
			results <- p
		}()
	}
	wg.Wait()
	close(results)
	created := 0
	for p := range results {
		if p.Version != 1 {
			t.Errorf("version %d, want 1", p.Version)
		}
		if p.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d publishers created a version, want 1", created)
	}

	src := string(d.Source)
	versions := make(chan int, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changed, err := ParseDefinition("x.yaml", []byte(strings.Replace(src, "Thank you for your time.", "Thank you, caller "+itoa(int64(i))+".", 1)))
			if err != nil {
				t.Error(err)
				return
			}
			p, err := store.Publish(ctx, changed)
			if err != nil {
				t.Error(err)
				return
			}
			versions <- p.Version
		}()
	}
	wg.Wait()
	close(versions)
	seen := map[int]bool{}
	for v := range versions {
		seen[v] = true
	}
	for v := 2; v <= 6; v++ {
		if !seen[v] {
			t.Fatalf("versions %v, want 2 to 6", seen)
		}
	}
}

// LoadJob reads the survey's view of a work order from the intake tables.
func TestLoadJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	var woID int64
	err := pool.QueryRow(ctx, `
WITH src AS (INSERT INTO intake_sources (name, kind) VALUES ('test', 'file') RETURNING id),
     prov AS (INSERT INTO providers (code) VALUES ('P1') RETURNING id),
     cust AS (INSERT INTO customers (source_id, external_id, phone_e164, tz, lang)
              SELECT id, 'C1', '+8613800000000', 'Asia/Shanghai', 'zh-CN' FROM src RETURNING id, source_id)
INSERT INTO work_orders (source_id, external_id, kind, completed_at, customer_id, provider_id, brand,
                         product_category, product_model, warranty_status, currency)
SELECT cust.source_id, 'WO-77', 'repair', '2025-03-14T23:30:00Z', cust.id, prov.id, 'Acme',
       'water_heater', 'WH-60', 'in_warranty', 'CNY'
FROM cust, prov
RETURNING id`).Scan(&woID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, `
INSERT INTO claimed_parts (work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost) VALUES
  ($1, 1, 'TH-02', 'thermostat', '温控器', 1, 65.00),
  ($1, 2, 'HE-01', 'heating element', '加热管', 1, 180.00)`, woID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{itoa(woID), "WO-77"} {
		job, err := LoadJob(ctx, pool, ref)
		if err != nil {
			t.Fatal(err)
		}
		if job.Kind != JobRepair || job.Brand != "Acme" || job.Lang != "zh-CN" || job.Currency != "CNY" ||
			job.ProductName("zh-CN") != "热水器" || len(job.Parts) != 2 || job.Parts[1].UnitCost != 18000 {
			t.Fatalf("job = %+v", job)
		}
		// 23:30 UTC on the 14th is the 15th in Shanghai.
		if got := job.DateSpoken("en"); got != "March 15" {
			t.Fatalf("date = %s, want March 15", got)
		}
		if !job.CompletedAt.Equal(time.Date(2025, 3, 14, 23, 30, 0, 0, time.UTC)) {
			t.Fatalf("completed at %v", job.CompletedAt)
		}
	}
	if _, err := LoadJob(ctx, pool, "999999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v, want ErrNotFound", err)
	}
	if _, err := LoadJob(ctx, pool, "no-such-external-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing external id: %v, want ErrNotFound", err)
	}
}
