// Package surveys owns what a customer is asked after an install or a repair:
// survey definitions (versioned, multilingual YAML), the question-flow engine,
// answer parsing, and the scripts Huifang ships with.
//
// # Definitions
//
// A survey is a YAML file (see scripts/ for complete examples). ParseDefinition
// reads it with gopkg.in/yaml.v3's node API so every problem it finds names
// the file, line and column and the rule broken — "repair.yaml:41:9: next
// goes back to "visit": branches must go forward [next-backward]" — and a
// definition that parses is known to be runnable: every branch target exists
// and lies ahead, every placeholder is known, every declared language and
// channel has its wording, and every SMS text fits one segment.
//
// Each question records its answer as a named, typed fact (visit_confirmed,
// part_confirmed[HE-01], customer_paid_amount, csat, …). The audit checks
// read facts, never prompts, so a survey's wording can change freely while
// the checks keep working.
//
// # Versions
//
// A survey a campaign uses never changes underneath it: Store.Publish stores
// a new version only when the content differs from the latest one, stored
// rows are never updated, and every engine State carries the survey name and
// version it was started on.
//
// # The engine
//
// The engine is a pure function. Given a survey version, a Job and a State
// (the append-only list of what happened so far: answers, failed inputs,
// skips, read-back confirmations, an opt-out), Definition.Next returns the
// next Step — what to say or send, and what input to expect — or the end.
// Definition.Apply takes one raw input (keys pressed, speech transcribed, a
// text message, a recording, or silence), returns the entries it adds and the
// step after. Callers store the added entries as they arrive; a hang-up after
// question two leaves the first two answers stored and the state resumable.
//
// Nothing here speaks HTTP or reads the clock: the voice webhook turns a Step
// into TwiML (Expect carries numDigits, finishOnKey, timeout, speech hints,
// the voice and the language), the SMS handler sends Step.Prompt as one
// message, and both turn what comes back into an Input.
package surveys
