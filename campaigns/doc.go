// Package campaigns owns campaign definitions, targeting and sampling,
// calling windows, the suppression list, enrolment, and the contacts table
// (the dial queue).
//
// calendar.go is the calling-window part: when a recipient may be called or
// texted, evaluated in the recipient's own time zone (or zones, when the
// address and the number disagree: then only times open in both count). It is
// pure Go and reads no clock; every function takes the instant to judge.
package campaigns
