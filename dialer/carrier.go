// Package dialer places verification calls and SMS surveys. It owns
// dispatch, pacing, attempts, retries and fallback, and the reconciliation of
// attempts left in doubt (these arrive with the campaigns); today it holds
// the boundary to the telephone network: Carrier, which the Twilio carrier
// (dialer/twilio) implements, and the classification of carrier errors that
// decides whether an attempt may be retried.
package dialer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CallRequest asks the carrier to ring a customer and fetch the call's
// instructions (TwiML) from URL when they answer.
type CallRequest struct {
	To, From string // E.164
	// URL answers the call with its first instructions.
	URL string
	// StatusCallback receives initiated, ringing, answered and completed.
	StatusCallback string
	// AMDCallback, if set, asks for answering-machine detection in the
	// background, its result posted here.
	AMDCallback string
	// AMDWaitForBeep makes detection wait for the end of a machine's
	// greeting (Twilio's DetectMessageEnd), which leaving a voicemail needs;
	// otherwise a machine is reported as soon as it is recognised.
	AMDWaitForBeep bool
	// Ring is how long to let it ring before giving up (Twilio's Timeout).
	Ring time.Duration
	// RecordingCallback, if set, records the call and posts here when the
	// recording is ready.
	RecordingCallback string
}

// SMSRequest asks the carrier to send one text.
type SMSRequest struct {
	To, From       string // E.164
	Body           string
	StatusCallback string
	// ValidFor bounds how long the carrier may hold the message in its queue;
	// it must end before the recipient's calling window does.
	ValidFor time.Duration
}

// CarrierCall is a call as the carrier reports it, for reconciliation.
type CarrierCall struct {
	SID       string
	To        string
	Status    string // queued, ringing, in-progress, completed, busy, no-answer, failed, canceled
	CreatedAt time.Time
	StartedAt time.Time // zero until the call starts
}

// Carrier is what the dialer needs of a telephone carrier.
type Carrier interface {
	// PlaceCall starts an outbound call and returns the carrier's id for it.
	PlaceCall(ctx context.Context, req CallRequest) (sid string, err error)
	// SendSMS sends one message and returns the carrier's id for it.
	SendSMS(ctx context.Context, req SMSRequest) (sid string, err error)
	// CallsTo lists the calls to a number created since a time: how the
	// reconciler learns whether an attempt in doubt rang the customer.
	CallsTo(ctx context.Context, to string, since time.Time) ([]CarrierCall, error)
	// MessagesTo lists the messages to a number created since a time, for
	// the same purpose.
	MessagesTo(ctx context.Context, to string, since time.Time) ([]CarrierMessage, error)
}

// CarrierMessage is a message as the carrier reports it, for reconciliation.
type CarrierMessage struct {
	SID       string
	To, Body  string
	Status    string
	CreatedAt time.Time
}

// ErrorKind says what the dialer may do after a carrier error.
type ErrorKind int

const (
	// Retryable: the carrier did not act (rate limited, unavailable); the same
	// request may be sent again after a backoff.
	Retryable ErrorKind = iota + 1
	// Permanent: the request can never succeed (invalid number, opted out,
	// blocked); the contact ends or falls back to another channel.
	Permanent
	// Ambiguous: the request may or may not have been acted on (a timeout
	// after it was sent, a gateway error). Never resend it: the attempt is in
	// doubt until reconciliation asks the carrier.
	Ambiguous
)

func (k ErrorKind) String() string {
	switch k {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case Ambiguous:
		return "ambiguous"
	}
	return "unknown"
}

// CarrierError is a classified carrier failure.
type CarrierError struct {
	Kind       ErrorKind
	Code       int // the carrier's error code (Twilio: 21610 …), 0 if none
	HTTPStatus int // 0 if no response
	RetryAfter time.Duration
	Msg        string
	Err        error
}

func (e *CarrierError) Error() string {
	s := fmt.Sprintf("carrier: %s", e.Kind)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.HTTPStatus)
		if e.Code != 0 {
			s += fmt.Sprintf(", code %d", e.Code)
		}
		s += ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func (e *CarrierError) Unwrap() error { return e.Err }

// Twilio error codes the dialer acts on.
const (
	CodeUnsubscribed   = 21610 // the recipient replied STOP: never send again
	CodeInvalidTo      = 21211 // not a valid phone number
	CodeNotMobile      = 21614 // SMS to a number that cannot receive it
	CodeBlocked        = 21612 // the carrier will not route to this number
	CodeInvalidNumber2 = 13224 // voice: invalid number
)

// KindOf reports the kind of a carrier error; errors that are not
// CarrierErrors count as Ambiguous, the safe reading.
func KindOf(err error) ErrorKind {
	var ce *CarrierError
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return Ambiguous
}

// IsOptOut reports whether err says the recipient has opted out.
func IsOptOut(err error) bool {
	var ce *CarrierError
	return errors.As(err, &ce) && ce.Code == CodeUnsubscribed
}
