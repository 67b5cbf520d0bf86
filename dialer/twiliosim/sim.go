package twiliosim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/twilio/twilio-go"
)

// Options configure a Simulator. The zero value is a working simulator on
// the wall clock with a random account, no personas (every number is
// unallocated) and no inbound SMS webhook.
type Options struct {
	// AccountSID and AuthToken are the one account the simulator serves.
	// REST requests must authenticate with them (HTTP Basic) and every
	// webhook is signed with AuthToken. Empty means random ones; read them
	// back with Simulator.AccountSID and AuthToken.
	AccountSID string
	AuthToken  string

	// Clock drives simulated time; nil means Accelerated(Speed), or the
	// wall clock when Speed is zero.
	Clock Clock
	// Speed runs time this many times faster than the wall clock when
	// Clock is nil: tests use 1000 or more so rings, prompts and timeouts
	// take milliseconds.
	Speed float64

	// Latency delays every REST response by this much wall-clock time, as
	// the network to Twilio would. It is not scaled by Speed: it is there
	// to exercise client timeouts.
	Latency time.Duration

	// Personas play the customer at each number (E.164). Numbers without
	// one get DefaultPersona, or, when that is nil, behave as unallocated:
	// calls fail, texts are undelivered with error 30005.
	Personas       map[string]Persona
	DefaultPersona Persona

	// SMSURL is where a customer's reply is posted: the "A message comes
	// in" webhook Twilio would have configured on our numbers. Empty means
	// replies are stored (Messages lists them) but not posted. SMSMethod is
	// "POST" (the default) or "GET".
	SMSURL    string
	SMSMethod string

	// MessagingServiceNumber is the number that sends a message created
	// with a MessagingServiceSid instead of a From; empty means
	// +15005550006.
	MessagingServiceNumber string

	// OptOutWords and OptInWords are the replies that block and unblock
	// further messages to a number from the sender it replied to (matched
	// on the whole reply, any case, surrounding spaces and punctuation
	// ignored). nil means DefaultOptOutWords() and DefaultOptInWords().
	OptOutWords []string
	OptInWords  []string

	// WebhookClient sends the webhooks; nil means a client that gives up
	// after 15 seconds, as Twilio does.
	WebhookClient *http.Client

	// RESTFaults and CallbackFaults are faults active from the start; more
	// can be added while running (Simulator.InjectREST, InjectCallback).
	RESTFaults     []RESTFault
	CallbackFaults []CallbackFault

	// Logger receives the simulator's log: calls and messages created and
	// ended, webhooks that failed. Phone numbers are masked, tokens and
	// signatures never logged. nil means no log.
	Logger *slog.Logger
}

// DefaultOptOutWords returns Twilio's standard English opt-out keywords
// plus the Chinese carriers' (TD, 退订 …), as DOMAIN.md lists them. Real
// Twilio enforces only the English ones; the simulator enforces all of them
// unless Options.OptOutWords says otherwise.
func DefaultOptOutWords() []string {
	return []string{
		"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
		"TD", "T", "退订", "退出", "取消", "拒收", "不要再发",
	}
}

// DefaultOptInWords returns Twilio's standard opt-back-in keywords.
func DefaultOptInWords() []string { return []string{"START", "YES", "UNSTOP"} }

// twilioKeywords are the words Twilio itself recognises, reported to the
// SMS webhook as OptOutType.
var twilioKeywords = map[string]string{
	"stop": "STOP", "stopall": "STOP", "unsubscribe": "STOP", "cancel": "STOP", "end": "STOP",
	"quit": "STOP", "revoke": "STOP", "optout": "STOP", "opt out": "STOP",
	"start": "START", "yes": "START", "unstop": "START",
	"help": "HELP", "info": "HELP",
}

// Simulator is a Twilio look-alike: an http.Handler serving the REST API
// twilio-go calls, and the engine that then drives each call and message the
// way Twilio would — ringing the persona, fetching and running TwiML,
// posting signed callbacks. Create one with New (and serve it yourself,
// e.g. with httptest.NewServer) or Start; Close it when done.
type Simulator struct {
	accountSID string
	authToken  string
	clock      Clock
	latency    time.Duration
	log        *slog.Logger
	webhooks   *http.Client
	smsURL     string
	smsMethod  string
	svcNumber  string
	optOut     map[string]bool
	optIn      map[string]bool
	fallback   Persona
	faults     faults
	mux        http.Handler

	// ctx ends when the simulator closes: every call, delivery and hung
	// request watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	personas map[string]Persona
	calls    map[string]*call
	callList []*call // in creation order
	msgs     map[string]*message
	msgList  []*message
	blocked  map[string]bool // optKey(customer, sender) → opted out
	recs     map[string]recording
	active   int           // calls and messages still running
	idle     chan struct{} // closed whenever active is zero

	srv *http.Server
	url string
}

