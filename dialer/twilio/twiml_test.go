package twilio_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/golden"
	"github.com/huifang/huifang/surveys"
)

const actionURL = "https://huifang.example.com/twilio/voice/gather?attempt=42&step=3"

// A fixed path through each shipped script on a call, one entry per step
// that waits for input: keys, "" for silence, or "(recording)". Together
// they reach every kind of step the script has on a call: the intro, a
// re-ask after silence, yes/no and yes/no/unsure questions, the per-part
// loop, an amount, a rating, an NPS score, a recording, a read-back and
// the closing.
var surveyPaths = map[string][]string{
	// installed: silence, then "no", read back, "answer again", then yes;
	// charged yes (key 2) so the amount is asked.
	"install-verification": {"1", "", "2", "2", "1", "1", "2", "120", "4"},
	// visit: silence then yes; any part yes; both parts yes; charged yes.
	"repair-parts-verification": {"1", "", "1", "1", "1", "1", "2", "120", "1", "4"},
	// A detractor's NPS (5) asks for a recording.
	"satisfaction": {"1", "", "4", "5", "(recording)"},
}

const recordingURL = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Recordings/RE00000000000000000000000000000000"

// walked is one step of a run and the input the customer gives to it ("" is
// silence; the end has none).
type walked struct {
	step  surveys.Step
	input string
}

func jobFor(d *surveys.Definition) *surveys.Job {
	if d.Kind == "install" {
		return surveys.SampleJob(surveys.JobInstall)
	}
	return surveys.SampleJob(surveys.JobRepair)
}

func engineInput(in string) surveys.Input {
	switch in {
	case "":
		return surveys.Input{Kind: surveys.InputNone}
	case "(recording)":
		return surveys.Input{Kind: surveys.InputRecording, Text: recordingURL}
	}
	return surveys.Input{Kind: surveys.InputDigits, Text: in}
}

// walk runs d on a call in lang with inputs and returns every step, the
// last one being the end.
func walk(t *testing.T, d *surveys.Definition, lang string, inputs []string) []walked {
	t.Helper()
	job := jobFor(d)
	st, err := d.Start(job, surveys.Voice, lang)
	if err != nil {
		t.Fatal(err)
	}
	step, err := d.Next(job, &st)
	if err != nil {
		t.Fatal(err)
	}
	var out []walked
	for i, in := range inputs {
		if step.Kind == surveys.StepEnd {
			t.Fatalf("%s/%s: the survey ended after %d of %d inputs", d.Name, lang, i, len(inputs))
		}
		out = append(out, walked{step: step, input: in})
		o, err := d.Apply(job, st, engineInput(in))
		if err != nil {
			t.Fatalf("%s/%s input %d %q: %v", d.Name, lang, i, in, err)
		}
		st, step = o.State, o.Step
	}
	if step.Kind != surveys.StepEnd {
		t.Fatalf("%s/%s: the path ends at %s %s, not at the end", d.Name, lang, step.Kind, step.Question)
	}
	return append(out, walked{step: step})
}

func shipped(t *testing.T) map[string]*surveys.Definition {
	t.Helper()
	defs, err := surveys.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for name := range surveyPaths {
		if defs[name] == nil {
			t.Fatalf("no shipped script %s", name)
		}
	}
	if len(defs) != len(surveyPaths) {
		t.Fatalf("%d shipped scripts but paths for %d: give every script a path", len(defs), len(surveyPaths))
	}
	return defs
}

func describe(s surveys.Step) string {
	d := string(s.Kind)
	if s.Question != "" {
		d += " " + s.Question
	}
	if s.Part != nil {
		d += "[" + s.Part.Code + "]"
	}
	if s.Level > 0 {
		d += fmt.Sprintf(" (re-asked, level %d)", s.Level)
	}
	if s.Kind == surveys.StepEnd {
		d += " (" + string(s.End) + ")"
	}
	return d
}

