package twiliosim

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
)

// newSid makes a Twilio resource identifier: a two-letter prefix naming the
// resource ("CA" call, "SM" message, "RE" recording, "AC" account) and 32
// lower-case hex digits, 34 characters in all.
func newSid(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b[:])
}

// newToken makes a random auth token in Twilio's shape: 32 hex digits.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var sidPattern = regexp.MustCompile(`^[A-Z]{2}[0-9a-f]{32}$`)

// validSid reports whether s is a Twilio SID with the given prefix.
func validSid(s, prefix string) bool {
	return strings.HasPrefix(s, prefix) && sidPattern.MatchString(s)
}

// e164 is a phone number as Twilio takes it: a plus, a country code that
// does not start with 0, and up to 15 digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func validE164(s string) bool { return e164.MatchString(s) }

// mask hides the middle of a phone number for logs: "+861380013800" →
// "+861*******00". Nothing the simulator logs carries a full number.
func mask(number string) string {
	if len(number) <= 6 {
		return "***"
	}
	return number[:4] + strings.Repeat("*", len(number)-6) + number[len(number)-2:]
}

// formatted is how Twilio shows a number in from_formatted / to_formatted:
// North American numbers as "(415) 555-1212", others in E.164.
func formatted(number string) string {
	if len(number) == 12 && strings.HasPrefix(number, "+1") {
		d := number[2:]
		return "(" + d[:3] + ") " + d[3:6] + "-" + d[6:]
	}
	return number
}

// rfc2822 formats t the way Twilio's REST API and webhooks do:
// "Tue, 31 Aug 2010 20:36:28 +0000".
func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }
