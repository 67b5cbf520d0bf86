// Package srcerr is the error every parser of a user's file returns (survey
// definitions, calling windows, campaign files): where the problem is, which
// rule it breaks and what to do, printed the way editors and compilers do —
// "file:line:col: message [rule]" — so a person can jump to it.
package srcerr

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a file: a 1-based line and a 1-based column counted in
// characters, as editors show them.
type Pos struct {
	Line int
	Col  int
}

// Error is one problem in a file.
type Error struct {
	File string
	Pos
	Rule string
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", e.File, e.Line, e.Col, e.Msg, e.Rule)
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

// Sort puts the errors in file order, keeping the order of errors at one place.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
}

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
