// Package twilio is the Twilio carrier: it places calls and sends SMS with
// twilio-go and (as it grows) answers Twilio's webhooks.
package twilio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/huifang/huifang/dialer"
)

// Config is what the carrier needs. Credentials come from the environment
// in cmd; they are passed explicitly here, because twilio-go otherwise reads
// TWILIO_* variables behind the caller's back.
type Config struct {
	AccountSID string
	AuthToken  string
	// HTTP is the client for Twilio's API (default: 15 s timeout). Tests and
	// the demo point it at the simulator with a transport; nothing else changes.
	HTTP *http.Client
}

// Carrier implements dialer.Carrier with Twilio. twilio-go takes no
// context, so a request is bounded by the HTTP client's timeout rather than
// by ctx.
type Carrier struct {
	rest *twiliogo.RestClient
	// For the requests twilio-go does not make: recording media.
	http         *http.Client
	account, key string
}

var _ dialer.Carrier = (*Carrier)(nil)

// New builds a carrier.
func New(cfg Config) *Carrier {
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(cfg.AccountSID)
	return &Carrier{rest: twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: c}),
		http: hc, account: cfg.AccountSID, key: cfg.AuthToken}
}

// PlaceCall implements dialer.Carrier.
func (c *Carrier) PlaceCall(ctx context.Context, req dialer.CallRequest) (string, error) {
	p := &api.CreateCallParams{}
	p.SetTo(req.To)
	p.SetFrom(req.From)
	p.SetUrl(req.URL)
	p.SetMethod(http.MethodPost)
	if req.StatusCallback != "" {
		p.SetStatusCallback(req.StatusCallback)
		p.SetStatusCallbackMethod(http.MethodPost)
		p.SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	}
	if req.Ring > 0 {
		p.SetTimeout(int(req.Ring / time.Second))
	}
	if req.AMDCallback != "" {
		if req.AMDWaitForBeep {
			p.SetMachineDetection("DetectMessageEnd")
		} else {
			p.SetMachineDetection("Enable")
		}
		p.SetAsyncAmd("true")
		p.SetAsyncAmdStatusCallback(req.AMDCallback)
		p.SetAsyncAmdStatusCallbackMethod(http.MethodPost)
	}
	if req.RecordingCallback != "" {
		p.SetRecord(true)
		p.SetRecordingStatusCallback(req.RecordingCallback)
		p.SetRecordingStatusCallbackMethod(http.MethodPost)
	}
	return c.createCall(p)
}

// createCall asks Twilio for a call and returns its SID, with Twilio's
// errors classified; an answer without a SID leaves the call in doubt.
func (c *Carrier) createCall(p *api.CreateCallParams) (string, error) {
	call, err := c.rest.Api.CreateCall(p)
	if err != nil {
		return "", classify(err)
	}
	if call.Sid == nil {
		return "", &dialer.CarrierError{Kind: dialer.Ambiguous, Msg: "Twilio answered without a call SID"}
	}
	return *call.Sid, nil
}

// SendSMS implements dialer.Carrier.
func (c *Carrier) SendSMS(ctx context.Context, req dialer.SMSRequest) (string, error) {
	p := &api.CreateMessageParams{}
	p.SetTo(req.To)
	p.SetFrom(req.From)
	p.SetBody(req.Body)
	if req.StatusCallback != "" {
		p.SetStatusCallback(req.StatusCallback)
	}
	if req.ValidFor > 0 {
		// Twilio accepts 1 to 36,000 seconds (14,400 by default).
		p.SetValidityPeriod(min(max(int(req.ValidFor/time.Second), 1), 36000))
	}
	msg, err := c.rest.Api.CreateMessage(p)
	if err != nil {
		return "", classify(err)
	}
	if msg.Sid == nil {
		return "", &dialer.CarrierError{Kind: dialer.Ambiguous, Msg: "Twilio answered without a message SID"}
	}
	return *msg.Sid, nil
}