func describeInput(in string) string {
	switch in {
	case "":
		return "silence"
	case "(recording)":
		return "a recording"
	}
	return "keys " + in
}

// The TwiML of every step of a fixed path through each shipped script, in
// both languages, then of an opt-out at the intro: what reviewers read, and
// valid TwiML.
func TestRenderStepGolden(t *testing.T) {
	t.Parallel()
	for name, d := range shipped(t) {
		for _, lang := range []string{"en", "zh-CN"} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				t.Parallel()
				var b bytes.Buffer
				fmt.Fprintf(&b, "<!-- %s version %d, voice, %s; action URL %s -->\n", d.Name, d.Version, lang, actionURL)
				steps := append(walk(t, d, lang, surveyPaths[name]), walk(t, d, lang, []string{"9"})...)
				for i, w := range steps {
					doc, err := twilio.RenderStep(w.step, actionURL)
					if err != nil {
						t.Fatalf("%s: %v", describe(w.step), err)
					}
					if err := validTwiML(doc); err != nil {
						t.Fatalf("%s: %v\n%s", describe(w.step), err, doc)
					}
					then := ""
					if w.step.Kind != surveys.StepEnd {
						then = "; the customer answers with " + describeInput(w.input)
					}
					fmt.Fprintf(&b, "\n<!-- %d. %s%s -->\n%s", i+1, describe(w.step), then, doc)
				}
				golden.Check(t, name+"."+lang+".xml", b.Bytes())
			})
		}
	}
}

func TestRenderStep(t *testing.T) {
	t.Parallel()
	zh := surveys.Say{Voice: "Polly.Zhiyu", Language: "cmn-CN"}
	en := surveys.Say{Voice: "Polly.Joanna", Language: "en-US"}
	for _, tc := range []struct {
		name string
		step surveys.Step
		want []string // substrings the document must hold, in order
		not  []string // substrings it must not hold
	}{
		{
			name: "a yes/no question with speech",
			step: surveys.Step{Kind: surveys.StepQuestion, Question: "fixed", Prompt: "故障现在是否已排除？是请按1，否请按2。", Say: zh,
				Expect: surveys.Expect{Input: surveys.ExpectKeys, NumDigits: 1, FinishOnKey: "#", TimeoutSeconds: 6,
					Speech: true, SpeechLanguage: "cmn-Hans-CN", Hints: []string{"是", "不是"}, OptOutKey: "9"}},
			want: []string{`<Response>`, `<Gather input="dtmf speech" numDigits="1" finishOnKey="#" timeout="6" action="https://huifang.example.com/twilio/voice/gather?attempt=42&amp;step=3" method="POST" actionOnEmptyResult="true" language="cmn-Hans-CN" hints="是, 不是" speechTimeout="auto">`,
				`<Say voice="Polly.Zhiyu" language="cmn-CN">故障现在是否已排除？是请按1，否请按2。</Say>`, `</Gather>`, `</Response>`},
		},
		{
			name: "keys only: no speech attributes",
			step: surveys.Step{Kind: surveys.StepIntro, Prompt: "Press 1 to continue.", Say: en,
				Expect: surveys.Expect{Input: surveys.ExpectKeys, NumDigits: 1, FinishOnKey: "#", TimeoutSeconds: 6}},
			want: []string{`<Gather input="dtmf" numDigits="1" finishOnKey="#" timeout="6" action=`, `<Say voice="Polly.Joanna" language="en-US">Press 1 to continue.</Say>`},
			not:  []string{"speech\"", "speechTimeout", "hints"},
		},
		{
			name: "an amount: # ends it, no numDigits",
			step: surveys.Step{Kind: surveys.StepQuestion, Question: "amount", Type: surveys.TypeAmount, Prompt: "Please enter the amount you paid, then press the pound key.", Say: en,
				Expect: surveys.Expect{Input: surveys.ExpectKeys, FinishOnKey: "#", TimeoutSeconds: 10, Speech: true, SpeechLanguage: "en-US"}},
			want: []string{`<Gather input="dtmf speech" finishOnKey="#" timeout="10" action=`, `language="en-US" speechTimeout="auto">`},
			not:  []string{"numDigits", "hints"},
		},
		{
			name: "a recording: Say, Record, and a Redirect for silence",
			step: surveys.Step{Kind: surveys.StepQuestion, Question: "improve", Type: surveys.TypeFreeText, Prompt: "After the tone, tell us.", Say: en,
				Expect: surveys.Expect{Input: surveys.ExpectRecording, FinishOnKey: "#", TimeoutSeconds: 6, MaxLength: 60}},
			want: []string{`<Say voice="Polly.Joanna" language="en-US">After the tone, tell us.</Say>`,
				`<Record action="https://huifang.example.com/twilio/voice/gather?attempt=42&amp;step=3" method="POST" timeout="6" maxLength="60" finishOnKey="#" playBeep="true"></Record>`,
				`<Redirect method="POST">https://huifang.example.com/twilio/voice/gather?attempt=42&amp;step=3</Redirect>`},
			not: []string{"Gather"},
		},
		{
			name: "the end: the closing, then Hangup",
			step: surveys.Step{Kind: surveys.StepEnd, End: surveys.EndCompleted, Prompt: "感谢您的配合，再见。", Say: zh, Expect: surveys.Expect{Input: surveys.ExpectNothing}},
			want: []string{`<Say voice="Polly.Zhiyu" language="cmn-CN">感谢您的配合，再见。</Say>`, `<Hangup></Hangup>`},
			not:  []string{"Gather", "action"},
		},
		{
			name: "an opt-out: its confirmation, then Hangup",
			step: surveys.Step{Kind: surveys.StepEnd, End: surveys.EndOptedOut, Prompt: "You won't receive these calls again. Goodbye.", Say: en, Expect: surveys.Expect{Input: surveys.ExpectNothing}},
			want: []string{`<Say voice="Polly.Joanna" language="en-US">You won&#39;t receive these calls again. Goodbye.</Say>`, `<Hangup></Hangup>`},
		},
		{
			name: "an end with nothing to say: Hangup alone",
			step: surveys.Step{Kind: surveys.StepEnd, End: surveys.EndNoResponse, Say: en, Expect: surveys.Expect{Input: surveys.ExpectNothing}},
			want: []string{"<Response>\n  <Hangup></Hangup>\n</Response>"},
			not:  []string{"Say"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := twilio.RenderStep(tc.step, actionURL)
			if err != nil {
				t.Fatal(err)
			}
			if err := validTwiML(doc); err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			s := string(doc)
			if !strings.HasPrefix(s, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Response>") {
				t.Errorf("document does not start with the XML declaration and <Response>:\n%s", s)
			}
			rest := s
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("missing (or out of order): %s\nin:\n%s", w, s)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tc.not {
				if strings.Contains(s, n) {
					t.Errorf("holds %q:\n%s", n, s)
				}
			}
		})
	}
}

// Whatever a prompt holds, the <Say> speaks exactly it.
func TestRenderStepEscapes(t *testing.T) {
	t.Parallel()
	prompt := `Press 1 if "A & B" <both> came; it's 5 > 4. 按1确认。`
	hints := []string{`"quoted"`, "a&b", "<x>"}
	doc, err := twilio.RenderStep(surveys.Step{Kind: surveys.StepQuestion, Prompt: prompt,
		Say:    surveys.Say{Voice: "Polly.Joanna", Language: "en-US"},
		Expect: surveys.Expect{Input: surveys.ExpectKeys, NumDigits: 1, TimeoutSeconds: 6, Speech: true, SpeechLanguage: "en-US", Hints: hints},
	}, actionURL)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Gather struct {
			Action string `xml:"action,attr"`
			Hints  string `xml:"hints,attr"`
			Say    string `xml:"Say"`
		}
	}
	if err := xml.Unmarshal(doc, &got); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if got.Gather.Say != prompt || got.Gather.Hints != strings.Join(hints, ", ") || got.Gather.Action != actionURL {
		t.Fatalf("read back %+v\nfrom:\n%s", got.Gather, doc)
	}
}

