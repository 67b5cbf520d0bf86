package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// maxWebhookBody bounds a webhook's form body; Twilio's are a few kilobytes.
const maxWebhookBody = 64 << 10

// Verifier admits only webhooks Twilio signed. Twilio signs the URL it
// called — the public one, which behind a proxy or tunnel is not the one this
// server sees — so the URL is rebuilt from PublicBaseURL and the request's
// path and query. A forged, unsigned or tampered request gets 403 before any
// handler runs, so it changes nothing.
type Verifier struct {
	validator client.RequestValidator
	base      *url.URL
}

// NewVerifier checks signatures made with authToken against URLs under
// publicBaseURL (e.g. https://huifang.example.com).
func NewVerifier(authToken, publicBaseURL string) (*Verifier, error) {
	u, err := url.Parse(strings.TrimRight(publicBaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("PUBLIC_BASE_URL must be an absolute http(s) URL such as https://huifang.example.com")
	}
	if authToken == "" {
		return nil, errors.New("the Twilio auth token is empty")
	}
	return &Verifier{validator: client.NewRequestValidator(authToken), base: u}, nil
}

// PublicURL is the URL Twilio called for r.
func (v *Verifier) PublicURL(r *http.Request) string {
	return v.base.Scheme + "://" + v.base.Host + v.base.Path + r.URL.RequestURI()
}

// Wrap returns h behind signature verification. h sees r.PostForm parsed.
func (v *Verifier) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get("X-Twilio-Signature")
		if sig == "" {
			http.Error(w, "missing X-Twilio-Signature", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "malformed form body", http.StatusBadRequest)
			return
		}
		params := make(map[string]string, len(r.PostForm))
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
		if !v.validator.Validate(v.PublicURL(r), params, sig) {
			http.Error(w, "invalid X-Twilio-Signature", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