// CallsTo implements dialer.Carrier. It lists the newest calls to the number
// and keeps those created since the time given. Twilio's StartTime filter
// would miss a call still queued or ringing (it has no start time yet), which
// is exactly the call a reconciler must not miss.
func (c *Carrier) CallsTo(ctx context.Context, to string, since time.Time) ([]dialer.CarrierCall, error) {
	p := &api.ListCallParams{}
	p.SetTo(to)
	p.SetPageSize(50)
	p.SetLimit(50) // newest first; an attempt in doubt is minutes old
	calls, err := c.rest.Api.ListCall(p)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]dialer.CarrierCall, 0, len(calls))
	for _, cl := range calls {
		created, ok := parseTwilioTime(cl.DateCreated)
		if !ok || created.Before(since.Truncate(time.Second)) {
			continue
		}
		cc := dialer.CarrierCall{SID: deref(cl.Sid), To: deref(cl.To), Status: deref(cl.Status), CreatedAt: created}
		cc.StartedAt, _ = parseTwilioTime(cl.StartTime)
		out = append(out, cc)
	}
	return out, nil
}

// MessagesTo implements dialer.Carrier: the newest messages to the number,
// those created since the time given (a queued message has no DateSent yet,
// so Twilio's DateSent filter would miss it).
func (c *Carrier) MessagesTo(ctx context.Context, to string, since time.Time) ([]dialer.CarrierMessage, error) {
	p := &api.ListMessageParams{}
	p.SetTo(to)
	p.SetPageSize(50)
	p.SetLimit(50)
	msgs, err := c.rest.Api.ListMessage(p)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]dialer.CarrierMessage, 0, len(msgs))
	for _, m := range msgs {
		created, ok := parseTwilioTime(m.DateCreated)
		if !ok || created.Before(since.Truncate(time.Second)) {
			continue
		}
		out = append(out, dialer.CarrierMessage{SID: deref(m.Sid), To: deref(m.To), Body: deref(m.Body),
			Status: deref(m.Status), CreatedAt: created})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseTwilioTime reads the RFC 1123 times of Twilio's 2010 API.
func parseTwilioTime(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC1123Z, *s)
	return t, err == nil
}

// permanentCodes are Twilio errors no retry can fix.
var permanentCodes = map[int]bool{
	dialer.CodeUnsubscribed: true, dialer.CodeInvalidTo: true, dialer.CodeNotMobile: true,
	dialer.CodeBlocked: true, dialer.CodeInvalidNumber2: true,
	21217: true, // phone number does not appear to be valid
	21215: true, // geo permission: not enabled for that region
	21408: true, // permission to send an SMS to this region not enabled
	21421: true, // PhoneNumber is invalid
	21606: true, // the From number cannot send SMS
}

// classify sorts a twilio-go error into the dialer's kinds. A rejected
// request (4xx) is permanent unless it is a rate limit; 429 and 503 mean the
// request was not acted on; anything else after the request left — other 5xx,
// a timeout, a dropped connection — may have placed the call, so it is
// ambiguous and must not be resent.
func classify(err error) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		ce := &dialer.CarrierError{Code: te.Code, HTTPStatus: te.Status, Msg: te.Message, Err: err}
		switch {
		case te.Status == http.StatusTooManyRequests || te.Code == 20429:
			ce.Kind = dialer.Retryable
		case te.Status == http.StatusServiceUnavailable:
			ce.Kind = dialer.Retryable
		case permanentCodes[te.Code]:
			ce.Kind = dialer.Permanent
		case te.Status >= 400 && te.Status < 500:
			ce.Kind = dialer.Permanent
		default:
			ce.Kind = dialer.Ambiguous
		}
		return ce
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return &dialer.CarrierError{Kind: dialer.Ambiguous, Msg: "no answer from Twilio in time", Err: err}
	}
	// twilio-go reports some HTTP failures as plain errors with the status in the text.
	if msg := err.Error(); strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		// The request never reached Twilio.
		return &dialer.CarrierError{Kind: dialer.Retryable, Msg: msg, Err: err}
	}
	return &dialer.CarrierError{Kind: dialer.Ambiguous, Msg: err.Error(), Err: err}
}
