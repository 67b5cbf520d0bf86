package twiliosim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Signature computes the X-Twilio-Signature header Twilio sends with a
// webhook, from the account's auth token, the full URL Twilio requested
// (scheme, host, port, path and query exactly as configured) and, for a
// POST, the form parameters of the body:
//
//  1. take the URL;
//  2. sort the POST parameters by name and append each name immediately
//     followed by its value (a name that repeats is appended once per value,
//     values in sorted order);
//  3. sign that string with HMAC-SHA1 keyed by the auth token;
//  4. encode the digest in standard base64.
//
// For a GET, pass nil params: the parameters are already in the URL's query.
// twilio-go's client.RequestValidator accepts exactly these signatures.
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
