package twilio

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/surveys"
)

// The webhook routes, under the public base URL.
const (
	PathVoiceAnswer    = "/twilio/voice/answer"
	PathVoiceGather    = "/twilio/voice/gather"
	PathVoiceStatus    = "/twilio/voice/status"
	PathVoiceAMD       = "/twilio/voice/amd"
	PathVoiceRecording = "/twilio/voice/recording"
	PathSMSInbound     = "/twilio/sms/inbound"
	PathSMSStatus      = "/twilio/sms/status"
)

// Webhooks answers Twilio: the TwiML of each call step, status, AMD and
// recording callbacks, inbound texts and message statuses. Every route is
// behind the signature check, so a forged or unsigned request gets 403 and
// changes nothing; bad parameters get 400 naming the parameter, an unknown
// call or message 404; a repeated delivery is applied once (see
// dialer.Conversations). The domain work is in Conversations; this layer
// only translates.
type Webhooks struct {
	Conv     *dialer.Conversations
	Verifier *Verifier
	// Carrier acts on a live call when a machine answered it (leave the
	// voicemail, or hang up).
	Carrier *Carrier
	Log     *slog.Logger
	// BaseURL is the public base URL Twilio reaches us at (PUBLIC_BASE_URL).
	BaseURL string
}

var _ dialer.Webhooks = (*Webhooks)(nil)

// CallURLs implements dialer.Webhooks.
func (h *Webhooks) CallURLs(id int64) dialer.CallURLs {
	q := "?attempt=" + strconv.FormatInt(id, 10)
	b := strings.TrimRight(h.BaseURL, "/")
	return dialer.CallURLs{
		Answer: b + PathVoiceAnswer + q, Status: b + PathVoiceStatus + q,
		AMD: b + PathVoiceAMD + q, Recording: b + PathVoiceRecording + q,
	}
}

// SMSStatusURL implements dialer.Webhooks.
func (h *Webhooks) SMSStatusURL(attemptID, messageID int64) string {
	return fmt.Sprintf("%s%s?attempt=%d&msg=%d", strings.TrimRight(h.BaseURL, "/"), PathSMSStatus, attemptID, messageID)
}

// InboundSMSURL is the URL to configure as the numbers' "a message comes in"
// webhook.
func (h *Webhooks) InboundSMSURL() string { return strings.TrimRight(h.BaseURL, "/") + PathSMSInbound }

func (h *Webhooks) gatherURL(attemptID int64, seq int) string {
	return fmt.Sprintf("%s%s?attempt=%d&seq=%d", strings.TrimRight(h.BaseURL, "/"), PathVoiceGather, attemptID, seq)
}

func (h *Webhooks) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Handler returns the routes, each behind the signature check.
func (h *Webhooks) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathVoiceAnswer, h.voiceAnswer)
	mux.HandleFunc("POST "+PathVoiceGather, h.voiceGather)
	mux.HandleFunc("POST "+PathVoiceStatus, h.voiceStatus)
	mux.HandleFunc("POST "+PathVoiceAMD, h.voiceAMD)
	mux.HandleFunc("POST "+PathVoiceRecording, h.voiceRecording)
	mux.HandleFunc("POST "+PathSMSInbound, h.smsInbound)
	mux.HandleFunc("POST "+PathSMSStatus, h.smsStatus)
	return h.Verifier.Wrap(textOnly(mux))
}

// textOnly refuses a form whose values are not text Postgres can store
// (invalid UTF-8, or NUL): Twilio sends UTF-8, so it is malformed (400).
func textOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range r.PostForm {
			for _, v := range vs {
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					if !utf8.ValidString(k) {
						k = strconv.Quote(k)
					}
					http.Error(w, "form parameter "+truncate(k, 40)+": not UTF-8 text", http.StatusBadRequest)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// badRequest is a parameter Twilio should never send: 400, naming it.
type badRequest struct{ param, msg string }

func (e *badRequest) Error() string { return e.param + ": " + e.msg }

var (
	callSidRe    = regexp.MustCompile(`^CA[0-9a-f]{32}$`)
	messageSidRe = regexp.MustCompile(`^(SM|MM)[0-9a-f]{32}$`)
	recSidRe     = regexp.MustCompile(`^RE[0-9a-f]{32}$`)
)

func queryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, &badRequest{"query parameter " + name, "missing"}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &badRequest{"query parameter " + name, fmt.Sprintf("%q is not a positive integer", truncate(s, 20))}
	}
	return n, nil
}

func formSid(r *http.Request, name string, re *regexp.Regexp) (string, error) {
	s := r.PostForm.Get(name)
	if s == "" {
		return "", &badRequest{"form parameter " + name, "missing"}
	}
	if !re.MatchString(s) {
		return "", &badRequest{"form parameter " + name, fmt.Sprintf("%q is not a Twilio SID", truncate(s, 40))}
	}
	return s, nil
}

