package surveys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each broken file is rejected with the error at the right place, naming the
// rule it breaks. A file may have more errors than the one listed; the
// listed one must be among them.
func TestParseRejectsBrokenFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file      string
		line, col int
		rule      string
		msg       string
	}{
		{"syntax.yaml", 12, 6, RuleSyntax, "mapping values are not allowed"},
		{"two_documents.yaml", 14, 1, RuleSyntax, "one YAML document"},
		{"alias.yaml", 6, 14, RuleAlias, "anchors (&bye) are not supported"},
		{"alias.yaml", 8, 10, RuleAlias, "aliases (*bye) are not supported"},
		{"wrong_shape.yaml", 10, 3, RuleType, "questions must be a list"},
		{"unknown_field.yaml", 9, 1, RuleUnknownField, `unknown field "qestions" in the survey (did you mean "questions"?)`},
		{"duplicate_key.yaml", 14, 5, RuleDuplicateKey, `"fact" is given twice in question "fixed" (first on line 12)`},
		{"missing_fact.yaml", 10, 5, RuleRequired, `question "fixed" needs fact`},
		{"voice_settings_missing.yaml", 4, 7, RuleRequired, "language en needs voice"},
		{"unknown_type.yaml", 11, 11, RuleQuestionType, `unknown type "yes_or_no"`},
		{"field_for_other_type.yaml", 13, 5, RuleQuestionType, "a yes_no question takes no max_amount"},
		{"duplicate_id.yaml", 14, 9, RuleDuplicateID, `question id "fixed" is already used by the question on line 10`},
		{"missing_language.yaml", 14, 13, RuleMissingText, `question "fixed" prompt has no zh-CN wording`},
		{"voice_wording_missing.yaml", 17, 9, RuleMissingText, `prompt in en has no voice wording`},
		{"undeclared_language.yaml", 15, 7, RuleLanguage, `wording for "fr", which is not declared under languages (en)`},
		{"fact_kind.yaml", 12, 11, RuleFact, `fact "csat" is an int, but a yes_no question records a bool`},
		{"reserved_fact.yaml", 12, 11, RuleFact, `"opted_out" is reserved`},
		{"opt_out_key.yaml", 13, 19, RuleKeys, "key 9 is the opt-out key"},
		{"next_backward.yaml", 18, 18, RuleNextBackward, `next goes back to "fixed"`},
		{"next_unknown_target.yaml", 15, 14, RuleNextTarget, `next goes to "fixd", which is not a question (did you mean "fixed"?)`},
		{"next_key.yaml", 14, 12, RuleNextKey, `"unsure" is not an answer of this yes_no question`},
		{"each_part_branch.yaml", 15, 11, RuleEachPart, "cannot branch by answer"},
		{"placeholder.yaml", 13, 27, RulePlaceholder, "unknown placeholder {prodcut}"},
		{"part_outside_loop.yaml", 14, 20, RulePlaceholder, "{part} is only known in a per-part question"},
		{"sms_too_long.yaml", 14, 14, RuleSMSLength, `question "fixed" prompt in zh-CN is 72 UCS-2 characters`},
		{"bad_condition.yaml", 13, 14, RuleCondition, `"=" is not an operator`},
		{"condition_fact_later.yaml", 13, 14, RuleCondition, `reads fact "working", which no earlier question records`},
		{"unreachable.yaml", 15, 5, RuleUnreachable, `question "working" can never be asked`},
		{"rating_range.yaml", 14, 10, RuleValue, "max (3) must be above min (5)"},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, ".yaml")+"/"+c.rule, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", c.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			def, err := ParseDefinition(path, src)
			if def != nil || err == nil {
				t.Fatal("the broken file was accepted")
			}
			es := AsErrors(err)
			if len(es) == 0 {
				t.Fatalf("error %v carries no positions", err)
			}
			for _, e := range es {
				if e.Line == c.line && e.Col == c.col && e.Rule == c.rule && strings.Contains(e.Msg, c.msg) {
					want := path + ":" + itoa(int64(c.line)) + ":" + itoa(int64(c.col)) + ": "
					if !strings.HasPrefix(e.Error(), want) || !strings.HasSuffix(e.Error(), "["+c.rule+"]") {
						t.Fatalf("error text %q, want it to start %q and end with the rule", e.Error(), want)
					}
					return
				}
			}
			t.Fatalf("want %d:%d %s %q; got\n%v", c.line, c.col, c.rule, c.msg, err)
		})
	}
}

