package campaigns_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
)

// FuzzParseDefinition feeds arbitrary bytes to the YAML parser. Whatever it
// gets, it returns a definition or errors that each name the file, a real
// line and column, a rule and a message — never a panic. A definition it
// accepts passes Validate, previews its schedule, and its canonical JSON
// reads back through the API parser to the same bytes.
func FuzzParseDefinition(f *testing.F) {
	files, _ := filepath.Glob("testdata/campaigns/*.yaml")
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "attempts: {max: 2, per_day: 3, ring: 10s, spacing: {busy: 1d2h}}\n"))
	f.Add([]byte(minimal + "window:\n  hours:\n    mon-fri: [\"09:00-12:00\", \"14:00-20:00\"]\n  holidays: [\"2026-10-01\"]\n"))
	f.Add([]byte("name: c1\nsurvey: s1\nschedule: \"TZ=UTC\"\nfrom: [+8613800138000]\ntime_zone: Asia/Shanghai\n"))
	f.Add([]byte("{name: c1, survey: s1, schedule: '0 9 * * 1-5', from: ['+12025550143'], pace: .inf}"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := campaigns.ParseDefinition("fuzz.yaml", src)
		if err != nil {
			if d != nil {
				t.Fatal("a definition came back with errors")
			}
			var es campaigns.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error without positions: %T %v", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" || e.Line < 1 || e.Col < 1 || e.Rule == "" || e.Msg == "" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed, but Validate says:\n%v", err)
		}
		if _, err := d.NextRuns(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), 3); err != nil {
			t.Fatalf("parsed, but NextRuns: %v", err)
		}
		b, err := d.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		back, err := campaigns.ParseDefinitionJSON(b)
		if err != nil {
			t.Fatalf("canonical JSON rejected:\n%v\n%s", err, b)
		}
		b2, err := back.Canonical()
		if err != nil || string(b2) != string(b) {
			t.Fatalf("canonical JSON changed on a round trip:\n%s\n%s", b, b2)
		}
	})
}

// FuzzParseDefinitionJSON does the same for API bodies: FieldErrors whose
// pointers are well formed, never a panic, and a stable canonical form.
func FuzzParseDefinitionJSON(f *testing.F) {
	f.Add([]byte(minimalJSON + `}`))
	f.Add([]byte(minimalJSON + `,"attempts":{"max":3,"spacing":{"busy":"30m"}},"window":{"hours":{"daily":["09:00-12:00"]}}}`))
	f.Add([]byte(minimalJSON + `,"a/b":[1,{"c":null}],"pace":1e400}`))
	f.Add([]byte(`{"name":"c1",}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := campaigns.ParseDefinitionJSON(data)
		if err != nil {
			var es campaigns.FieldErrors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error without pointers: %T %v", err, err)
			}
			for _, e := range es {
				if e.Pointer != "" && !strings.HasPrefix(e.Pointer, "/") || e.Rule == "" || e.Msg == "" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		b, err := d.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		back, err := campaigns.ParseDefinitionJSON(b)
		if err != nil {
			t.Fatalf("canonical JSON rejected:\n%v\n%s", err, b)
		}
		if b2, _ := back.Canonical(); string(b2) != string(b) {
			t.Fatalf("canonical JSON changed on a round trip:\n%s\n%s", b, b2)
		}
	})
}
