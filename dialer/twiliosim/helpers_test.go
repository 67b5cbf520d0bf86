package twiliosim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// Numbers used across the tests: ours and the customers'.
const (
	ourNumber = "+15017122661"
	customer  = "+14155550100"
	cnNumber  = "+8613800138000"
)

// fast is the speed tests run simulated time at: a minute takes 60 ms.
const fast = 1000

// setup starts a simulator behind a real HTTP server and twilio-go's real
// client pointed at it. Both close when the test ends.
func setup(t *testing.T, opts Options) (*Simulator, *twilio.RestClient) {
	t.Helper()
	sim, rc, _ := setupAt(t, opts)
	return sim, rc
}

// setupAt is setup that also returns the simulator's base URL.
func setupAt(t *testing.T, opts Options) (*Simulator, *twilio.RestClient, string) {
	t.Helper()
	if opts.Speed == 0 && opts.Clock == nil {
		opts.Speed = fast
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { sim.Close() }) // runs first: releases hung requests
	rc, err := NewRestClient(srv.URL, sim.AccountSID(), sim.AuthToken())
	if err != nil {
		t.Fatal(err)
	}
	return sim, rc, srv.URL
}

// request is one webhook the app received.
type request struct {
	Method string
	Path   string
	Form   url.Values
	Header http.Header
	Body   string
}

// app is the application side of the tests: an HTTP server that validates
// every webhook's X-Twilio-Signature with twilio-go's RequestValidator,
// records every request, and answers TwiML from its routes. An unsigned or
// forged request gets 403 and is counted in Forged.
type app struct {
	t      *testing.T
	srv    *httptest.Server
	rv     client.RequestValidator
	mu     sync.Mutex
	routes map[string]func(form url.Values) string
	reqs   []request
	forged []string
}

func newApp(t *testing.T, authToken string) *app {
	t.Helper()
	a := &app{t: t, rv: client.NewRequestValidator(authToken), routes: map[string]func(url.Values) string{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	t.Cleanup(func() {
		if f := a.Forged(); len(f) > 0 {
			t.Errorf("webhooks failed signature validation: %v", f)
		}
	})
	return a
}

// URL is the app's address for path.
func (a *app) URL(path string) string { return a.srv.URL + path }

// twiml makes path answer with a fixed TwiML document.
func (a *app) twiml(path, doc string) {
	a.handle(path, func(url.Values) string { return doc })
}

func (a *app) handle(path string, h func(form url.Values) string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.routes[path] = h
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	full := "http://" + r.Host + r.URL.RequestURI()
	sig := r.Header.Get("X-Twilio-Signature")
	var form url.Values
	var ok bool
	if r.Method == http.MethodGet {
		form = r.URL.Query()
		ok = a.rv.Validate(full, map[string]string{}, sig)
	} else {
		form, _ = url.ParseQuery(string(body))
		params := map[string]string{}
		for k := range form {
			params[k] = form.Get(k)
		}
		ok = a.rv.Validate(full, params, sig)
	}
	a.mu.Lock()
	if !ok {
		a.forged = append(a.forged, r.Method+" "+r.URL.Path)
		a.mu.Unlock()
		http.Error(w, "forged", http.StatusForbidden)
		return
	}
	a.reqs = append(a.reqs, request{Method: r.Method, Path: r.URL.Path, Form: form, Header: r.Header.Clone(), Body: string(body)})
	h := a.routes[r.URL.Path]
	a.mu.Unlock()
	if h == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, h(form))
}

// Requests returns the requests received on path, in order.
func (a *app) Requests(path string) []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []request
	for _, r := range a.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (a *app) Forged() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.forged)
}

// values returns one parameter of each request.
func values(reqs []request, name string) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Form.Get(name)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// placeCall creates a call through twilio-go and waits for it to end.
func placeCall(t *testing.T, sim *Simulator, rc *twilio.RestClient, p *api.CreateCallParams) CallRecord {
	t.Helper()
	c, err := rc.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	rec, err := sim.WaitCall(ctxT(t), *c.Sid)
	if err != nil {
		t.Fatalf("WaitCall: %v", err)
	}
	return rec
}

func callParams(to, twimlURL string) *api.CreateCallParams {
	p := &api.CreateCallParams{}
	p.SetTo(to)
	p.SetFrom(ourNumber)
	p.SetUrl(twimlURL)
	return p
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// httpHandler answers every request with a fixed status, type and body.
func httpHandler(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// newRawServer serves h without any signature checking: an app that
// misbehaves.
func newRawServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