func TestRenderStepRefuses(t *testing.T) {
	t.Parallel()
	keys := surveys.Step{Kind: surveys.StepQuestion, Question: "q", Prompt: "Press 1.", Expect: surveys.Expect{Input: surveys.ExpectKeys, NumDigits: 1}}
	for _, tc := range []struct {
		name   string
		step   surveys.Step
		action string
	}{
		{"an SMS step", surveys.Step{Kind: surveys.StepQuestion, Prompt: "Reply 1-5", Expect: surveys.Expect{Input: surveys.ExpectText}}, actionURL},
		{"an unknown input", surveys.Step{Kind: surveys.StepQuestion, Expect: surveys.Expect{Input: "telepathy"}}, actionURL},
		{"a Gather without an action", keys, ""},
		{"a relative action", keys, "/twilio/voice/gather"},
		{"a Record without an action", surveys.Step{Kind: surveys.StepQuestion, Expect: surveys.Expect{Input: surveys.ExpectRecording}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if doc, err := twilio.RenderStep(tc.step, tc.action); err == nil {
				t.Fatalf("rendered:\n%s", doc)
			}
		})
	}
}

// What Twilio documents for the verbs Huifang emits
// (https://www.twilio.com/docs/voice/twiml/…): the verbs a <Response> and
// a <Gather> may hold, and every attribute of each verb.
var (
	twimlChildren = map[string][]string{
		"Response": {"Connect", "Dial", "Enqueue", "Gather", "Hangup", "Leave", "Pause", "Pay", "Play", "Record", "Redirect", "Refer", "Reject", "Say", "Start", "Stop"},
		"Gather":   {"Pause", "Play", "Say"},
	}
	twimlAttrs = map[string][]string{
		"Response": {},
		"Say":      {"voice", "language", "loop"},
		"Gather": {"action", "actionOnEmptyResult", "debug", "dtmfDetection", "enhanced", "finishOnKey", "hints", "input", "language",
			"method", "numDigits", "partialResultCallback", "partialResultCallbackMethod", "profanityFilter", "speechModel",
			"speechTimeout", "timeout"},
		"Record": {"action", "finishOnKey", "maxLength", "method", "playBeep", "recordingChannels", "recordingStatusCallback",
			"recordingStatusCallbackEvent", "recordingStatusCallbackMethod", "storageUrl", "storageUrlMethod", "timeout", "transcribe",
			"transcribeCallback", "trim"},
		"Redirect": {"method"},
		"Hangup":   {},
	}
	// The <Say> voices the shipped scripts use and the language each speaks,
	// from Twilio's text-to-speech voice table.
	sayVoices    = map[string]string{"Polly.Joanna": "en-US", "Polly.Zhiyu": "cmn-CN"}
	sayLanguages = []string{"en-US", "cmn-CN"}
	// The <Gather language> values the shipped scripts use, from Twilio's
	// speech recognition language table.
	gatherLanguages = []string{"en-US", "cmn-Hans-CN"}
)

type node struct {
	name     string
	attrs    map[string]string
	text     string
	children []*node
}

