package surveys

import (
	"testing"
	"time"
)

// expect is what one raw reply should mean.
type expect struct {
	kind   ReplyKind
	value  string // Value.String() of an answer
	reason Reason // of an invalid reply
	intent bool   // of an opt-out
}

func ans(v string) expect       { return expect{kind: ReplyAnswer, value: v} }
func bad(r Reason) expect       { return expect{kind: ReplyInvalid, reason: r} }
func optOutReply() expect       { return expect{kind: ReplyOptOut} }
func optOutByIntent() expect    { return expect{kind: ReplyOptOut, intent: true} }
func helpReply() expect         { return expect{kind: ReplyHelp} }
func (e expect) String() string { return string(e.kind) + " " + e.value + string(e.reason) }

func checkReply(t *testing.T, got Reply, want expect) {
	t.Helper()
	if got.Kind != want.kind {
		t.Fatalf("reply kind = %s (value %s, invalid %v), want %s", got.Kind, got.Value, got.Invalid, want)
	}
	switch got.Kind {
	case ReplyAnswer:
		if s := got.Value.String(); s != want.value {
			t.Fatalf("answer = %s, want %s", s, want.value)
		}
	case ReplyInvalid:
		if got.Invalid == nil || got.Invalid.Reason != want.reason {
			t.Fatalf("invalid = %v, want reason %s", got.Invalid, want.reason)
		}
		if got.Invalid.Detail == "" {
			t.Fatalf("invalid %s has no detail", got.Invalid.Reason)
		}
	case ReplyOptOut:
		if got.Intent != want.intent {
			t.Fatalf("opt-out intent = %v, want %v", got.Intent, want.intent)
		}
	}
}

