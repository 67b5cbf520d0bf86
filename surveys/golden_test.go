package surveys

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/huifang/huifang/internal/golden"
)

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
					golden.Check(t, name+"."+lang+"."+string(ch)+".txt", b.Bytes())
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
			golden.Check(t, "preview-"+c.name+".txt", out.Bytes())
		})
	}
}
