package twilio_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/internal/golden"
)

// The voicemail left on an answering machine: the brand and the callback
// number read digit by digit, nothing about the job, in valid TwiML that
// hangs up after it.
func TestRenderVoicemail(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	for _, tc := range []struct {
		brand, lang, number, voice, sayLang string
		wantDigits                          string
	}{
		{"Qinfeng", "zh-CN", "+864008881234", "Polly.Zhiyu", "cmn-CN", "4 0 0, 8 8 8, 1 2 3 4"},
		{"Northwind", "en", "+14155550100", "Polly.Joanna", "en-US", "4 1 5, 5 5 5, 0 1 0 0"},
		{"", "en", "+14155550100", "", "", "4 1 5, 5 5 5, 0 1 0 0"},
	} {
		vm := dialer.VoicemailFor(tc.brand, tc.lang, tc.number)
		vm.Voice, vm.Language = tc.voice, tc.sayLang
		if !strings.Contains(vm.Text, tc.wantDigits) {
			t.Errorf("%s voicemail %q does not read the number as %q", tc.lang, vm.Text, tc.wantDigits)
		}
		if tc.brand != "" && !strings.Contains(vm.Text, tc.brand) {
			t.Errorf("%s voicemail %q does not name the brand %s", tc.lang, vm.Text, tc.brand)
		}
		doc, err := twilio.RenderVoicemail(vm)
		if err != nil {
			t.Fatal(err)
		}
		if err := validTwiML(doc); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if !bytes.Contains(doc, []byte("<Hangup></Hangup>")) {
			t.Errorf("voicemail TwiML does not hang up:\n%s", doc)
		}
		b.Write(doc)
	}
	golden.Check(t, "voicemail.xml", b.Bytes())
}

func TestSpokenNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+864008881234":  "4 0 0, 8 8 8, 1 2 3 4",
		"+8613800138000": "1 3 8, 0 0 1 3, 8 0 0 0",
		"+14155550100":   "4 1 5, 5 5 5, 0 1 0 0",
		"not a number":   "",
	} {
		if got := dialer.SpokenNumber(in); got != want {
			t.Errorf("SpokenNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
