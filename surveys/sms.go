package surveys

import (
	"strings"
	"unicode/utf8"
)

// SMSSize says how an SMS body travels: in which encoding, how many
// characters it counts as, and in how many segments. GSM-7 carries 160
// characters in one segment (153 per segment when split); any character
// outside GSM-7 — every Chinese character — switches the whole message to
// UCS-2: 70 in one segment, 67 per segment when split, counted in UTF-16 units.
type SMSSize struct {
	Encoding string // "GSM-7" or "UCS-2"
	Units    int    // septets for GSM-7 (extension characters count 2), UTF-16 units for UCS-2
	Segments int
	Limit    int // what one segment holds in this encoding: 160 or 70
}

// OneSegment reports whether the message is sent as one segment.
func (s SMSSize) OneSegment() bool { return s.Segments <= 1 }

const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// MeasureSMS returns the encoding, size and segment count of body.
func MeasureSMS(body string) SMSSize {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case r < utf8.RuneSelf && strings.IndexByte(gsmBasic, byte(r)) >= 0:
			septets++
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		default:
			gsm = false
		}
		if !gsm {
			break
		}
	}
	if gsm {
		return SMSSize{Encoding: "GSM-7", Units: septets, Segments: segments(septets, 160, 153), Limit: 160}
	}
	units := 0
	for _, r := range body {
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
	}
	return SMSSize{Encoding: "UCS-2", Units: units, Segments: segments(units, 70, 67), Limit: 70}
}

func segments(n, single, multi int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}
