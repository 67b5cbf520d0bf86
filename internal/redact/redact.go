// Package redact keeps secrets that ride inside connection strings out of
// messages and logs.
package redact

import "strings"

// Password removes the password of a URL-form connection string
// (scheme://user:password@host/…) from msg, a message about it. It reads the
// string by hand rather than with net/url, so a URL too malformed to parse —
// exactly the one an error is about — is still redacted.
func Password(msg, connString string) string {
	if i := strings.Index(connString, "://"); i >= 0 {
		rest := connString[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				if pw := rest[colon+1 : at]; pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
		}
	}
	return msg
}