// Every file in testdata/invalid is covered by the table above.
func TestEveryBrokenFileIsListed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("%d broken files, want at least 15", len(files))
	}
	for _, f := range files {
		src, _ := os.ReadFile(f)
		if d, err := ParseDefinition(f, src); d != nil || len(AsErrors(err)) == 0 {
			t.Errorf("%s: accepted or rejected without a position: %v", f, err)
		}
	}
}

func TestParseRejectsBadBytes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  []byte
		pos  Pos
		rule string
	}{
		{"empty", nil, Pos{Line: 1, Col: 1}, RuleRequired},
		{"only a comment", []byte("# nothing here\n"), Pos{Line: 1, Col: 1}, RuleRequired},
		{"not UTF-8", []byte("name: tiny\ntitle: caf\xe9\n"), Pos{Line: 2, Col: 11}, RuleEncoding},
		{"too large", bytes.Repeat([]byte("#"), MaxSourceBytes+1), Pos{Line: 1, Col: 1}, RuleEncoding},
		{"a list, not a survey", []byte("- 1\n- 2\n"), Pos{Line: 1, Col: 1}, RuleType},
		{"a tab for indentation", []byte("name: x\nquestions:\n\t- id: a\n"), Pos{Line: 3, Col: 2}, RuleSyntax},
		{"deep nesting", []byte("name: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n"), Pos{Line: 1, Col: 1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDefinition("in.yaml", c.src)
			es := AsErrors(err)
			if d != nil || len(es) == 0 {
				t.Fatalf("accepted, or no positions: %v", err)
			}
			if c.rule != "" && (es[0].Pos != c.pos || es[0].Rule != c.rule) {
				t.Fatalf("first error %v, want %d:%d [%s]", es[0], c.pos.Line, c.pos.Col, c.rule)
			}
		})
	}
}

// Definitions that differ only in layout, comments and key order are the
// same content: the same canonical JSON and hash, so Publish keeps the
// version. A changed word is new content.
func TestCanonicalFormIgnoresLayout(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("testdata", "all_types.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseDefinition("a.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	relaid := "# a comment at the top\n" + strings.Replace(string(src), "title: Every question type\nkind: any\n", "kind: any   # any job\ntitle: 'Every question type'\n", 1)
	b, err := ParseDefinition("b.yaml", []byte(relaid))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseDefinition("c.yaml", []byte(strings.Replace(string(src), "Thanks.", "Thank you.", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, ha, _ := canonical(a)
	_, hb, _ := canonical(b)
	_, hc, _ := canonical(c)
	if ha != hb {
		t.Fatal("a comment and a reordering changed the hash")
	}
	if ha == hc {
		t.Fatal("a changed wording kept the hash")
	}
}

// A survey too long for many errors stops at a cap instead of flooding.
func TestParseCapsErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name: tiny\nchannels: [sms]\nlanguages:\n  en: {}\nmessages:\n  opted_out: {en: x}\n  help: {en: x}\nclosing: {en: x}\nquestions:\n")
	for i := 0; i < 80; i++ {
		b.WriteString("  - {id: q" + itoa(int64(i)) + ", type: nope, fact: f, prompt: {en: x}}\n")
	}
	_, err := ParseDefinition("many.yaml", []byte(b.String()))
	es := AsErrors(err)
	markers := 0
	for _, e := range es {
		if e.Rule == RuleTooManyErrors {
			markers++
		}
	}
	if len(es) != maxErrors+1 || markers != 1 {
		t.Fatalf("%d errors with %d markers, want %d with one too-many-errors marker", len(es), markers, maxErrors+1)
	}
}
