package twilio

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/huifang/huifang/surveys"
)

// The TwiML of one survey step. Element and attribute names are Twilio's
// (https://www.twilio.com/docs/voice/twiml); encoding/xml escapes every text
// and attribute value, so a prompt or a hint can hold any character.

type twimlResponse struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

type twimlSay struct {
	XMLName  xml.Name `xml:"Say"`
	Voice    string   `xml:"voice,attr,omitempty"`
	Language string   `xml:"language,attr,omitempty"`
	Text     string   `xml:",chardata"`
}

type twimlGather struct {
	XMLName             xml.Name  `xml:"Gather"`
	Input               string    `xml:"input,attr"`
	NumDigits           int       `xml:"numDigits,attr,omitempty"`
	FinishOnKey         string    `xml:"finishOnKey,attr,omitempty"`
	Timeout             int       `xml:"timeout,attr,omitempty"`
	Action              string    `xml:"action,attr"`
	Method              string    `xml:"method,attr"`
	ActionOnEmptyResult bool      `xml:"actionOnEmptyResult,attr"`
	Language            string    `xml:"language,attr,omitempty"`
	Hints               string    `xml:"hints,attr,omitempty"`
	SpeechTimeout       string    `xml:"speechTimeout,attr,omitempty"`
	Say                 *twimlSay `xml:",omitempty"`
}

type twimlRecord struct {
	XMLName     xml.Name `xml:"Record"`
	Action      string   `xml:"action,attr"`
	Method      string   `xml:"method,attr"`
	Timeout     int      `xml:"timeout,attr,omitempty"`
	MaxLength   int      `xml:"maxLength,attr,omitempty"`
	FinishOnKey string   `xml:"finishOnKey,attr,omitempty"`
	PlayBeep    bool     `xml:"playBeep,attr"`
}

type twimlRedirect struct {
	XMLName xml.Name `xml:"Redirect"`
	Method  string   `xml:"method,attr"`
	URL     string   `xml:",chardata"`
}

type twimlHangup struct {
	XMLName xml.Name `xml:"Hangup"`
}

// RenderStep returns the TwiML document Huifang answers Twilio with for one
// voice step of a survey, as the engine produced it (Definition.Next or
// Outcome.Step). actionURL is where Twilio posts what the customer did; the
// webhook turns that post into a surveys.Input and applies it.
//
//   - A step that waits for keys (the intro, a question, a read-back) is a
//     <Gather> speaking Step.Prompt, with the engine's numDigits,
//     finishOnKey, timeout and, when the language has speech recognition,
//     input "dtmf speech", its language and hints. actionOnEmptyResult
//     makes silence come back to actionURL too (with an empty Digits), so
//     the engine decides whether to re-ask or skip: without it Twilio would
//     fall through to the end of the document and hang up.
//   - A recording question is a <Say> and a <Record>. Twilio requests no
//     action when nothing was recorded and goes on with the next verb, so a
//     <Redirect> to actionURL follows: it posts without a RecordingUrl,
//     which is the no-input of a recording.
//   - The end (completed, opted out, no response) says the closing words, if
//     any, and hangs up.
//
// The <Say> text is Step.Prompt exactly. An SMS step, or a step that waits
// for input without an absolute action URL, is an error: nothing a caller
// could send Twilio.
func RenderStep(step surveys.Step, actionURL string) ([]byte, error) {
	var say *twimlSay
	if step.Prompt != "" {
		say = &twimlSay{Voice: step.Say.Voice, Language: step.Say.Language, Text: step.Prompt}
	}
	e := step.Expect
	var verbs []any
	switch e.Input {
	case surveys.ExpectKeys:
		if err := checkAction(actionURL); err != nil {
			return nil, err
		}
		g := twimlGather{
			Input: "dtmf", NumDigits: e.NumDigits, FinishOnKey: e.FinishOnKey, Timeout: e.TimeoutSeconds,
			Action: actionURL, Method: http.MethodPost, ActionOnEmptyResult: true, Say: say,
		}
		if e.Speech {
			g.Input = "dtmf speech"
			g.Language = e.SpeechLanguage
			g.Hints = strings.Join(e.Hints, ", ")
			g.SpeechTimeout = "auto"
		}
		verbs = append(verbs, g)
	case surveys.ExpectRecording:
		if err := checkAction(actionURL); err != nil {
			return nil, err
		}
		if say != nil {
			verbs = append(verbs, say)
		}
		verbs = append(verbs,
			twimlRecord{Action: actionURL, Method: http.MethodPost, Timeout: e.TimeoutSeconds,
				MaxLength: e.MaxLength, FinishOnKey: e.FinishOnKey, PlayBeep: true},
			twimlRedirect{Method: http.MethodPost, URL: actionURL})
	case surveys.ExpectNothing:
		if say != nil {
			verbs = append(verbs, say)
		}
		verbs = append(verbs, twimlHangup{})
	case surveys.ExpectText:
		return nil, fmt.Errorf("render TwiML: step %s %s is an SMS step", step.Kind, step.Question)
	default:
		return nil, fmt.Errorf("render TwiML: step %s %s expects %q, which has no TwiML", step.Kind, step.Question, e.Input)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(twimlResponse{Verbs: verbs}); err != nil {
		return nil, fmt.Errorf("render TwiML: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// checkAction insists on an absolute action URL: a relative one would
// resolve against whichever URL Twilio fetched the document from.
func checkAction(actionURL string) error {
	if !strings.HasPrefix(actionURL, "https://") && !strings.HasPrefix(actionURL, "http://") {
		return fmt.Errorf("render TwiML: the action URL must be absolute http(s), got %q", actionURL)
	}
	return nil
}