// formInt reads an optional non-negative integer; 32 bits, like the
// columns that store durations and error codes.
func formInt(r *http.Request, name string) (int, error) {
	s := r.PostForm.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, &badRequest{"form parameter " + name, fmt.Sprintf("%q is not a non-negative integer", truncate(s, 20))}
	}
	return int(n), nil
}

func formE164(r *http.Request, name string) (string, error) {
	s := r.PostForm.Get(name)
	if s == "" {
		return "", &badRequest{"form parameter " + name, "missing"}
	}
	if !e164Re.MatchString(s) {
		return "", &badRequest{"form parameter " + name, "not an E.164 number"}
	}
	return s, nil
}

var e164Re = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// fail answers an error: 400 for bad parameters, 404 for an unknown call or
// message, 503 for our own trouble (Twilio then tries the fallback URL).
func (h *Webhooks) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		http.Error(w, br.Error(), http.StatusBadRequest)
	case errors.Is(err, dialer.ErrUnknownCall):
		http.Error(w, "unknown call", http.StatusNotFound)
	case errors.Is(err, dialer.ErrUnknownMessage):
		http.Error(w, "unknown message", http.StatusNotFound)
	case errors.Is(err, context.Canceled):
		http.Error(w, "request canceled", http.StatusServiceUnavailable)
	default:
		h.log().Error("webhook failed", "path", r.URL.Path, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
	}
}

func writeTwiML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(body)
}

// emptyTwiML answers a callback that needs no instructions.
var emptyTwiML = []byte(xml.Header + "<Response></Response>\n")

func (h *Webhooks) turn(w http.ResponseWriter, r *http.Request, attemptID int64, t dialer.Turn) {
	doc, err := RenderStep(t.Step, h.gatherURL(attemptID, t.Seq))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeTwiML(w, doc)
}

