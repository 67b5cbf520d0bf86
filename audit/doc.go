// Package audit checks claims against what customers said and against the
// data, keeps provider statistics and risk, and runs the review workflow the
// callback team works: flags, claims under a lease, decisions, a second
// sign-off, conflicts, and exports for chargeback.
//
// The checks follow DOMAIN.md (1). Answer checks (V1–V6, V16) run when a
// campaign contact ends; intake checks (V7, V9–V13, V15) run on new jobs;
// provider statistics (P1–P4, and V16 per provider) are recomputed on a
// schedule. Each hit is a Finding; Raise turns findings into flags, one per
// (job, rule) — or per (provider, rule) for statistics — so a check that runs
// twice raises nothing new.
//
// The package knows nothing of HTTP: web translates its errors (ErrNotFound,
// ErrConflict, ErrForbidden, *InputError) into status codes.
package audit
