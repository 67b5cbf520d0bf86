package surveys

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// FuzzParseDefinition feeds arbitrary bytes to the parser. Whatever it gets,
// it returns a definition or errors that name a real place and a rule —
// never a panic — and a definition it accepts can be run, rendered,
// published (canonical JSON) and parsed again to the same content.
func FuzzParseDefinition(f *testing.F) {
	// Seeds are small on purpose: the fuzzer minimises every input that adds
	// coverage by deleting subsets of its bytes, which is quadratic in its
	// length. The shipped scripts are covered by the unit tests instead.
	for _, pattern := range []string{"testdata/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if src, err := os.ReadFile(file); err == nil {
				f.Add(src)
			}
		}
	}
	f.Add([]byte(compactSeed))
	f.Add([]byte("name: x\nquestions: [{id: a, type: rating, fact: f, min: 0, max: 10, prompt: {en: '{{x}}'}}]\n"))
	f.Add([]byte("{a: [b, {c: d}], e: !!binary aGVsbG8=}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := ParseDefinition("fuzz.yaml", src)
		if err != nil {
			es := AsErrors(err)
			if len(es) == 0 {
				t.Fatalf("error without positions: %v", err)
			}
			for _, e := range es {
				if e.Line < 1 || e.Col < 1 || e.Rule == "" || e.Msg == "" || e.File != "fuzz.yaml" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		_, sum, err := canonical(d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseDefinition("again.yaml", d.Source)
		if err != nil {
			t.Fatalf("accepted once, rejected the second time: %v", err)
		}
		if _, sum2, _ := canonical(again); sum2 != sum {
			t.Fatal("parsing the same source twice gave different content")
		}
		exercise(t, d)
	})
}

// exercise runs a definition that parsed, on each of its channels in its
// default language, through silence, answers, junk and help, and renders it.
// It stays cheap: the fuzzer runs it for every input it keeps.
func exercise(t *testing.T, d *Definition) {
	kind := JobRepair
	if d.Kind == "install" {
		kind = JobInstall
	}
	job := SampleJob(kind)
	for _, ch := range d.Channels {
		st, err := d.Start(job, ch, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.RenderScript(io.Discard, job, ch, st.Lang); err != nil {
			t.Fatal(err)
		}
		inputs := []Input{keys("1"), silence, say("yes"), keys("0"), keys("5*"), say("不知道")}
		if ch == SMS {
			inputs = []Input{text("1"), silence, text("junk"), text("0"), text("3/14"), text("帮助")}
		}
		for i := 0; i < 12; i++ {
			o, err := d.Apply(job, st, inputs[i%len(inputs)])
			if errors.Is(err, ErrEnded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			st = o.State
		}
		if _, err := d.Next(job, &st); err != nil {
			t.Fatal(err)
		}
	}
}

// compactSeed is a small survey that still uses most of the format: both
// channels, two languages, an intro, a read-back, a per-part loop, every
// branch form, a skip_if on a fact, and most question types.
const compactSeed = `name: seed
kind: repair
languages: {en: {voice: V, tts_language: en-US, speech_language: en-US}, zh-CN: {voice: Z, tts_language: cmn-CN}}
intro: {en: "{brand} {service} {date}. Press 1.", zh-CN: "{brand}{date}{service}。按1。"}
messages:
  no_input: {en: Sorry., zh-CN: 抱歉。}
  invalid: {en: Sorry!, zh-CN: 无效。}
  opted_out: {en: Bye., zh-CN: 再见。}
  help: {en: Help., zh-CN: 帮助。}
closing: {en: Thanks., zh-CN: 谢谢。}
questions:
  - {id: v, type: yes_no_unsure, fact: visit_confirmed, prompt: {en: "{product}?", zh-CN: "{product}？"}, read_back: {"no": {en: Sure?, zh-CN: 确定？}}, next: {"no": end}}
  - {id: p, type: yes_no_unsure, fact: part_replaced, skip_if: claimed_parts == 0, prompt: {en: Part?, zh-CN: 配件？}, next: {"yes": w, default: a}}
  - {id: w, type: yes_no_unsure, fact: part_confirmed, each_part: true, max_parts: 2, prompt: {en: "{part}?", zh-CN: "{part}？"}}
  - {id: a, type: amount, fact: customer_paid_amount, nonzero_fact: customer_charged, prompt: {en: Paid?, zh-CN: 付费？}}
  - {id: r, type: yes_no, fact: receipt, skip_if: [facts.customer_charged == no], keys: {"yes": "2", "no": "1"}, words: {en: {"yes": [got it]}}, prompt: {en: Receipt?, zh-CN: 收据？}}
  - {id: d, type: date, fact: visit_date, channels: [sms], prompt: {en: When?, zh-CN: 哪天？}}
  - {id: c, type: choice, fact: how, options: [{value: a, key: "1", label: {en: phone}}, {value: b, key: "2", words: {zh-CN: [店]}}], prompt: {en: How?, zh-CN: 如何？}, next: {b: n}}
  - {id: s, type: rating, fact: csat, prompt: {en: Rate?, zh-CN: 评分？}, next: {"1-2": t, default: n}}
  - {id: n, type: nps, fact: nps, prompt: {en: NPS?, zh-CN: 推荐？}, next: {promoter: end}}
  - {id: t, type: free_text, fact: comment, prompt: {en: Why?, zh-CN: 为什么？}}
`

var dateRe = regexp.MustCompile(`^$|^\d{4}-\d{2}-\d{2}$`)

// FuzzParseSMSAnswer feeds arbitrary replies to the questions of the shipped
// scripts and of the all-types survey — pick chooses which — as SMS text, as
// speech and as keys, and through the engine. Every reply gets a kind; an
// answer has the question's fact kind and lies in its range; an invalid reply
// says why.
func FuzzParseSMSAnswer(f *testing.F) {
	seeds := []string{
		"1", "1.", " 1 ", "１", "①", "【1】", "2。", "3", "yes", "Y", "YES!!!", "Yes, he came", "no", "N", "nope",
		"No one came", "not sure", "I don’t know", "是", "是的", "对", "对的，来过了", "不是", "否", "没有", "不确定",
		"不记得了", "1是", "回1", "1 no", "没有，是的", "4", "12", "", "？？？", "👍", "hello", "是不是", "修好了", "没修好",
		"STOP", "退订", "TD", "T", "请不要再发短信了", "Stop texting me", "HELP", "帮助", "0", "50", "50元", "¥50", "￥50",
		"$50.00", "50.5", "1,200", "２００元", "五十", "一百五", "两百块", "三块五", "3块5", "大概200块", "fifty dollars",
		"-50", "50.555", "50 or 60", "50-60", "5分", "五星", "4/5", "4 out of 5", "非常满意", "十分满意", "4.5", "10/10",
		"3/15", "3月15日", "15号", "2025-03-12", "March 12", "the 12th of March", "12/28", "2/30", "小程序", "phone or app",
		"99999999999999999999999", "一万万万万万", "零点零零零一", "a hundred and one thousand", "9.9.9", "--5", "1e9",
	}
	for i, s := range seeds {
		f.Add(uint8(i*7), s)
	}
	all, err := os.ReadFile(filepath.Join("testdata", "all_types.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	allTypes, err := ParseDefinition("all_types.yaml", all)
	if err != nil {
		f.Fatal(err)
	}
	type target struct {
		d *Definition
		q *Question
	}
	var targets []target
	defs := []*Definition{allTypes}
	shipped, err := Shipped()
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range sortedKeys(shipped) {
		defs = append(defs, shipped[name])
	}
	for _, d := range defs {
		for _, q := range d.Questions {
			targets = append(targets, target{d, q})
		}
	}
	job := SampleJob(JobRepair)
	f.Fuzz(func(t *testing.T, pick uint8, reply string) {
		_ = ClassifyKeyword(reply)
		tg := targets[int(pick)%len(targets)]
		for _, in := range []Input{text(reply), say(reply), keys(reply)} {
			checkReplyShape(t, tg.q, tg.d.interpret(tg.q, in, job), reply)
		}
		// Through the engine, as the first reply of an SMS run.
		st, err := allTypes.Start(job, SMS, "zh-CN")
		if err != nil {
			t.Fatal(err)
		}
		o, err := allTypes.Apply(job, st, text(reply))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(o.State); err != nil {
			t.Fatal(err)
		}
	})
}

func checkReplyShape(t *testing.T, q *Question, r Reply, reply string) {
	t.Helper()
	switch r.Kind {
	case ReplyNone, ReplyOptOut, ReplyHelp:
	case ReplyInvalid:
		if r.Invalid == nil || r.Invalid.Reason == "" || r.Invalid.Detail == "" {
			t.Fatalf("%s: %q: invalid without a reason: %+v", q.ID, reply, r.Invalid)
		}
	case ReplyAnswer:
		v := r.Value
		if v.Kind != q.Type.factKind() {
			t.Fatalf("%s: %q: answer kind %s, want %s", q.ID, reply, v.Kind, q.Type.factKind())
		}
		switch q.Type {
		case TypeRating, TypeNPS:
			if v.Int < int64(q.Min) || v.Int > int64(q.Max) {
				t.Fatalf("%s: %q: score %d outside %d–%d", q.ID, reply, v.Int, q.Min, q.Max)
			}
		case TypeAmount:
			if v.Int < 0 || v.Int > q.MaxAmount*100 {
				t.Fatalf("%s: %q: amount %d outside 0–%d", q.ID, reply, v.Int, q.MaxAmount*100)
			}
		case TypeDate:
			if !dateRe.MatchString(v.Str) {
				t.Fatalf("%s: %q: date %q", q.ID, reply, v.Str)
			}
		case TypeChoice:
			if !slices.Contains(q.labels(), v.Str) {
				t.Fatalf("%s: %q: choice %q is not an option", q.ID, reply, v.Str)
			}
		case TypeYesNoUnsure:
			if v.Tri != Yes && v.Tri != No && v.Tri != Unsure {
				t.Fatalf("%s: %q: tri %q", q.ID, reply, v.Tri)
			}
		}
	default:
		t.Fatalf("%s: %q: reply kind %q", q.ID, reply, r.Kind)
	}
}