func parseXML(doc []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var root *node
	var stack []*node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: map[string]string{}}
			if t.Name.Space != "" {
				return nil, fmt.Errorf("<%s> has namespace %q", t.Name.Local, t.Name.Space)
			}
			for _, a := range t.Attr {
				if _, dup := n.attrs[a.Name.Local]; dup || a.Name.Space != "" {
					return nil, fmt.Errorf("<%s>: attribute %s:%s repeated or namespaced", n.name, a.Name.Space, a.Name.Local)
				}
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

// validTwiML checks a document against what Twilio documents: well-formed
// XML, <Response> at the root, verbs where they may be nested, only
// documented attributes, and values of the documented form.
func validTwiML(doc []byte) error {
	root, err := parseXML(doc)
	if err != nil {
		return fmt.Errorf("not well-formed XML: %w", err)
	}
	if root.name != "Response" {
		return fmt.Errorf("root is <%s>, not <Response>", root.name)
	}
	if len(root.children) == 0 {
		return errors.New("<Response> is empty")
	}
	for i, v := range root.children {
		if v.name == "Hangup" && i != len(root.children)-1 {
			return errors.New("verbs after <Hangup> never run")
		}
	}
	return checkNode(root)
}

var voiceName = regexp.MustCompile(`^(man|woman|alice|Polly\.[A-Z][a-z]+(-Neural|-Generative)?|Google\.[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9-]+)$`)

func absoluteTo(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && u.Host != ""
}

func checkNode(n *node) error {
	attrs, known := twimlAttrs[n.name]
	if !known {
		return fmt.Errorf("<%s> is not a verb this test knows", n.name)
	}
	for a, v := range n.attrs {
		if !slices.Contains(attrs, a) {
			return fmt.Errorf("<%s %s>: not a documented attribute of <%s>", n.name, a, n.name)
		}
		if err := checkValue(n.name, a, v); err != nil {
			return fmt.Errorf("<%s %s=%q>: %v", n.name, a, v, err)
		}
	}
	for _, c := range n.children {
		if !slices.Contains(twimlChildren[n.name], c.name) {
			return fmt.Errorf("<%s> cannot hold <%s>", n.name, c.name)
		}
		if err := checkNode(c); err != nil {
			return err
		}
	}
	text := strings.TrimSpace(n.text)
	switch n.name {
	case "Say":
		if text == "" {
			return errors.New("<Say> has no text")
		}
		if v, l := n.attrs["voice"], n.attrs["language"]; v != "" && l != "" && sayVoices[v] != "" && sayVoices[v] != l {
			return fmt.Errorf("<Say voice=%q> speaks %s, not %s", v, sayVoices[v], l)
		}
	case "Redirect":
		if !absoluteTo(text) {
			return fmt.Errorf("<Redirect> to %q: not an absolute URL", text)
		}
	case "Gather":
		if n.attrs["action"] == "" {
			return errors.New("<Gather> without an action posts to the document's own URL")
		}
		if n.attrs["actionOnEmptyResult"] != "true" {
			return errors.New("<Gather> without actionOnEmptyResult=\"true\": silence would never reach the engine")
		}
		speech := strings.Contains(n.attrs["input"], "speech")
		for _, a := range []string{"language", "hints", "speechTimeout"} {
			if _, ok := n.attrs[a]; ok && !speech {
				return fmt.Errorf("<Gather %s> without speech input", a)
			}
		}
		if speech && n.attrs["language"] == "" {
			return errors.New("<Gather input=speech> without a language recognises en-US")
		}
		fallthrough
	default:
		if text != "" {
			return fmt.Errorf("<%s> holds text %q", n.name, text)
		}
	}
	return nil
}

func checkValue(verb, attr, v string) error {
	positive := func() error {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			return errors.New("not a whole number from 1")
		}
		return nil
	}
	switch attr {
	case "method":
		if v != "POST" && v != "GET" {
			return errors.New("not POST or GET")
		}
	case "action":
		if !absoluteTo(v) {
			return errors.New("not an absolute URL")
		}
	case "actionOnEmptyResult", "playBeep":
		if v != "true" && v != "false" {
			return errors.New("not true or false")
		}
	case "numDigits", "timeout", "maxLength", "loop":
		return positive()
	case "input":
		if !slices.Contains([]string{"dtmf", "speech", "dtmf speech", "speech dtmf"}, v) {
			return errors.New("not dtmf, speech or both")
		}
	case "finishOnKey":
		if strings.Trim(v, "0123456789*#") != "" || (verb == "Gather" && len(v) > 1) {
			return errors.New("not a key Twilio accepts here")
		}
	case "speechTimeout":
		if v != "auto" {
			return positive()
		}
	case "hints":
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h == "" || len([]rune(h)) > 100 {
				return fmt.Errorf("hint %q: empty or over 100 characters", h)
			}
		}
	case "voice":
		if !voiceName.MatchString(v) {
			return errors.New("not a voice name of Twilio's table")
		}
	case "language":
		if verb == "Gather" && !slices.Contains(gatherLanguages, v) {
			return errors.New("not a speech recognition language the scripts use")
		}
		if verb == "Say" && !slices.Contains(sayLanguages, v) {
			return errors.New("not a text-to-speech language the scripts use")
		}
	}
	return nil
}