var accountPattern = regexp.MustCompile(`^AC[0-9a-f]{32}$`)
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// New checks opts and returns a simulator ready to serve. It starts nothing:
// hand it to an http.Server or httptest.NewServer, or use Start or Serve.
func New(opts Options) (*Simulator, error) {
	s := &Simulator{
		accountSID: opts.AccountSID,
		authToken:  opts.AuthToken,
		clock:      opts.Clock,
		latency:    opts.Latency,
		log:        opts.Logger,
		webhooks:   opts.WebhookClient,
		smsURL:     opts.SMSURL,
		smsMethod:  opts.SMSMethod,
		svcNumber:  opts.MessagingServiceNumber,
		fallback:   opts.DefaultPersona,
		personas:   map[string]Persona{},
		calls:      map[string]*call{},
		msgs:       map[string]*message{},
		blocked:    map[string]bool{},
		recs:       map[string]recording{},
		idle:       make(chan struct{}),
	}
	close(s.idle)
	if s.accountSID == "" {
		s.accountSID = newSid("AC")
	} else if !accountPattern.MatchString(s.accountSID) {
		return nil, fmt.Errorf("twiliosim: Options.AccountSID %q: want \"AC\" followed by 32 lower-case hex digits", s.accountSID)
	}
	if s.authToken == "" {
		s.authToken = newToken()
	} else if !tokenPattern.MatchString(s.authToken) {
		// twilio-go refuses credentials with other characters before sending.
		return nil, errors.New("twiliosim: Options.AuthToken must be letters and digits only")
	}
	switch {
	case opts.Speed < 0:
		return nil, fmt.Errorf("twiliosim: Options.Speed %v: must not be negative", opts.Speed)
	case s.clock == nil && opts.Speed > 0:
		s.clock = Accelerated(opts.Speed)
	case s.clock == nil:
		s.clock = RealClock()
	}
	if s.latency < 0 {
		return nil, fmt.Errorf("twiliosim: Options.Latency %v: must not be negative", s.latency)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.webhooks == nil {
		s.webhooks = &http.Client{Timeout: 15 * time.Second}
	}
	if s.smsURL != "" {
		if err := checkWebhookURL(s.smsURL); err != nil {
			return nil, fmt.Errorf("twiliosim: Options.SMSURL: %w", err)
		}
	}
	switch s.smsMethod {
	case "":
		s.smsMethod = http.MethodPost
	case http.MethodGet, http.MethodPost:
	default:
		return nil, fmt.Errorf("twiliosim: Options.SMSMethod %q: want GET or POST", s.smsMethod)
	}
	if s.svcNumber == "" {
		s.svcNumber = "+15005550006"
	} else if !validE164(s.svcNumber) {
		return nil, fmt.Errorf("twiliosim: Options.MessagingServiceNumber %q is not an E.164 number", s.svcNumber)
	}
	s.optOut = keywordSet(opts.OptOutWords, DefaultOptOutWords())
	s.optIn = keywordSet(opts.OptInWords, DefaultOptInWords())
	for number, p := range opts.Personas {
		if !validE164(number) {
			return nil, fmt.Errorf("twiliosim: Options.Personas: %q is not an E.164 number", number)
		}
		if p == nil {
			return nil, fmt.Errorf("twiliosim: Options.Personas[%s] is nil", mask(number))
		}
		s.personas[number] = p
	}
	for _, f := range opts.RESTFaults {
		if err := checkRESTFault(f); err != nil {
			return nil, err
		}
		s.faults.addREST(f)
	}
	for _, f := range opts.CallbackFaults {
		if err := checkCallbackFault(f); err != nil {
			return nil, err
		}
		s.faults.addCallback(f)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = s.routes()
	return s, nil
}

func keywordSet(words, defaults []string) map[string]bool {
	if words == nil {
		words = defaults
	}
	m := make(map[string]bool, len(words))
	for _, w := range words {
		if k := foldKeyword(w); k != "" {
			m[k] = true
		}
	}
	return m
}

// checkWebhookURL accepts what Twilio accepts as a webhook: an absolute
// http or https URL with a host.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

func checkRESTFault(f RESTFault) error {
	if !f.Hang && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("twiliosim: RESTFault.Status %d: want an HTTP error status (400–599) or Hang", f.Status)
	}
	if f.Times < 0 {
		return fmt.Errorf("twiliosim: RESTFault.Times %d: must not be negative", f.Times)
	}
	return nil
}

func checkCallbackFault(f CallbackFault) error {
	switch f.Action {
	case Drop, Duplicate, Late:
	default:
		return fmt.Errorf("twiliosim: CallbackFault.Action %q: want drop, duplicate or late", f.Action)
	}
	switch f.Hook {
	case "", HookCallStatus, HookAMD, HookRecordingStatus, HookMessageStatus, HookIncomingSMS:
	default:
		return fmt.Errorf("twiliosim: CallbackFault.Hook %q is not a callback kind", f.Hook)
	}
	if f.Times < 0 {
		return fmt.Errorf("twiliosim: CallbackFault.Times %d: must not be negative", f.Times)
	}
	return nil
}

// AccountSID is the account the simulator serves.
func (s *Simulator) AccountSID() string { return s.accountSID }

// AuthToken is the account's auth token: REST credentials and webhook
// signing key.
func (s *Simulator) AuthToken() string { return s.authToken }

// Clock is the simulator's clock.
func (s *Simulator) Clock() Clock { return s.clock }

// ServeHTTP serves Twilio's REST API (2010-04-01 Calls and Messages).
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetPersona makes p play the customer at number from now on; nil removes
// the number's persona.
func (s *Simulator) SetPersona(number string, p Persona) error {
	if !validE164(number) {
		return fmt.Errorf("twiliosim: SetPersona: %q is not an E.164 number", number)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.personas, number)
	} else {
		s.personas[number] = p
	}
	return nil
}