func (h *Webhooks) voiceAnswer(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sid, err := formSid(r, "CallSid", callSidRe)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.Conv.VoiceStart(r.Context(), id, sid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.turn(w, r, id, t)
}

// inputOf reads what the customer did from a <Gather> or <Record> action.
func inputOf(r *http.Request) (surveys.Input, error) {
	f := r.PostForm
	switch {
	case f.Get("RecordingUrl") != "":
		u, err := url.Parse(f.Get("RecordingUrl"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return surveys.Input{}, &badRequest{"form parameter RecordingUrl", "not an absolute URL"}
		}
		return surveys.Input{Kind: surveys.InputRecording, Text: u.String()}, nil
	case strings.TrimSpace(f.Get("SpeechResult")) != "":
		return surveys.Input{Kind: surveys.InputSpeech, Text: f.Get("SpeechResult")}, nil
	case f.Get("Digits") != "":
		d := f.Get("Digits")
		if strings.Trim(d, "0123456789*#w") != "" || len(d) > 64 {
			return surveys.Input{}, &badRequest{"form parameter Digits", fmt.Sprintf("%q is not keypad input", truncate(d, 20))}
		}
		return surveys.Input{Kind: surveys.InputDigits, Text: d}, nil
	}
	return surveys.Input{Kind: surveys.InputNone}, nil
}

func (h *Webhooks) voiceGather(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seqS := r.URL.Query().Get("seq")
	seq, perr := strconv.Atoi(seqS)
	if perr != nil || seq < 0 {
		h.fail(w, r, &badRequest{"query parameter seq", fmt.Sprintf("%q is not a non-negative integer", truncate(seqS, 20))})
		return
	}
	sid, err := formSid(r, "CallSid", callSidRe)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, err := inputOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.Conv.VoiceInput(r.Context(), id, sid, seq, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.turn(w, r, id, t)
}

func (h *Webhooks) voiceStatus(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev := dialer.CallEvent{Status: r.PostForm.Get("CallStatus"), AnsweredBy: r.PostForm.Get("AnsweredBy")}
	if ev.CallSid, err = formSid(r, "CallSid", callSidRe); err != nil {
		h.fail(w, r, err)
		return
	}
	if !dialer.IsCallStatus(ev.Status) {
		h.fail(w, r, &badRequest{"form parameter CallStatus", fmt.Sprintf("%q is not a call status", truncate(ev.Status, 20))})
		return
	}
	if ev.AnsweredBy != "" && !answeredByValues[ev.AnsweredBy] {
		h.fail(w, r, &badRequest{"form parameter AnsweredBy", fmt.Sprintf("%q is not an AMD result", truncate(ev.AnsweredBy, 30))})
		return
	}
	if ev.Duration, err = formInt(r, "CallDuration"); err != nil {
		h.fail(w, r, err)
		return
	}
	if ev.ErrorCode, err = formInt(r, "ErrorCode"); err != nil {
		h.fail(w, r, err)
		return
	}
	if ts := r.PostForm.Get("Timestamp"); ts != "" {
		t, perr := time.Parse(time.RFC1123Z, ts)
		if perr != nil {
			h.fail(w, r, &badRequest{"form parameter Timestamp", "not an RFC 1123 time"})
			return
		}
		ev.At = t
	}
	if err := h.Conv.CallStatus(r.Context(), id, ev); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

var answeredByValues = map[string]bool{
	"human": true, "unknown": true, "fax": true, "machine_start": true,
	"machine_end_beep": true, "machine_end_silence": true, "machine_end_other": true,
}

func (h *Webhooks) voiceAMD(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sid, err := formSid(r, "CallSid", callSidRe)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	by := r.PostForm.Get("AnsweredBy")
	if !answeredByValues[by] {
		h.fail(w, r, &badRequest{"form parameter AnsweredBy", fmt.Sprintf("%q is not an AMD result", truncate(by, 30))})
		return
	}
	act, err := h.Conv.MachineDetected(r.Context(), id, sid, by)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case act.Voicemail != nil:
		doc, rerr := RenderVoicemail(*act.Voicemail)
		if rerr == nil {
			rerr = h.Carrier.Redirect(r.Context(), sid, string(doc))
		}
		if rerr != nil {
			h.log().Warn("leave voicemail", "attempt", id, "err", rerr)
		}
	case act.Hangup:
		if err := h.Carrier.Hangup(r.Context(), sid); err != nil {
			h.log().Warn("hang up on machine", "attempt", id, "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Webhooks) voiceRecording(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev := dialer.RecordingEvent{Status: r.PostForm.Get("RecordingStatus"), URL: r.PostForm.Get("RecordingUrl")}
	if ev.CallSid, err = formSid(r, "CallSid", callSidRe); err != nil {
		h.fail(w, r, err)
		return
	}
	if ev.Status == "completed" {
		if ev.RecordingSid, err = formSid(r, "RecordingSid", recSidRe); err != nil {
			h.fail(w, r, err)
			return
		}
		if u, perr := url.Parse(ev.URL); perr != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			h.fail(w, r, &badRequest{"form parameter RecordingUrl", "not an absolute URL"})
			return
		}
	}
	if ev.Duration, err = formInt(r, "RecordingDuration"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Conv.Recording(r.Context(), id, ev); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Webhooks) smsInbound(w http.ResponseWriter, r *http.Request) {
	var (
		in  dialer.InboundSMS
		err error
	)
	if in.MessageSid, err = formSid(r, "MessageSid", messageSidRe); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.From, err = formE164(r, "From"); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.To, err = formE164(r, "To"); err != nil {
		h.fail(w, r, err)
		return
	}
	in.Body = r.PostForm.Get("Body")
	in.OptOutType = r.PostForm.Get("OptOutType")
	if err := h.Conv.TextIn(r.Context(), in); err != nil {
		h.fail(w, r, err)
		return
	}
	// Replies go out through the REST API, each with its own status
	// callback and validity period; the TwiML answer stays empty.
	writeTwiML(w, emptyTwiML)
}

func (h *Webhooks) smsStatus(w http.ResponseWriter, r *http.Request) {
	id, err := queryID(r, "attempt")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg, err := queryID(r, "msg")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ev dialer.MessageEvent
	if ev.MessageSid, err = formSid(r, "MessageSid", messageSidRe); err != nil {
		h.fail(w, r, err)
		return
	}
	ev.Status = r.PostForm.Get("MessageStatus")
	if ev.Status == "" {
		ev.Status = r.PostForm.Get("SmsStatus")
	}
	if !dialer.IsMessageStatus(ev.Status) {
		h.fail(w, r, &badRequest{"form parameter MessageStatus", fmt.Sprintf("%q is not a message status", truncate(ev.Status, 20))})
		return
	}
	if ev.ErrorCode, err = formInt(r, "ErrorCode"); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Conv.TextStatus(r.Context(), id, msg, ev); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RenderVoicemail is the TwiML that leaves a voicemail and hangs up.
func RenderVoicemail(vm dialer.Voicemail) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	err := enc.Encode(twimlResponse{Verbs: []any{
		twimlSay{Voice: vm.Voice, Language: vm.Language, Text: vm.Text}, twimlHangup{},
	}})
	if err != nil {
		return nil, fmt.Errorf("render voicemail: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Redirect replaces a live call's instructions with twiml.
func (c *Carrier) Redirect(ctx context.Context, sid, twiml string) error {
	p := &api.UpdateCallParams{}
	p.SetTwiml(twiml)
	if _, err := c.rest.Api.UpdateCall(sid, p); err != nil {
		return classify(err)
	}
	return nil
}

// Hangup ends a live call.
func (c *Carrier) Hangup(ctx context.Context, sid string) error {
	p := &api.UpdateCallParams{}
	p.SetStatus("completed")
	if _, err := c.rest.Api.UpdateCall(sid, p); err != nil {
		return classify(err)
	}
	return nil
}
