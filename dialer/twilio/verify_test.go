package twilio_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/huifang/huifang/dialer/twilio"
)

// The example from Twilio's security documentation: auth token 12345, this
// URL and these parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
const (
	docToken     = "12345"
	docBase      = "https://mycompany.com"
	docPath      = "/myapp.php?foo=1&bar=2"
	docSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

var docParams = url.Values{
	"CallSid": {"CA1234567890ABCDE"},
	"Caller":  {"+12349013030"},
	"Digits":  {"1234"},
	"From":    {"+12349013030"},
	"To":      {"+18005551212"},
}

func TestVerifierAdmitsOnlySignedWebhooks(t *testing.T) {
	t.Parallel()
	v, err := twilio.NewVerifier(docToken, docBase)
	if err != nil {
		t.Fatal(err)
	}
	var reached []string
	srv := httptest.NewServer(v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.PostForm.Get("Digits"))
		w.Write([]byte("<Response/>"))
	})))
	defer srv.Close()

	tampered := url.Values{}
	for k, vs := range docParams {
		tampered[k] = vs
	}
	tampered.Set("Digits", "1235")
	extra := url.Values{}
	for k, vs := range docParams {
		extra[k] = vs
	}
	extra.Set("AnsweredBy", "human")

	for _, tc := range []struct {
		name      string
		path      string
		body      string
		signature string
		want      int
	}{
		{"Twilio's documented example", docPath, docParams.Encode(), docSignature, 200},
		{"a tampered parameter", docPath, tampered.Encode(), docSignature, 403},
		{"an added parameter", docPath, extra.Encode(), docSignature, 403},
		{"the wrong URL", "/myapp.php?foo=1&bar=3", docParams.Encode(), docSignature, 403},
		{"another path", "/other.php?foo=1&bar=2", docParams.Encode(), docSignature, 403},
		{"no signature", docPath, docParams.Encode(), "", 403},
		{"a signature that is not base64", docPath, docParams.Encode(), "%%%", 403},
		{"a malformed form body", docPath, "Digits=%zz", docSignature, 400},
		{"a body over 64 KiB", docPath, "Body=" + strings.Repeat("x", 70<<10), docSignature, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.signature != "" {
				req.Header.Set("X-Twilio-Signature", tc.signature)
			}
			before := len(reached)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if got := len(reached) - before; (tc.want == 200) != (got == 1) {
				t.Fatalf("the handler ran %d times for a %d", got, tc.want)
			}
		})
	}
	// The server's own address differs from the public one, as behind a proxy:
	// the documented request validated only because the URL was rebuilt.
	if strings.HasPrefix(srv.URL, docBase) {
		t.Fatal("test server unexpectedly at the public URL")
	}
}

func TestNewVerifierRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ token, base string }{
		{"", "https://h.example.com"},
		{"t", "h.example.com"},
		{"t", "ftp://h.example.com"},
		{"t", ""},
	} {
		if _, err := twilio.NewVerifier(tc.token, tc.base); err == nil {
			t.Errorf("NewVerifier(%q, %q) accepted", tc.token, tc.base)
		}
	}
}