// TestParseSMSAnswer reads replies people really send, in both languages,
// to questions of every type: digits with and without punctuation,
// full-width and circled digits, words, currency, Chinese numerals, and the
// opt-out and help words at every question. The sample jobs complete on
// 2025-03-14 in Asia/Shanghai and are priced in CNY.
func TestParseSMSAnswer(t *testing.T) {
	t.Parallel()
	scripts := map[string]*Definition{
		"repair":       shippedScript(t, "repair-parts-verification"),
		"satisfaction": shippedScript(t, "satisfaction"),
		"all":          parseFile(t, "all_types.yaml"),
	}
	job := SampleJob(JobRepair)
	cases := []struct {
		name     string
		script   string
		question string
		reply    string
		want     expect
	}{
		// yes / no / not sure
		{"digit", "repair", "visit", "1", ans("yes")},
		{"digit with full stop", "repair", "visit", "1.", ans("yes")},
		{"digit in spaces", "repair", "visit", "  1  ", ans("yes")},
		{"full-width digit", "repair", "visit", "１", ans("yes")},
		{"circled digit", "repair", "visit", "①", ans("yes")},
		{"digit in brackets", "repair", "visit", "【1】", ans("yes")},
		{"digit with Chinese full stop", "repair", "visit", "2。", ans("no")},
		{"no key", "repair", "visit", "2", ans("no")},
		{"unsure key", "repair", "visit", "3", ans("unsure")},
		{"yes", "repair", "visit", "yes", ans("yes")},
		{"Y", "repair", "visit", "Y", ans("yes")},
		{"shouted yes", "repair", "visit", "YES!!!", ans("yes")},
		{"full-width YES", "repair", "visit", "ＹＥＳ", ans("yes")},
		{"yes with a sentence", "repair", "visit", "Yes, he came", ans("yes")},
		{"yeah", "repair", "visit", "yeah", ans("yes")},
		{"ok", "repair", "visit", "ok", ans("yes")},
		{"no", "repair", "visit", "no", ans("no")},
		{"N", "repair", "visit", "N", ans("no")},
		{"nope", "repair", "visit", "nope", ans("no")},
		{"no one came", "repair", "visit", "No one came", ans("no")},
		{"never came (question words)", "repair", "visit", "he never came", ans("no")},
		{"not sure", "repair", "visit", "not sure", ans("unsure")},
		{"I don't know with curly apostrophe", "repair", "visit", "I don’t know", ans("unsure")},
		{"是", "repair", "visit", "是", ans("yes")},
		{"是的", "repair", "visit", "是的", ans("yes")},
		{"对", "repair", "visit", "对", ans("yes")},
		{"对的，来过了", "repair", "visit", "对的，来过了", ans("yes")},
		{"嗯嗯", "repair", "visit", "嗯嗯", ans("yes")},
		{"不是", "repair", "visit", "不是", ans("no")},
		{"否", "repair", "visit", "否", ans("no")},
		{"没有", "repair", "visit", "没有", ans("no")},
		{"没人来 (question words)", "repair", "visit", "没人来", ans("no")},
		{"不确定", "repair", "visit", "不确定", ans("unsure")},
		{"不记得了", "repair", "visit", "不记得了", ans("unsure")},
		{"digit and word agree", "repair", "visit", "1是", ans("yes")},
		{"echoing the prompt", "repair", "visit", "回1", ans("yes")},
		{"digit and word agree in English", "repair", "visit", "2 no", ans("no")},
		{"digit and word disagree", "repair", "visit", "1 no", bad(ReasonAmbiguous)},
		{"two clauses disagree", "repair", "visit", "没有，是的", bad(ReasonAmbiguous)},
		{"key not offered", "repair", "visit", "4", bad(ReasonNotAChoice)},
		{"two digits", "repair", "visit", "12", bad(ReasonNotAChoice)},
		{"empty", "repair", "visit", "", bad(ReasonEmpty)},
		{"only punctuation", "repair", "visit", "？？？", bad(ReasonEmpty)},
		{"only an emoji", "repair", "visit", "👍", bad(ReasonEmpty)},
		{"unrelated words", "repair", "visit", "hello there", bad(ReasonNotUnderstood)},
		{"a question back", "repair", "visit", "是不是", bad(ReasonNotUnderstood)},
		{"a greeting is not yes", "repair", "visit", "你好", bad(ReasonNotUnderstood)},
		{"修好了", "repair", "fixed", "修好了", ans("yes")},
		{"没修好 (negation wins in the clause)", "repair", "fixed", "没修好", ans("no")},
		{"还是坏的", "repair", "fixed", "还是坏的", ans("no")},
		{"not fixed", "repair", "fixed", "not fixed", ans("no")},
		{"it works now", "repair", "fixed", "it works now", ans("yes")},
		{"no problem is yes", "repair", "fixed", "没问题", ans("yes")},
		{"not sure to a yes/no question", "repair", "fixed", "not sure", bad(ReasonNotAChoice)},
		{"unsure key to a yes/no question", "repair", "fixed", "3", bad(ReasonNotAChoice)},

		// opt-out and help, at any question
		{"STOP", "repair", "visit", "STOP", optOutReply()},
		{"stop, lower case", "repair", "fixed", "stop", optOutReply()},
		{"Stop. with a full stop", "repair", "paid", "Stop.", optOutReply()},
		{"退订", "repair", "visit", "退订", optOutReply()},
		{"TD", "repair", "satisfaction", "TD", optOutReply()},
		{"td lower case", "satisfaction", "recommend", "td", optOutReply()},
		{"T", "repair", "visit", "T", optOutReply()},
		{"UNSUBSCRIBE", "all", "when", "UNSUBSCRIBE", optOutReply()},
		{"取消", "all", "booked", "取消", optOutReply()},
		{"stop at free text", "satisfaction", "improve", "stop", optOutReply()},
		{"不要再发了 (intent)", "repair", "visit", "请不要再发短信了", optOutByIntent()},
		{"stop texting me (intent)", "repair", "paid", "Stop texting me", optOutByIntent()},
		{"please stop (intent)", "repair", "fixed", "please stop", optOutByIntent()},
		{"HELP", "repair", "visit", "HELP", helpReply()},
		{"帮助", "repair", "paid", "帮助", helpReply()},

		// amounts (CNY)
		{"zero", "repair", "paid", "0", ans("CNY 0.00")},
		{"plain amount", "repair", "paid", "50", ans("CNY 50.00")},
		{"50元", "repair", "paid", "50元", ans("CNY 50.00")},
		{"¥50", "repair", "paid", "¥50", ans("CNY 50.00")},
		{"full-width ￥50", "repair", "paid", "￥50", ans("CNY 50.00")},
		{"$50.00", "repair", "paid", "$50.00", ans("CNY 50.00")},
		{"decimal", "repair", "paid", "50.5", ans("CNY 50.50")},
		{"thousands separator", "repair", "paid", "1,200", ans("CNY 1200.00")},
		{"full-width digits", "repair", "paid", "２００元", ans("CNY 200.00")},
		{"五十", "repair", "paid", "五十", ans("CNY 50.00")},
		{"五十元", "repair", "paid", "五十元", ans("CNY 50.00")},
		{"一百五 (colloquial 150)", "repair", "paid", "一百五", ans("CNY 150.00")},
		{"两百块", "repair", "paid", "两百块", ans("CNY 200.00")},
		{"三块五", "repair", "paid", "三块五", ans("CNY 3.50")},
		{"3块5", "repair", "paid", "3块5", ans("CNY 3.50")},
		{"大概200块", "repair", "paid", "大概200块", ans("CNY 200.00")},
		{"fifty dollars", "repair", "paid", "fifty dollars", ans("CNY 50.00")},
		{"收了80", "repair", "paid", "收了80", ans("CNY 80.00")},
		{"没有 means nothing paid", "repair", "paid", "没有", ans("CNY 0.00")},
		{"免费", "repair", "paid", "免费", ans("CNY 0.00")},
		{"none", "repair", "paid", "none", ans("CNY 0.00")},
		{"no", "repair", "paid", "No", ans("CNY 0.00")},
		{"negative", "repair", "paid", "-50", bad(ReasonNegative)},
		{"too many decimals", "repair", "paid", "50.555", bad(ReasonTooPrecise)},
		{"two amounts", "repair", "paid", "50 or 60", bad(ReasonAmbiguous)},
		{"a range", "repair", "paid", "50-60", bad(ReasonAmbiguous)},
		{"yes without the amount", "repair", "paid", "yes", bad(ReasonAmountNeeded)},
		{"有 without the amount", "repair", "paid", "有", bad(ReasonAmountNeeded)},
		{"no number", "repair", "paid", "a lot", bad(ReasonNotANumber)},
		{"above max_amount", "repair", "paid", "9999999", bad(ReasonOutOfRange)},

		// ratings (1–5)
		{"score", "repair", "satisfaction", "5", ans("5")},
		{"5分", "repair", "satisfaction", "5分", ans("5")},
		{"五星", "repair", "satisfaction", "五星", ans("5")},
		{"4/5", "repair", "satisfaction", "4/5", ans("4")},
		{"4 out of 5", "repair", "satisfaction", "4 out of 5", ans("4")},
		{"five", "repair", "satisfaction", "five", ans("5")},
		{"非常满意 (the top anchor)", "repair", "satisfaction", "非常满意", ans("5")},
		{"十分满意 is not ten", "repair", "satisfaction", "十分满意", ans("5")},
		{"非常不满意 (the bottom anchor)", "repair", "satisfaction", "非常不满意", ans("1")},
		{"above the scale", "repair", "satisfaction", "6", bad(ReasonOutOfRange)},
		{"below the scale", "repair", "satisfaction", "0", bad(ReasonOutOfRange)},
		{"half score", "repair", "satisfaction", "4.5", bad(ReasonNotWhole)},
		{"two scores", "repair", "satisfaction", "3-4", bad(ReasonAmbiguous)},
		{"words without a score", "repair", "satisfaction", "good", bad(ReasonNotANumber)},

		// NPS (0–10)
		{"ten", "satisfaction", "recommend", "10", ans("10")},
		{"zero", "satisfaction", "recommend", "0", ans("0")},
		{"10/10", "satisfaction", "recommend", "10/10", ans("10")},
		{"full-width 8", "satisfaction", "recommend", "８", ans("8")},
		{"十", "satisfaction", "recommend", "十", ans("10")},
		{"eleven", "satisfaction", "recommend", "11", bad(ReasonOutOfRange)},

		// free text
		{"Chinese comment", "satisfaction", "improve", "技术员态度很好，但是来晚了", ans(`"技术员态度很好，但是来晚了"`)},
		{"trimmed comment", "satisfaction", "improve", "   Was late.  ", ans(`"Was late."`)},

		// dates (the job: 2025-03-14)
		{"confirm by 1", "all", "when", "1", ans("2025-03-14")},
		{"confirm by yes", "all", "when", "yes", ans("2025-03-14")},
		{"confirm by 对", "all", "when", "对", ans("2025-03-14")},
		{"month/day", "all", "when", "3/15", ans("2025-03-15")},
		{"Chinese date", "all", "when", "3月15日", ans("2025-03-15")},
		{"day only", "all", "when", "15号", ans("2025-03-15")},
		{"ISO date", "all", "when", "2025-03-12", ans("2025-03-12")},
		{"month name", "all", "when", "March 12", ans("2025-03-12")},
		{"day of month name", "all", "when", "the 12th of March", ans("2025-03-12")},
		{"December means last year", "all", "when", "12/28", ans("2024-12-28")},
		{"not sure", "all", "when", "不记得", ans("unsure")},
		{"impossible date", "all", "when", "2/30", bad(ReasonNotADate)},
		{"no without a date", "all", "when", "no", bad(ReasonDateNeeded)},
		{"no date at all", "all", "when", "sometime", bad(ReasonNotADate)},

		// choices
		{"choice key", "all", "booked", "2", ans(`"app"`)},
		{"choice label", "all", "booked", "App", ans(`"app"`)},
		{"choice word", "all", "booked", "小程序", ans(`"app"`)},
		{"choice Chinese word", "all", "booked", "打电话", ans(`"phone"`)},
		{"two choices", "all", "booked", "phone or app", bad(ReasonAmbiguous)},
		{"choice key not offered", "all", "booked", "4", bad(ReasonNotAChoice)},
		{"no choice in the words", "all", "booked", "by email", bad(ReasonNotUnderstood)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := scripts[c.script].ParseReply(c.question, text(c.reply), job)
			if err != nil {
				t.Fatal(err)
			}
			checkReply(t, got, c.want)
		})
	}
}

