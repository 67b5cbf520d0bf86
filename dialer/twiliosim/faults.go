package twiliosim

import "sync"

// Op names a REST operation, for RESTFault.
type Op string

// The REST operations the simulator serves.
const (
	OpCreateCall    Op = "CreateCall"
	OpFetchCall     Op = "FetchCall"
	OpListCalls     Op = "ListCall"
	OpUpdateCall    Op = "UpdateCall"
	OpCreateMessage Op = "CreateMessage"
	OpFetchMessage  Op = "FetchMessage"
	OpListMessages  Op = "ListMessage"
)

// RESTFault makes matching REST requests fail the way Twilio's API
// sometimes does. Faults are checked in the order they were added; the first
// that matches a request applies to it.
type RESTFault struct {
	// Op limits the fault to one operation; "" matches every operation.
	Op Op
	// To limits the fault to requests whose To parameter is this number;
	// "" matches any.
	To string
	// Status is the HTTP status to answer with, e.g. 429, 500 or 503. The
	// body is Twilio's error shape with code 20000+Status (20429 Too Many
	// Requests, 20500 Internal Server Error, 20503 Service Unavailable).
	Status int
	// Hang holds the request open, answering nothing, until the client
	// gives up (its timeout) or the simulator closes. Status is ignored.
	Hang bool
	// Applied lets the request take effect before it fails: the call is
	// placed or the message queued, yet the client sees the error or the
	// timeout — the ambiguous create a dialer must reconcile, never resend.
	Applied bool
	// Times is how many matching requests fail; 0 means all of them.
	Times int
}

// HookKind names a kind of webhook the simulator sends.
type HookKind string

// The webhooks the simulator sends. Fetches of TwiML (the call's Url, a
// <Gather> or <Record> action, a <Redirect>) are synchronous parts of the
// call and cannot be faulted; the fire-and-forget callbacks below can.
const (
	HookCallStatus      HookKind = "call-status"      // StatusCallback
	HookAMD             HookKind = "amd"              // AsyncAmdStatusCallback
	HookRecordingStatus HookKind = "recording-status" // recording status callbacks
	HookMessageStatus   HookKind = "message-status"   // a message's StatusCallback
	HookIncomingSMS     HookKind = "incoming-sms"     // a customer's reply to Options.SMSURL
	hookTwiML           HookKind = "twiml"            // fetches of TwiML: never faulted
)

// CallbackAction is what a CallbackFault does to a callback.
type CallbackAction string

// What can happen to a callback on its way.
const (
	// Drop loses the callback: it is never delivered (its SequenceNumber
	// still counts, as it would if Twilio's request never arrived).
	Drop CallbackAction = "drop"
	// Duplicate delivers the callback twice, byte for byte: same
	// parameters, same signature, same I-Twilio-Idempotency-Token.
	Duplicate CallbackAction = "duplicate"
	// Late holds the callback back until the call's or message's last
	// callback has been delivered, so it arrives after it: completed
	// before in-progress, delivered before sent.
	Late CallbackAction = "late"
)

// CallbackFault makes matching callbacks misbehave the way Twilio's do.
// Faults are checked in order; the first that matches applies.
type CallbackFault struct {
	// Hook limits the fault to one kind of callback; "" matches all kinds.
	Hook HookKind
	// Status limits it to callbacks carrying this CallStatus or
	// MessageStatus ("in-progress", "completed", "sent", "delivered" …);
	// "" matches any.
	Status string
	// To limits it to calls and messages to this number (for an incoming
	// SMS: from it); "" matches any.
	To     string
	Action CallbackAction
	// Times is how many matching callbacks are affected; 0 means all.
	Times int
}

// faults holds a simulator's fault rules and how often each has fired.
type faults struct {
	mu       sync.Mutex
	rest     []RESTFault
	restUsed []int
	cb       []CallbackFault
	cbUsed   []int
}

func (f *faults) addREST(x RESTFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rest = append(f.rest, x)
	f.restUsed = append(f.restUsed, 0)
}

func (f *faults) addCallback(x CallbackFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cb = append(f.cb, x)
	f.cbUsed = append(f.cbUsed, 0)
}

// takeREST returns the fault for a request, counting it as used.
func (f *faults) takeREST(op Op, to string) (RESTFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.rest {
		if (x.Op != "" && x.Op != op) || (x.To != "" && x.To != to) {
			continue
		}
		if x.Times > 0 && f.restUsed[i] >= x.Times {
			continue
		}
		f.restUsed[i]++
		return x, true
	}
	return RESTFault{}, false
}

// takeCallback returns what happens to a callback, counting the fault used.
func (f *faults) takeCallback(kind HookKind, status, to string) CallbackAction {
	if kind == hookTwiML {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.cb {
		if (x.Hook != "" && x.Hook != kind) || (x.Status != "" && x.Status != status) || (x.To != "" && x.To != to) {
			continue
		}
		if x.Times > 0 && f.cbUsed[i] >= x.Times {
			continue
		}
		f.cbUsed[i]++
		return x.Action
	}
	return ""
}
