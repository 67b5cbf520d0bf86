package surveys

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./surveys/ -run %s -update to create it)", err, t.Name())
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", path, i+1, g, w)
		}
	}
}

// Every wording of every shipped script, in both languages and on both
// channels, rendered for the sample job: what a reviewer approves.
func TestRenderShippedScripts(t *testing.T) {
	t.Parallel()
	defs, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range defs {
		kind := JobRepair
		if d.Kind == "install" {
			kind = JobInstall
		}
		for _, lang := range []string{"en", "zh-CN"} {
			for _, ch := range []Channel{Voice, SMS} {
				t.Run(name+"/"+lang+"/"+string(ch), func(t *testing.T) {
					var b bytes.Buffer
					if err := d.RenderScript(&b, SampleJob(kind), ch, lang); err != nil {
						t.Fatal(err)
					}
					if ch == SMS && strings.Contains(b.String(), "segments,") {
						t.Fatalf("an SMS text takes more than one segment:\n%s", b.String())
					}
					golden(t, name+"."+lang+"."+string(ch)+".txt", b.Bytes())
				})
			}
		}
	}
}

// Preview sessions as a customer would type them.
func TestPreviewTranscripts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script string
		kind   JobKind
		ch     Channel
		lang   string
		input  string
	}{
		{"repair-voice-en", "repair-parts-verification", JobRepair, Voice, "en", "1\n1\n\n1\n1\n3\n2\n120\n7\nyes\n4\n"},
		{"repair-sms-zh", "repair-parts-verification", JobRepair, SMS, "zh-CN", "是的\n1\n对\n不是\n帮助\n五十元\n修好了\n5分\n"},
		{"install-sms-en-optout", "install-verification", JobInstall, SMS, "en", "Y\n\nSTOP\n"},
		{"satisfaction-voice-zh-hangup", "satisfaction", JobInstall, Voice, "zh-CN", "1\n2\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := shippedScript(t, c.script)
			var out bytes.Buffer
			if _, err := d.Preview(context.Background(), strings.NewReader(c.input), &out, SampleJob(c.kind), c.ch, c.lang); err != nil {
				t.Fatal(err)
			}
			golden(t, "preview-"+c.name+".txt", out.Bytes())
		})
	}
}