// TestParseKeysAndSpeech reads keypad digits and speech transcripts on a call.
func TestParseKeysAndSpeech(t *testing.T) {
	t.Parallel()
	repair := shippedScript(t, "repair-parts-verification")
	sat := shippedScript(t, "satisfaction")
	all := parseFile(t, "all_types.yaml")
	job := SampleJob(JobRepair)
	cases := []struct {
		name     string
		d        *Definition
		question string
		in       Input
		want     expect
	}{
		{"yes key", repair, "visit", keys("1"), ans("yes")},
		{"key with a finishing #", repair, "visit", keys("3#"), ans("unsure")},
		{"remapped keys: 1 is no", repair, "charged", keys("1"), ans("no")},
		{"remapped keys: 2 is yes", repair, "charged", keys("2"), ans("yes")},
		{"no keys is silence", repair, "visit", keys(""), expect{kind: ReplyNone}},
		{"only # is silence", repair, "visit", keys("#"), expect{kind: ReplyNone}},
		{"opt-out key", repair, "visit", keys("9"), optOutReply()},
		{"opt-out key on a 1–5 rating", repair, "satisfaction", keys("9"), optOutReply()},
		{"9 is a score in NPS", sat, "recommend", keys("9"), ans("9")},
		{"9 is a digit of an amount", repair, "amount", keys("9"), ans("CNY 9.00")},
		{"key not offered", repair, "visit", keys("5"), bad(ReasonNotAChoice)},
		{"two keys", repair, "visit", keys("12"), bad(ReasonNotAChoice)},
		{"rating out of range", repair, "satisfaction", keys("7"), bad(ReasonOutOfRange)},
		{"NPS ten", sat, "recommend", keys("10"), ans("10")},
		{"NPS out of range", sat, "recommend", keys("11"), bad(ReasonOutOfRange)},
		{"amount", repair, "amount", keys("5000"), ans("CNY 5000.00")},
		{"amount with * as decimal point", repair, "amount", keys("50*5"), ans("CNY 50.50")},
		{"amount above the maximum", repair, "amount", keys("1000000"), bad(ReasonOutOfRange)},
		{"amount with two points", repair, "amount", keys("5*5*5"), bad(ReasonNotANumber)},
		{"date confirmed", all, "when", keys("1"), ans("2025-03-14")},
		{"date as MMDD", all, "when", keys("0315"), ans("2025-03-15")},
		{"date not sure", all, "when", keys("3"), ans("unsure")},
		{"date denied without a date", all, "when", keys("2"), bad(ReasonDateNeeded)},
		{"impossible MMDD", all, "when", keys("1332"), bad(ReasonNotADate)},
		{"choice key", all, "booked", keys("3"), ans(`"store"`)},
		{"keys at a recording", sat, "improve", keys("1"), bad(ReasonWrongInput)},
		{"recording", sat, "improve", recording("https://api.twilio.com/rec/RE1"), ans(`"https://api.twilio.com/rec/RE1"`)},
		{"recording for a rating", repair, "satisfaction", recording("https://x/rec"), bad(ReasonWrongInput)},
		{"speech yes", repair, "visit", say("Yes."), ans("yes")},
		{"speech 不是的", repair, "visit", say("不是的。"), ans("no")},
		{"speech score", repair, "satisfaction", say("Five."), ans("5")},
		{"speech stop calling", repair, "visit", say("Stop calling me."), optOutByIntent()},
		{"speech 不要再打了", repair, "fixed", say("不要再打了"), optOutByIntent()},
		{"speech help is not a keyword", repair, "visit", say("help"), bad(ReasonNotUnderstood)},
		{"empty transcript", repair, "visit", say(""), expect{kind: ReplyNone}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkReply(t, c.d.interpret(c.d.Question(c.question), c.in, job), c.want)
		})
	}
}

