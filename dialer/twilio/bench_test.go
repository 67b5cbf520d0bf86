package twilio_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders/sample"
)

// BenchmarkGatherWebhook measures the webhook Twilio posts when a customer
// has pressed keys at a <Gather>, through the rig's real HTTP server and
// Postgres: the signature is checked, the session read, the answer stored
// and the next step rendered as TwiML. One op is one signed POST of the keys
// the sample customer presses (twiliosim.SamplePersona) to the action URL of
// the last <Gather>, over keep-alive connections from eight calls in progress
// per CPU. The calls are opened, and their first fetch made, before the
// timer starts. `huifang bench webhooks` measures the same request in a
// fresh database with latency percentiles; docs/benchmarks.md has both.
func BenchmarkGatherWebhook(b *testing.B) {
	const perCPU = 8
	b.SetParallelism(perCPU)
	workers := perCPU * runtime.GOMAXPROCS(0)
	// A customer who answers is asked at least three times (the intro, the
	// visit, a read-back of "no"), so this many calls cover b.N answers.
	need := b.N/3 + workers + 1
	all, err := sample.Jobs(sample.Config{Seed: 11, Jobs: 2*need + 50, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	var jobs []sample.Job
	for _, j := range all {
		if j.Truth.Reach == sample.ReachAnswers && len(jobs) < need {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) < need {
		b.Fatalf("%d answering customers in the sample, want %d", len(jobs), need)
	}
	r := newRig(b, rigOptions{jobs: jobs})
	tw := &benchTwilio{
		accountSID: r.sim.AccountSID(), authToken: r.sim.AuthToken(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}},
	}
	b.Cleanup(tw.client.CloseIdleConnections)

	// Open the calls and make their first fetch, eight at a time.
	calls := make(chan *benchCall, len(jobs))
	var wg sync.WaitGroup
	next := make(chan sample.Job)
	for range 8 {
		wg.Go(func() {
			for j := range next {
				t := r.target(j)
				t.Channel = surveys.Voice
				a, err := r.conv.Open(context.Background(), t)
				if err != nil {
					b.Error(err)
					continue
				}
				c := tw.newCall(j.Order.Customer.Phone, twiliosim.SamplePersona(j))
				doc, err := tw.post(context.Background(), r.hooks.CallURLs(a.ID).Answer, c.params)
				if err == nil {
					c.gather, err = benchParseGather(doc)
				}
				if err != nil || c.gather == nil {
					b.Errorf("first fetch of attempt %d: %v (TwiML without a <Gather>: %t)", a.ID, err, err == nil)
					continue
				}
				calls <- c
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}

	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var (
			c    *benchCall
			mine []time.Duration
		)
		defer func() {
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
		for pb.Next() {
			if c == nil {
				select {
				case c = <-calls:
				default:
					b.Error("ran out of calls")
					return
				}
			}
			t0 := time.Now()
			err := tw.answer(context.Background(), c)
			mine = append(mine, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			if c.gather == nil { // the survey ended; on to the next call
				c = nil
			}
		}
	})
	b.StopTimer()
	if len(lat) > 0 {
		slices.Sort(lat)
		ms := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6 }
		b.ReportMetric(ms(0.50), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
	}
}

// benchTwilio plays Twilio's side of a call: it posts what Twilio posts,
// signed as Twilio signs it, and follows each <Gather>'s action.
type benchTwilio struct {
	accountSID, authToken string
	client                *http.Client
}

// benchCall is a call in progress, waiting at gather for the customer.
type benchCall struct {
	info    twiliosim.CallInfo
	persona twiliosim.Persona
	params  url.Values // what Twilio posts with every request about the call
	gather  *benchGather
	prompts int
}

func (tw *benchTwilio) newCall(to string, p twiliosim.Persona) *benchCall {
	b := make([]byte, 16)
	rand.Read(b)
	info := twiliosim.CallInfo{CallSid: "CA" + hex.EncodeToString(b), From: ourNumber, To: to}
	return &benchCall{info: info, persona: p, params: url.Values{
		"AccountSid": {tw.accountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {info.CallSid},
		"CallStatus": {"in-progress"}, "Called": {to}, "Caller": {ourNumber}, "Direction": {"outbound-api"},
		"From": {ourNumber}, "To": {to},
	}}
}

// answer posts what the customer does at the call's <Gather> and takes the
// next one from the answer (nil when the call ends).
func (tw *benchTwilio) answer(ctx context.Context, c *benchCall) error {
	g := c.gather
	c.prompts++
	p := twiliosim.Prompt{
		Call: c.info, Kind: twiliosim.GatherPrompt, Number: c.prompts, Text: strings.TrimSpace(g.Say.Text),
		Language: g.Say.Language, Input: strings.Fields(g.Input), NumDigits: g.NumDigits,
		FinishOnKey: cmp.Or(g.FinishOnKey, "#"), Timeout: time.Duration(g.Timeout) * time.Second,
	}
	resp := c.persona.Respond(p)
	form := maps.Clone(c.params)
	form.Set("msg", "Gather End")
	digits, finished := benchCollectDigits(resp.Digits, p.NumDigits, p.FinishOnKey)
	form.Set("Digits", digits)
	if digits != "" {
		form.Set("FinishedOnKey", finished)
	}
	doc, err := tw.post(ctx, g.Action, form)
	if err != nil {
		return err
	}
	c.gather, err = benchParseGather(doc)
	return err
}

// post sends a signed webhook and returns the answer's body; any status
// but 200 is an error.
func (tw *benchTwilio) post(ctx context.Context, u string, form url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliosim.Signature(tw.authToken, u, form))
	resp, err := tw.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// benchGather is the <Gather> of a TwiML answer.
type benchGather struct {
	Action      string `xml:"action,attr"`
	Input       string `xml:"input,attr"`
	NumDigits   int    `xml:"numDigits,attr"`
	FinishOnKey string `xml:"finishOnKey,attr"`
	Timeout     int    `xml:"timeout,attr"`
	Say         struct {
		Language string `xml:"language,attr"`
		Text     string `xml:",chardata"`
	} `xml:"Say"`
}

// benchParseGather returns the document's <Gather>, or nil when the call
// ends with it.
func benchParseGather(doc []byte) (*benchGather, error) {
	var r struct {
		Gather *benchGather `xml:"Gather"`
	}
	if err := xml.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("TwiML: %w", err)
	}
	return r.Gather, nil
}

// benchCollectDigits is what Twilio reports for keys pressed into a
// <Gather>: the digits up to numDigits or the finishing key, and that key.
func benchCollectDigits(keys string, numDigits int, finishOnKey string) (digits, finished string) {
	var b strings.Builder
	for _, k := range keys {
		if strings.ContainsRune(finishOnKey, k) {
			return b.String(), string(k)
		}
		b.WriteRune(k)
		if numDigits > 0 && b.Len() == numDigits {
			break
		}
	}
	return b.String(), ""
}