// recorder is a customer who answers with fixed responses and keeps every
// prompt the simulator gave them: what the simulator's TwiML interpreter
// read from our <Gather> and <Record>.
type recorder struct {
	twiliosim.Script
	mu      sync.Mutex
	prompts []twiliosim.Prompt
}

func (r *recorder) Respond(p twiliosim.Prompt) twiliosim.Response {
	r.mu.Lock()
	r.prompts = append(r.prompts, p)
	r.mu.Unlock()
	return r.Script.Respond(p)
}

// personaResponse is what the customer does at a step for one path input:
// keys with # after them when the Gather does not stop by itself.
func personaResponse(s surveys.Step, in string) twiliosim.Response {
	switch {
	case in == "":
		return twiliosim.Response{}
	case in == "(recording)":
		return twiliosim.Response{Speech: "The technician was late.", Digits: "#"}
	case s.Expect.NumDigits == 0 || len(in) < s.Expect.NumDigits:
		return twiliosim.Response{Digits: in + "#"}
	}
	return twiliosim.Response{Digits: in}
}

// The simulator's TwiML interpreter runs the TwiML of every step of each
// shipped script's path as one call: it says every prompt in the step's
// voice and language, waits with the Gather attributes the engine asked
// for, posts the customer's keys (and silence) to the action, and flags
// nothing.
func TestSimulatorRunsRenderedSteps(t *testing.T) {
	t.Parallel()
	for name, d := range shipped(t) {
		for _, lang := range []string{"en", "zh-CN"} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				t.Parallel()
				steps := walk(t, d, lang, surveyPaths[name])
				persona := &recorder{}
				for _, w := range steps[:len(steps)-1] {
					persona.Responses = append(persona.Responses, personaResponse(w.step, w.input))
				}
				const to = "+8613800138000"
				sim, err := twiliosim.Start(twiliosim.Options{Speed: 1000, Personas: map[string]twiliosim.Persona{to: persona}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sim.Close() })

				var mu sync.Mutex
				var posts []url.Values // the action posts, in order
				var app *httptest.Server
				served := 0
				mux := http.NewServeMux()
				mux.HandleFunc("POST /voice", func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					defer mu.Unlock()
					if r.URL.Query().Get("step") != "" {
						posts = append(posts, r.PostForm)
					}
					if served >= len(steps) {
						http.Error(w, "no more steps", http.StatusNotFound)
						return
					}
					doc, err := twilio.RenderStep(steps[served].step, app.URL+"/voice?step="+strconv.Itoa(served+1))
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					served++
					w.Header().Set("Content-Type", "text/xml")
					w.Write(doc)
				})
				// The verifier needs the app's URL before the app serves.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				v, err := twilio.NewVerifier(sim.AuthToken(), "http://"+ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				app = &httptest.Server{Listener: ln, Config: &http.Server{Handler: v.Wrap(mux)}}
				app.Start()
				t.Cleanup(app.Close)

				hc, err := twiliosim.NewHTTPClient(sim.URL())
				if err != nil {
					t.Fatal(err)
				}
				carrier := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				sid, err := carrier.PlaceCall(ctx, dialer.CallRequest{To: to, From: "+15005550006", URL: app.URL + "/voice", Ring: 20 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				rec, err := sim.WaitCall(ctx, sid)
				if err != nil {
					t.Fatal(err)
				}

				if p := rec.Problems(); len(p) != 0 {
					t.Fatalf("the simulator flagged the TwiML: %+v", p)
				}
				if rec.Status != "completed" || rec.HungUpBy != twiliosim.ByTwiML {
					t.Fatalf("call ended %s, hung up by %q; want completed by the TwiML's <Hangup>", rec.Status, rec.HungUpBy)
				}
				var says []twiliosim.Step
				for _, s := range rec.Steps {
					if s.Verb == "Say" {
						says = append(says, s)
					}
				}
				if len(says) != len(steps) {
					t.Fatalf("the call said %d things, want one per step (%d): %q", len(says), len(steps), rec.Said())
				}
				for i, w := range steps {
					if s := says[i]; s.Text != w.step.Prompt || s.Voice != w.step.Say.Voice || s.Language != w.step.Say.Language {
						t.Errorf("step %d (%s): said %q in %s/%s, want %q in %s/%s", i+1, describe(w.step),
							s.Text, s.Voice, s.Language, w.step.Prompt, w.step.Say.Voice, w.step.Say.Language)
					}
				}
				if last := rec.Steps[len(rec.Steps)-1]; last.Verb != "Hangup" {
					t.Errorf("the call's last step is %s, want Hangup", last.Verb)
				}

				asks := steps[:len(steps)-1]
				if len(persona.prompts) != len(asks) {
					t.Fatalf("the customer was prompted %d times, want %d", len(persona.prompts), len(asks))
				}
				for i, w := range asks {
					p, e := persona.prompts[i], w.step.Expect
					if p.Text != w.step.Prompt {
						t.Errorf("prompt %d heard %q, want %q", i+1, p.Text, w.step.Prompt)
					}
					if e.Input == surveys.ExpectRecording {
						if p.Kind != twiliosim.RecordPrompt || p.FinishOnKey != e.FinishOnKey || p.Timeout != time.Duration(e.TimeoutSeconds)*time.Second {
							t.Errorf("prompt %d (%s): %+v, want a Record with finishOnKey %q, timeout %d s", i+1, describe(w.step), p, e.FinishOnKey, e.TimeoutSeconds)
						}
						continue
					}
					input := []string{"dtmf"}
					if e.Speech {
						input = append(input, "speech")
					}
					if p.Kind != twiliosim.GatherPrompt || !slices.Equal(p.Input, input) || p.NumDigits != e.NumDigits ||
						p.FinishOnKey != e.FinishOnKey || p.Timeout != time.Duration(e.TimeoutSeconds)*time.Second {
						t.Errorf("prompt %d (%s): the simulator read Gather %v, numDigits %d, finishOnKey %q, timeout %s; want %v, %d, %q, %d s",
							i+1, describe(w.step), p.Input, p.NumDigits, p.FinishOnKey, p.Timeout, input, e.NumDigits, e.FinishOnKey, e.TimeoutSeconds)
					}
				}

				mu.Lock()
				defer mu.Unlock()
				if len(posts) != len(asks) {
					t.Fatalf("the action got %d posts, want one per step that waits (%d)", len(posts), len(asks))
				}
				for i, w := range asks {
					f := posts[i]
					switch {
					case w.input == "(recording)":
						if f.Get("RecordingUrl") == "" {
							t.Errorf("post %d after a recording has no RecordingUrl: %v", i+1, f)
						}
					case !f.Has("Digits") || f.Get("Digits") != w.input:
						t.Errorf("post %d (%s, customer gave %s): Digits = %q (present %v)", i+1, describe(w.step), describeInput(w.input), f.Get("Digits"), f.Has("Digits"))
					}
				}
			})
		}
	}
}
