package twiliosim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

// NewTransport returns the http.RoundTripper that points twilio-go at a
// simulator. twilio-go builds every URL itself from the fixed base
// "https://api.twilio.com" (optionally rewritten to an edge/region host such
// as api.sydney.au1.twilio.com by TWILIO_EDGE / TWILIO_REGION), so the one
// seam that leaves the client unmodified is its *http.Client: this transport
// sends any request for twilio.com or a host under it to base (the
// simulator's "http://host:port") with the same method, path, query, headers
// and body, and refuses every other host, so a test can never reach the real
// Twilio by mistake. next carries the rewritten request; nil means
// http.DefaultTransport.
func NewTransport(base string, next http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("twiliosim: base URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("twiliosim: base URL %q must be http:// or https:// with a host", base)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("twiliosim: base URL %q must have no path or query: twilio-go sends the API path itself", base)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &redirectTransport{scheme: u.Scheme, host: u.Host, next: next}, nil
}

type redirectTransport struct {
	scheme, host string
	next         http.RoundTripper
}

func (t *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Hostname())
	switch {
	case req.URL.Host == t.host:
	case host == "twilio.com" || strings.HasSuffix(host, ".twilio.com"):
	default:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("twiliosim: refusing a request to %s: only Twilio hosts are sent to the simulator", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = t.scheme
	out.URL.Host = t.host
	out.Host = t.host
	return t.next.RoundTrip(out)
}

// NewHTTPClient returns the *http.Client to hand twilio-go (its
// client.Client.HTTPClient field) so that it talks to the simulator at base.
// Like twilio-go's own default it never follows redirects and gives up after
// 10 seconds; twilio.RestClient.SetTimeout changes that as usual.
func NewHTTPClient(base string) (*http.Client, error) {
	rt, err := NewTransport(base, nil)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// NewRestClient builds twilio-go's own RestClient for the account, with the
// credentials passed explicitly (never read from TWILIO_* variables) and
// every request sent to the simulator at base. It is exactly what a
// production carrier builds, plus the HTTP client:
//
//	c := &client.Client{Credentials: client.NewCredentials(sid, token), HTTPClient: hc}
//	c.SetAccountSid(sid)
//	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
func NewRestClient(base, accountSID, authToken string) (*twilio.RestClient, error) {
	hc, err := NewHTTPClient(base)
	if err != nil {
		return nil, err
	}
	c := &client.Client{Credentials: client.NewCredentials(accountSID, authToken), HTTPClient: hc}
	c.SetAccountSid(accountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), nil
}
