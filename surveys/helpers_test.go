package surveys

import (
	"os"
	"path/filepath"
	"testing"
)

func shippedScript(t testing.TB, name string) *Definition {
	t.Helper()
	d, err := ShippedScript(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parseFile(t testing.TB, name string) *Definition {
	t.Helper()
	path := filepath.Join("testdata", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDefinition(path, src)
	if err != nil {
		t.Fatalf("%s does not parse:\n%v", path, err)
	}
	return d
}

func keys(s string) Input        { return Input{Kind: InputDigits, Text: s} }
func text(s string) Input        { return Input{Kind: InputText, Text: s} }
func say(s string) Input         { return Input{Kind: InputSpeech, Text: s} }
func recording(url string) Input { return Input{Kind: InputRecording, Text: url} }

var silence = Input{Kind: InputNone}

// run starts d for job on ch in lang and applies inputs in order; it fails
// the test on any error and returns the final state and step.
func run(t testing.TB, d *Definition, job *Job, ch Channel, lang string, inputs ...Input) (State, Step) {
	t.Helper()
	st, err := d.Start(job, ch, lang)
	if err != nil {
		t.Fatal(err)
	}
	step, err := d.Next(job, &st)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		o, err := d.Apply(job, st, in)
		if err != nil {
			t.Fatalf("input %d (%+v) at %s %s: %v", i, in, step.Kind, step.Question, err)
		}
		st, step = o.State, o.Step
	}
	return st, step
}

// questionsAsked lists, in order, the question (and part) of each step the
// run went through, by replaying its entries.
func questionsAsked(st State) []string {
	var out []string
	last := ""
	for _, e := range st.Entries {
		k := e.Question
		if e.Part != "" {
			k += "[" + e.Part + "]"
		}
		if k != last {
			out = append(out, k)
			last = k
		}
	}
	return out
}