// Relative dates need the time the reply arrived, read in the customer's zone.
func TestParseRelativeDates(t *testing.T) {
	t.Parallel()
	d := parseFile(t, "all_types.yaml")
	job := SampleJob(JobRepair)
	q := d.Question("when")
	// 2025-03-15 23:30 UTC is already 03-16 in Shanghai.
	at := time.Date(2025, 3, 15, 23, 30, 0, 0, time.UTC)
	for reply, want := range map[string]string{"today": "2025-03-16", "昨天": "2025-03-15", "前天": "2025-03-14", "the day before yesterday": "2025-03-14"} {
		got := d.interpret(q, Input{Kind: InputText, Text: reply, At: at}, job)
		checkReply(t, got, ans(want))
	}
	checkReply(t, d.interpret(q, text("yesterday"), job), bad(ReasonNotADate))
}

func TestClassifyKeyword(t *testing.T) {
	t.Parallel()
	cases := map[string]Keyword{
		"STOP": KeywordOptOut, "Stop.": KeywordOptOut, "ＳＴＯＰ": KeywordOptOut, " stop ": KeywordOptOut,
		"STOPALL": KeywordOptOut, "unsubscribe": KeywordOptOut, "Cancel": KeywordOptOut, "END": KeywordOptOut,
		"quit": KeywordOptOut, "REVOKE": KeywordOptOut, "optout": KeywordOptOut, "Opt Out": KeywordOptOut,
		"退订": KeywordOptOut, "退出": KeywordOptOut, "取消": KeywordOptOut, "拒收": KeywordOptOut,
		"不要再发": KeywordOptOut, "TD": KeywordOptOut, "t": KeywordOptOut,
		"START": KeywordOptIn, "yes": KeywordOptIn, "UNSTOP": KeywordOptIn,
		"HELP": KeywordHelp, "info": KeywordHelp, "帮助": KeywordHelp,
		"please stop": KeywordOptOutIntent, "STOP please": KeywordOptOutIntent, "don't text me again": KeywordOptOutIntent,
		"以后别再打了": KeywordOptOutIntent, "退订谢谢": KeywordOptOutIntent,
		"the leak didn't stop": KeywordNone, "nonstop": KeywordNone, "1": KeywordNone, "": KeywordNone,
		"the weekend": KeywordNone, "tt": KeywordNone,
	}
	for in, want := range cases {
		if got := ClassifyKeyword(in); got != want {
			t.Errorf("ClassifyKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}

// Chinese numerals convert the way people write them.
func TestChineseNumerals(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"五": "5", "十": "10", "十五": "15", "二十": "20", "五十": "50", "一百": "100", "一百五": "150",
		"一百零五": "105", "两千三": "2300", "三千零八": "3008", "一万": "10000", "一万五千": "15000",
		"二零二五": "2025", "壹佰": "100",
	}
	for in, want := range cases {
		nums := findNumbers(in)
		if len(nums) != 1 || nums[0].whole != want {
			t.Errorf("findNumbers(%q) = %+v, want one number %s", in, nums, want)
		}
	}
	for _, word := range []string{"一般", "一下", "十分满意", "一直"} {
		if nums := findNumbers(word); len(nums) != 0 {
			t.Errorf("findNumbers(%q) = %+v, want no number: it is a word", word, nums)
		}
	}
}
