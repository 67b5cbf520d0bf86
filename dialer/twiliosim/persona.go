package twiliosim

import (
	"sync"
	"time"
)

// Persona plays the customer at one phone number. The simulator asks it what
// happens when the phone rings, what the customer does after each prompt,
// and what they text back. A test or the demo supplies one per number
// (Options.Personas, Simulator.SetPersona); SamplePersona plays a sample
// job's ground truth.
//
// The simulator may call a persona from several goroutines at once (two
// calls to the same number, an SMS while a call runs), so an implementation
// that keeps state must lock it.
type Persona interface {
	// Answer decides how the phone answers a call: a person, a machine,
	// busy, ringing out, or unreachable.
	Answer(call CallInfo) Pickup
	// Respond is what the customer does once a <Gather> or <Record> has
	// finished speaking to them: keys, words, silence or hanging up. It is
	// never called for a call a machine answered.
	Respond(prompt Prompt) Response
	// Reply is the customer's answer to a delivered SMS, if any. reply is
	// sent back to the number the message came from, as an inbound message.
	Reply(msg SMS) (reply string, ok bool)
}

// DeliveryDecider is an optional Persona method choosing what becomes of an
// SMS sent to the persona; without it every message is delivered.
type DeliveryDecider interface {
	Deliver(msg SMS) Delivery
}

// CallInfo describes a call as the called phone sees it.
type CallInfo struct {
	CallSid string
	From    string // the caller ID: our Twilio number
	To      string // the persona's number
}

// Answerer says who or what picks up.
type Answerer string

// How a phone can answer.
const (
	// Human: a person picks up after Pickup.After and hears the TwiML.
	Human Answerer = "human"
	// Machine: voicemail picks up after Pickup.After; answering machine
	// detection reports machine_start (or machine_end_beep with
	// DetectMessageEnd), every <Gather> hears silence, and the machine
	// hangs up after two minutes if the TwiML has not.
	Machine Answerer = "machine"
	// Busy: the line is busy; the call ends with CallStatus busy.
	Busy Answerer = "busy"
	// NoAnswer: it rings until the call's Timeout; CallStatus no-answer.
	NoAnswer Answerer = "no-answer"
	// Unreachable: the number cannot be reached; CallStatus failed.
	Unreachable Answerer = "unreachable"
)

// Pickup is how a call is answered. A By the simulator does not know
// (including "") rings out like NoAnswer.
type Pickup struct {
	By Answerer
	// After is how long the phone rings before Human or Machine picks up;
	// zero means 4 seconds for a person and 20 for voicemail. If it is not
	// shorter than the call's Timeout, nobody picks up: no-answer.
	After time.Duration
}

// PromptKind says which verb is waiting for the customer.
type PromptKind string

// The verbs that wait for input.
const (
	GatherPrompt PromptKind = "Gather"
	RecordPrompt PromptKind = "Record"
)

// Prompt is what the customer has just heard and what the call is waiting
// for.
type Prompt struct {
	Call CallInfo
	Kind PromptKind
	// Number counts the prompts of this call from 1.
	Number int
	// Text is everything <Say> spoke since the customer last gave input (or
	// since the call was answered), joined by spaces: a re-prompt's apology
	// and the question come as one text, as the customer hears them.
	Text string
	// Language is the language attribute of the last <Say> ("en-US",
	// "cmn-CN"; "" when not given), Played the URLs of <Play> heard.
	Language string
	Played   []string
	// Input lists what the <Gather> accepts: "dtmf", "speech" or both.
	// Empty for <Record>.
	Input []string
	// NumDigits is the <Gather>'s numDigits (0 when not set), FinishOnKey
	// the key(s) that end input ("" when none), Timeout how long it waits.
	NumDigits   int
	FinishOnKey string
	Timeout     time.Duration
}

// Response is what the customer does after a prompt. The zero Response is
// silence: the prompt times out.
type Response struct {
	// Digits are the keys pressed in order, e.g. "1" or "50#"; characters
	// other than 0-9, * and # are ignored.
	Digits string
	// Speech is what the customer says: the SpeechResult of a <Gather>
	// that accepts speech, or the message left in a <Record>.
	Speech string
	// Confidence is the recogniser's confidence in Speech, 0–1; zero means
	// 0.92.
	Confidence float64
	// Delay is how long the customer takes before the first key or word;
	// zero means one second. A Delay not shorter than the prompt's timeout
	// is silence.
	Delay time.Duration
	// HangUp hangs up instead of answering (after Delay).
	HangUp bool
}

// SMS is a message as the persona's phone receives it.
type SMS struct {
	MessageSid string
	From       string // our Twilio number
	To         string // the persona's number
	Body       string
}

// Delivery is what the network does with an SMS.
type Delivery struct {
	// Status is "delivered" (the default), "undelivered" or "failed".
	Status string
	// ErrorCode is Twilio's error code for undelivered or failed, e.g.
	// 30003 (unreachable handset), 30005 (unknown handset), 30006
	// (landline or unreachable carrier); zero means 30003.
	ErrorCode int
}

// Script is a persona that answers every call the same way and then gives
// its Responses in order, one per prompt of each call, and its Replies in
// order, one per SMS it receives. After the last Response it stays silent,
// after the last Reply it does not reply. Its zero value picks up at once as
// a person and stays silent. Use it in tests that need exact keys.
type Script struct {
	Pickup    Pickup
	Responses []Response
	Replies   []string

	mu      sync.Mutex
	replied int
}

// Answer returns s.Pickup, a person by default.
func (s *Script) Answer(CallInfo) Pickup {
	if s.Pickup.By == "" {
		return Pickup{By: Human, After: s.Pickup.After}
	}
	return s.Pickup
}

// Respond returns the Response for the prompt's number.
func (s *Script) Respond(p Prompt) Response {
	if p.Number < 1 || p.Number > len(s.Responses) {
		return Response{}
	}
	return s.Responses[p.Number-1]
}

// Reply returns the next of s.Replies.
func (s *Script) Reply(SMS) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replied >= len(s.Replies) {
		return "", false
	}
	s.replied++
	return s.Replies[s.replied-1], true
}

// unallocated plays a number nobody has: calls fail and texts are not
// delivered (30005, unknown destination handset). It stands in for every
// number without a persona, unless Options.DefaultPersona says otherwise.
type unallocated struct{}

func (unallocated) Answer(CallInfo) Pickup   { return Pickup{By: Unreachable} }
func (unallocated) Respond(Prompt) Response  { return Response{} }
func (unallocated) Reply(SMS) (string, bool) { return "", false }
func (unallocated) Deliver(SMS) Delivery     { return Delivery{Status: "undelivered", ErrorCode: 30005} }
