package surveys

import (
	"errors"

	"github.com/huifang/huifang/internal/srcerr"
)

// Pos is a place in a survey file: a 1-based line and a 1-based column
// counted in characters, as editors show them.
type Pos = srcerr.Pos

// The rules a survey file can break. Each Error names one, so tools and tests
// can tell a misspelt field from a branch that loops back.
const (
	RuleEncoding      = "encoding"      // the file is not UTF-8, or too large
	RuleSyntax        = "yaml-syntax"   // YAML itself does not parse
	RuleAlias         = "yaml-alias"    // anchors, aliases and merge keys are not supported
	RuleType          = "type"          // a value of the wrong shape (a list where a mapping belongs, …)
	RuleUnknownField  = "unknown-field" // a key the format does not define
	RuleDuplicateKey  = "duplicate-key" // the same key twice in one mapping
	RuleRequired      = "required"      // a field that must be present is missing or empty
	RuleValue         = "value"         // a value outside what the field allows
	RuleLanguage      = "language"      // a language that is not declared, or declared badly
	RuleMissingText   = "missing-text"  // a declared language or channel has no wording
	RuleQuestionType  = "question-type" // an unknown question type, or a field that type does not take
	RuleDuplicateID   = "duplicate-id"  // two questions with the same id
	RuleFact          = "fact"          // a fact name that is malformed, reserved, or of the wrong type
	RuleNextTarget    = "next-target"   // a branch to a question that does not exist
	RuleNextBackward  = "next-backward" // a branch to an earlier question (flows only go forward)
	RuleNextKey       = "next-key"      // a branch on an answer the question cannot give
	RuleKeys          = "keys"          // keypad keys that are not single digits, repeat, or take the opt-out key
	RulePlaceholder   = "placeholder"   // an unknown {placeholder}, or {part} outside a per-part question
	RuleSMSLength     = "sms-length"    // an SMS text that does not fit one segment
	RuleCondition     = "condition"     // a skip_if condition that does not parse
	RuleEachPart      = "each-part"     // a per-part question that branches by answer
	RuleUnreachable   = "unreachable"   // a question no path can reach
	RuleTooManyErrors = "too-many-errors"
)

// Error is one problem in a survey file: where it is, which rule it breaks and
// what to do about it. Its text reads "file:line:col: message [rule]".
type Error = srcerr.Error

// Errors is every problem found in one file, in file order.
type Errors = srcerr.Errors

// AsErrors returns the file errors inside err, or nil when err carries none.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}
