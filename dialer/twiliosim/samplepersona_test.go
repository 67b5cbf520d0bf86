package twiliosim

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// goldenJob is the job the surveys package renders its golden files for: a
// repair claiming a heating element and a thermostat.
func goldenJob(mod func(*sample.Job)) sample.Job {
	j := sample.Job{
		Order: workorders.Order{
			Kind: workorders.Repair, Currency: "CNY",
			Customer: workorders.Customer{Phone: customer, Lang: "en"},
			Parts: []workorders.ClaimedPart{
				{Code: "HE-01", NameEN: "heating element", NameZH: "加热管", Quantity: 1},
				{Code: "TH-02", NameEN: "thermostat", NameZH: "温控器", Quantity: 1},
			},
		},
		Persona: sample.PersonaHonest,
		Truth: sample.Truth{
			Visited: true, ReplacedParts: []string{"HE-01", "TH-02"}, Fixed: true, Working: true,
			CSAT: 4, NPS: 9, Reach: sample.ReachAnswers, Lang: "en",
		},
	}
	if mod != nil {
		mod(&j)
	}
	return j
}

// The persona must recognise every question of the shipped scripts as they
// are really worded, in both languages and on both channels: this reads the
// surveys package's golden renderings, so a reworded script that the
// persona no longer understands fails here.
func TestSamplePersonaRecognisesEveryShippedPrompt(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../surveys/testdata/golden/*.*.*.txt")
	if len(files) < 12 {
		t.Fatalf("found %d golden renderings of the shipped scripts, want 12", len(files))
	}
	want := map[string]question{
		"intro": qIntro, "visit": qVisit, "installed": qVisit, "any_part": qAnyPart, "which_part": qPart,
		"charged": qCharged, "amount": qAmount, "paid": qAmount, "fixed": qFixed, "working": qWorking,
		"satisfaction": qCSAT, "recommend": qNPS, "improve": qComment, "read_back": qReadBack, "none": qUnknown,
	}
	p := SamplePersona(goldenJob(nil)).(*samplePersona)
	checked := 0
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		section, part := "", ""
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case line == "== intro":
				section = "intro"
			case strings.HasPrefix(line, "== question "):
				section = strings.Fields(line)[2]
				part = ""
				if strings.Contains(line, "[HE-01]") {
					part = "heating element"
				} else if strings.Contains(line, "[TH-02]") {
					part = "thermostat"
				}
			case strings.HasPrefix(line, "== "):
				section = "none" // closings, opt-out confirmations, the HELP reply
			case strings.HasPrefix(line, "read back"):
				section = "read_back"
			}
			key, text, ok := strings.Cut(line, ":")
			if !ok || section == "" {
				continue
			}
			switch key {
			case "ask", "after no input", "after invalid", "full instructions", "clarification", "reminder", "say", "send":
			default:
				continue
			}
			text = strings.TrimSpace(text)
			got, name := p.classify(strings.ToLower(text))
			if got != want[section] {
				t.Errorf("%s [%s] %q: understood as %d, want %d", filepath.Base(file), section, text, got, want[section])
			}
			if got == qPart && name != part && name != map[string]string{"heating element": "加热管", "thermostat": "温控器"}[part] {
				t.Errorf("%s %q: heard part %q, want %q", filepath.Base(file), text, name, part)
			}
			checked++
		}
		f.Close()
	}
	if checked < 250 {
		t.Errorf("checked %d prompts, expected the several hundred of the golden files", checked)
	}
}

func TestSamplePersonaAnswersFromTheTruth(t *testing.T) {
	t.Parallel()
	honest := goldenJob(nil)
	noPart := goldenJob(func(j *sample.Job) { j.Truth.ReplacedParts = []string{"TH-02"} }) // the heating element was not replaced
	charged := goldenJob(func(j *sample.Job) { j.Truth.PaidAmount = 12000 })
	broken := goldenJob(func(j *sample.Job) { j.Truth.Fixed, j.Truth.Working = false, false })
	noVisit := goldenJob(func(j *sample.Job) { j.Truth.Visited, j.Truth.ReplacedParts, j.Truth.Fixed = false, nil, false })
	install := goldenJob(func(j *sample.Job) { j.Order.Kind, j.Truth.Installed = workorders.Install, true })
	cases := []struct {
		job    sample.Job
		prompt string
		keys   string
	}{
		{honest, "Acme service, about your water heater repair on March 14. This call is recorded and takes about 1 minute. Press 1 to continue. Press 9 at any time to stop these calls.", "1"},
		{honest, "您好，这里是Acme客服，就您3月14日的热水器维修回访，通话将被录音，约1分钟。继续请按1；不希望再接到回访请随时按9。", "1"},
		{honest, "Did a technician visit to repair your water heater on or around March 14? Press 1 for yes, 2 for no, or 3 if you're not sure.", "1"},
		{noVisit, "Did a technician visit to repair your water heater on or around March 14? Press 1 for yes, 2 for no, or 3 if you're not sure.", "2"},
		{noVisit, "3月14日前后是否有师傅上门维修您的热水器？是请按1，否请按2，不确定请按3。", "2"},
		{noVisit, "You said no technician came to repair your water heater. If that's right, press 1. To answer again, press 2.", "1"},
		{noVisit, "您说没有师傅上门维修热水器。如果正确请按1，重新回答请按2。", "1"},
		{honest, "Did the technician replace any part? Press 1 for yes, 2 for no, or 3 if you don't know.", "1"},
		{noVisit, "师傅是否为您更换了配件？是请按1，否请按2，不清楚请按3。", "2"},
		{noPart, "Did the technician replace any part? Press 1 for yes, 2 for no, or 3 if you don't know.", "1"},
		{noPart, "Was the heating element replaced? Press 1 for yes, 2 for no, or 3 if you don't know.", "2"},
		{noPart, "Was the thermostat replaced? Press 1 for yes, 2 for no, or 3 if you don't know.", "1"},
		{noPart, "是否更换了加热管？是请按1，否请按2，不清楚请按3。", "2"},
		{noPart, "抱歉，您的输入无效。如果师傅更换了温控器，请按1；如果没有，请按2；如果不清楚，请按3。", "1"},
		{honest, "Did you pay the technician anything? Press 1 for no, 2 for yes.", "1"},
		{charged, "Did you pay the technician anything? Press 1 for no, 2 for yes.", "2"},
		{charged, "本次维修是否向您收取了任何费用？没有请按1，有请按2。", "2"},
		{honest, "本次维修是否向您收取了任何费用？没有请按1，有请按2。", "1"},
		{charged, "Sorry, that isn't a valid answer. If you paid nothing at all, press 1. If you paid anything, for parts, labour or a visit fee, press 2.", "2"},
		{charged, "Please enter the amount you paid, then press the pound key.", "120#"},
		{charged, "请输入您支付的金额，以井号键结束。", "120#"},
		{honest, "Is the problem fixed? Press 1 for yes, 2 for no.", "1"},
		{broken, "故障现在是否已排除？是请按1，否请按2。", "2"},
		{broken, "目前使用是否正常？正常请按1，不正常请按2。", "2"},
		{install, "目前使用是否正常？正常请按1，不正常请按2。", "1"},
		{install, "Did a technician install your water heater on or around March 14? Press 1 for yes, 2 for no, or 3 if you're not sure.", "1"},
		{install, "Were you charged anything for the install, including materials? Press 1 for no, 2 for yes.", "1"},
		{install, "Overall, how satisfied are you with the install? Press 1 for very dissatisfied, up to 5 for very satisfied.", "4"},
		{honest, "您有多大可能向亲友推荐Acme？请输入0到10之间的数字，以井号键结束。", "9#"},
		{honest, "This is not a question the persona knows.", ""},
	}
	for _, tc := range cases {
		p := SamplePersona(tc.job)
		got := p.Respond(Prompt{Call: CallInfo{CallSid: "CA1"}, Kind: GatherPrompt, Text: tc.prompt, Input: []string{"dtmf"}})
		if got.Digits != tc.keys || got.HangUp {
			t.Errorf("%s / %q: pressed %q (hang up %v), want %q", tc.job.Persona, tc.prompt, got.Digits, got.HangUp, tc.keys)
		}
	}
}

func TestSamplePersonaTexts(t *testing.T) {
	t.Parallel()
	zh := goldenJob(func(j *sample.Job) { j.Truth.PaidAmount, j.Truth.Lang = 5000, "zh-CN" })
	cases := []struct {
		job   sample.Job
		texts []string // sent in order to one persona
		want  []string // its replies; "" is none
	}{
		{goldenJob(nil), []string{
			"Acme: repair of your water heater on March 14. Did our technician visit? 1=Yes 2=No 3=Not sure. Reply STOP to opt out",
			"Was the thermostat replaced? Reply 1=Yes 2=No 3=Don't know",
			"Did you pay the technician anything? Reply 0, or the amount",
			"How likely are you to recommend Acme to a friend? Reply 0-10 (10=very likely)",
			"Acme: thank you for your feedback!",
		}, []string{"1", "1", "0", "9", ""}},
		{zh, []string{
			"【Acme】您3月14日的热水器维修回访：是否有师傅上门？回1是 2否 3不确定。回TD退订",
			"本次维修是否收费？未收费回0，收费请回金额（元）",
			"目前使用是否正常？回1正常 2不正常",
			"【Acme】感谢您的宝贵意见！",
		}, []string{"1", "50元", "1", ""}},
		{goldenJob(func(j *sample.Job) { j.Truth.Reach = sample.ReachOptsOut }), []string{
			"Acme: your water heater install on March 14. Did our technician install it? Reply 1=Yes 2=No 3=Not sure. Reply STOP to opt out",
			"Is your water heater working properly? Reply 1=Yes 2=No",
		}, []string{"STOP", ""}},
		{goldenJob(func(j *sample.Job) { j.Truth.Reach, j.Truth.Lang = sample.ReachOptsOut, "zh-CN" }), []string{
			"【Acme】您3月14日的热水器安装回访：是否有师傅上门安装？回1是 2否 3不确定。回TD退订",
		}, []string{"退订"}},
		{goldenJob(func(j *sample.Job) { j.Truth.Reach = sample.ReachWrongKeys }), []string{
			"Is the problem fixed? Reply 1=Yes 2=No",
			"Please reply 1 if the problem is fixed, or 2 if it is not.",
		}, []string{"ok", "1"}},
		{goldenJob(func(j *sample.Job) { j.Truth.Reach, j.Truth.HangUpAfter = sample.ReachHangsUp, 1 }), []string{
			"Is the problem fixed? Reply 1=Yes 2=No",
			"How satisfied are you with the repair? Reply 1-5 (5=very satisfied)",
		}, []string{"1", ""}},
		{goldenJob(func(j *sample.Job) { j.Truth.Reach = sample.ReachNeverAnswers }), []string{"Is the problem fixed? Reply 1=Yes 2=No"}, []string{""}},
	}
	for _, tc := range cases {
		p := SamplePersona(tc.job)
		for i, text := range tc.texts {
			got, ok := p.Reply(SMS{Body: text})
			if !ok {
				got = ""
			}
			if got != tc.want[i] {
				t.Errorf("%s reach %s / %q: replied %q, want %q", tc.job.Persona, tc.job.Truth.Reach, text, got, tc.want[i])
			}
		}
	}
}

func TestSamplePersonaReach(t *testing.T) {
	t.Parallel()
	reach := func(r string, hangUpAfter int) Persona {
		return SamplePersona(goldenJob(func(j *sample.Job) { j.Truth.Reach, j.Truth.HangUpAfter = r, hangUpAfter }))
	}
	for r, want := range map[string]Answerer{
		sample.ReachAnswers: Human, sample.ReachNeverAnswers: NoAnswer, sample.ReachBusy: Busy,
		sample.ReachVoicemail: Machine, sample.ReachHangsUp: Human, sample.ReachWrongKeys: Human, sample.ReachOptsOut: Human,
	} {
		if got := reach(r, 2).Answer(CallInfo{}).By; got != want {
			t.Errorf("%s answers as %s, want %s", r, got, want)
		}
	}
	ask := func(p Persona, sid, text string) Response {
		return p.Respond(Prompt{Call: CallInfo{CallSid: sid}, Kind: GatherPrompt, Text: text, Input: []string{"dtmf"}})
	}
	const (
		intro = "Acme service, about your water heater repair on March 14. Press 1 to continue."
		q1    = "Is the problem fixed? Press 1 for yes, 2 for no."
		q2    = "Overall, how satisfied are you with the repair? Press 1 for very dissatisfied, up to 5 for very satisfied."
	)
	if got := ask(reach(sample.ReachOptsOut, 0), "CA1", intro); got.Digits != "9" {
		t.Errorf("opts_out pressed %q at the intro, want 9", got.Digits)
	}
	p := reach(sample.ReachHangsUp, 1)
	for i, step := range []struct {
		text   string
		hangUp bool
	}{{intro, false}, {q1, false}, {q2, true}} {
		if got := ask(p, "CA1", step.text); got.HangUp != step.hangUp {
			t.Errorf("hangs_up after 1, prompt %d: hang up %v, want %v", i, got.HangUp, step.hangUp)
		}
	}
	if got := ask(p, "CA2", intro); got.HangUp {
		t.Error("hangs_up counts questions per call: a new call starts afresh")
	}
	w := reach(sample.ReachWrongKeys, 0)
	if a, b := ask(w, "CA1", q1), ask(w, "CA1", "Sorry, that isn't a valid answer. "+q1); a.Digits != "7" || b.Digits != "1" {
		t.Errorf("wrong_keys pressed %q then %q, want 7 then 1", a.Digits, b.Digits)
	}
	speech := SamplePersona(goldenJob(nil)).Respond(Prompt{Kind: GatherPrompt, Text: q1, Input: []string{"speech"}})
	if speech.Speech != "yes" || speech.Digits != "" {
		t.Errorf("a speech-only Gather got %+v, want the word yes", speech)
	}
	rec := SamplePersona(goldenJob(nil)).Respond(Prompt{Kind: RecordPrompt, Text: "很抱歉给您带来不好的体验。请在提示音后说出您的意见，说完请按井号键。"})
	if !hasHan(rec.Speech) || rec.Digits != "#" {
		t.Errorf("a Record prompt in Chinese got %+v, want a spoken complaint in Chinese ended by #", rec)
	}
}

// End to end: sample jobs' customers answer a verification call through the
// simulator, and what reaches the app's actions is their truth.
func TestSampleJobsAnswerAVerificationCall(t *testing.T) {
	t.Parallel()
	jobs, err := sample.Jobs(sample.Config{Seed: 4, Jobs: 400, Now: time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// pick finds a repair with claimed parts whose customer answers, in
	// lang if the sample has one, else in any language.
	pick := func(persona, lang string) sample.Job {
		var found []sample.Job
		for _, j := range jobs {
			if j.Persona == persona && j.Order.Kind == workorders.Repair && len(j.Order.Parts) > 0 && j.Truth.Reach == sample.ReachAnswers {
				if j.Truth.Lang == lang {
					return j
				}
				found = append(found, j)
			}
		}
		if len(found) == 0 {
			t.Fatalf("no %s repair with parts among the sample jobs", persona)
		}
		return found[0]
	}
	for _, job := range []sample.Job{
		pick(sample.PersonaHonest, "en"), pick(sample.PersonaPartNotReplaced, "zh-CN"),
		pick(sample.PersonaCharged, "zh-CN"), pick(sample.PersonaNotFixed, "en"), pick(sample.PersonaOtherPart, "en"),
	} {
		t.Run(job.Persona, func(t *testing.T) {
			t.Parallel()
			token := newToken()
			a := newApp(t, token)
			phone := job.Order.Customer.Phone
			sim, rc := setup(t, Options{AuthToken: token, Personas: SamplePersonas([]sample.Job{job})})
			answers := verificationSurvey(a, job)
			rec := placeCall(t, sim, rc, callParams(phone, a.URL("/step/0")))
			if rec.HungUpBy != ByTwiML {
				t.Fatalf("call ended by %q: %v", rec.HungUpBy, rec.Steps)
			}
			for i, want := range answers {
				got := a.Requests("/step/" + itoa(i+1))
				if len(got) != 1 || got[0].Form.Get("Digits") != want.keys {
					t.Errorf("%s: answered %v, want %s", want.question, values(got, "Digits"), want.keys)
				}
			}
		})
	}
}

type expected struct{ question, keys string }

// verificationSurvey serves the repair verification questions for job, in
// the job's language and worded as the shipped script words them, one
// <Gather> per step, and returns the keys its truth should give.
func verificationSurvey(a *app, job sample.Job) []expected {
	t := job.Truth
	zh := t.Lang == "zh-CN"
	yn := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	var steps []string
	var want []expected
	add := func(prompt, keys string) {
		steps = append(steps, prompt)
		want = append(want, expected{prompt, keys})
	}
	if zh {
		add("您好，这里是客服，就您的维修回访。继续请按1；不希望再接到回访请随时按9。", "1")
		add("前后是否有师傅上门维修您的产品？是请按1，否请按2，不确定请按3。", yn(t.Visited, "1", "2"))
		add("师傅是否为您更换了配件？是请按1，否请按2，不清楚请按3。", yn(len(t.ReplacedParts) > 0, "1", "2"))
		for _, p := range job.Order.Parts {
			add("是否更换了"+p.NameZH+"？是请按1，否请按2，不清楚请按3。", yn(slices.Contains(t.ReplacedParts, p.Code), "1", "2"))
		}
		add("本次维修是否向您收取了任何费用？没有请按1，有请按2。", yn(t.PaidAmount > 0, "2", "1"))
		add("故障现在是否已排除？是请按1，否请按2。", yn(t.Fixed, "1", "2"))
		add("您对本次维修服务满意吗？请按1到5，1为非常不满意，5为非常满意。", itoa(t.CSAT))
	} else {
		add("Acme service, about your repair. Press 1 to continue. Press 9 at any time to stop these calls.", "1")
		add("Did a technician visit to repair your unit? Press 1 for yes, 2 for no, or 3 if you're not sure.", yn(t.Visited, "1", "2"))
		add("Did the technician replace any part? Press 1 for yes, 2 for no, or 3 if you don't know.", yn(len(t.ReplacedParts) > 0, "1", "2"))
		for _, p := range job.Order.Parts {
			add("Was the "+p.NameEN+" replaced? Press 1 for yes, 2 for no, or 3 if you don't know.", yn(slices.Contains(t.ReplacedParts, p.Code), "1", "2"))
		}
		add("Did you pay the technician anything? Press 1 for no, 2 for yes.", yn(t.PaidAmount > 0, "2", "1"))
		add("Is the problem fixed? Press 1 for yes, 2 for no.", yn(t.Fixed, "1", "2"))
		add("Overall, how satisfied are you with the repair? Press 1 for very dissatisfied, up to 5 for very satisfied.", itoa(t.CSAT))
	}
	lang := map[bool]string{true: "cmn-CN", false: "en-US"}[zh]
	for i, s := range steps {
		a.twiml("/step/"+itoa(i), `<Response><Gather numDigits="1" action="/step/`+itoa(i+1)+`"><Say language="`+lang+`">`+s+`</Say></Gather><Hangup/></Response>`)
	}
	a.twiml("/step/"+itoa(len(steps)), `<Response><Say>Goodbye.</Say></Response>`)
	return want
}

func itoa(n int) string { return strconv.Itoa(n) }