func (s *Simulator) persona(number string) Persona {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.personas[number]; ok {
		return p
	}
	if s.fallback != nil {
		return s.fallback
	}
	return unallocated{}
}

// InjectREST adds a REST fault while the simulator runs.
func (s *Simulator) InjectREST(f RESTFault) error {
	if err := checkRESTFault(f); err != nil {
		return err
	}
	s.faults.addREST(f)
	return nil
}

// InjectCallback adds a callback fault while the simulator runs.
func (s *Simulator) InjectCallback(f CallbackFault) error {
	if err := checkCallbackFault(f); err != nil {
		return err
	}
	s.faults.addCallback(f)
	return nil
}

// begin counts a call or message as running; false once the simulator is
// closed.
func (s *Simulator) beginLocked() bool {
	if s.closed {
		return false
	}
	if s.active == 0 {
		s.idle = make(chan struct{})
	}
	s.active++
	s.wg.Add(1)
	return true
}

func (s *Simulator) finish() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// Idle waits until no call or message is running — every call ended, every
// callback and reply delivered — or ctx ends.
func (s *Simulator) Idle(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start runs a new simulator on a free port of 127.0.0.1; URL says where.
// Close stops it.
func Start(opts Options) (*Simulator, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("twiliosim: listen: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed after Close
	return s, nil
}

// URL is the base URL of a simulator started with Start or Serve ("" for
// one served some other way): what NewTransport and NewRestClient take.
func (s *Simulator) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// RestClient is twilio-go's client for this simulator's account, pointed at
// it (see NewRestClient). The simulator must have been started with Start
// or Serve.
func (s *Simulator) RestClient() (*twilio.RestClient, error) {
	return NewRestClient(s.URL(), s.accountSID, s.authToken)
}

// Serve listens on addr (host:port) and serves the simulator until ctx
// ends, then stops accepting requests, ends the calls in progress and
// returns. It is what `huifang twiliosim` runs.
func (s *Simulator) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("twiliosim: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.url = "http://" + ln.Addr().String()
	s.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("twilio simulator listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("twiliosim: serve: %w", err)
	case <-ctx.Done():
	}
	s.cancel() // releases hung requests before the shutdown waits for them
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	s.Close()
	if err != nil {
		return fmt.Errorf("twiliosim: shutdown: %w", err)
	}
	return nil
}

// Close ends every call in progress without further callbacks, abandons
// pending deliveries, releases hung requests and waits for the simulator's
// goroutines. It is safe to call more than once.
func (s *Simulator) Close() error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if srv != nil {
		return srv.Close()
	}
	return nil
}
