package twiliosim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/huifang/huifang/dialer/twiliosim"
)

// Point the real twilio-go client at the simulator by its HTTP client, place
// a call, and let a persona answer the app's TwiML.
func Example() {
	const customer = "+14155550100"
	sim, err := twiliosim.Start(twiliosim.Options{
		Speed: 1000, // a simulated second takes a millisecond
		Personas: map[string]twiliosim.Persona{
			customer: &twiliosim.Script{Responses: []twiliosim.Response{{Digits: "1"}}},
		},
	})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	// The application's webhooks: here a two-step IVR that checks every
	// request's signature the way Huifang's handlers do.
	validator := client.NewRequestValidator(sim.AuthToken())
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		params := map[string]string{}
		for k := range form {
			params[k] = form.Get(k)
		}
		if !validator.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "forged", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		switch r.URL.Path {
		case "/voice":
			io.WriteString(w, `<Response><Gather numDigits="1" action="/answer"><Say>Press 1 to confirm.</Say></Gather></Response>`)
		case "/answer":
			fmt.Println("the customer pressed", form.Get("Digits"))
			io.WriteString(w, `<Response><Say>Goodbye.</Say></Response>`)
		}
	}))
	defer app.Close()

	// twilio-go exactly as production builds it, credentials passed
	// explicitly; only its HTTP client differs.
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		panic(err)
	}
	c := &client.Client{Credentials: client.NewCredentials(sim.AccountSID(), sim.AuthToken()), HTTPClient: hc}
	c.SetAccountSid(sim.AccountSID())
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})

	params := &api.CreateCallParams{}
	params.SetTo(customer)
	params.SetFrom("+15017122661")
	params.SetUrl(app.URL + "/voice")
	call, err := rc.Api.CreateCall(params)
	if err != nil {
		panic(err)
	}
	fmt.Println("created:", *call.Status)

	rec, err := sim.WaitCall(context.Background(), *call.Sid)
	if err != nil {
		panic(err)
	}
	fmt.Println("ended:", rec.Status, "by", rec.HungUpBy)
	fmt.Println("said:", rec.Said())
	// Output:
	// created: queued
	// the customer pressed 1
	// ended: completed by twiml
	// said: [Press 1 to confirm. Goodbye.]
}

// Serve a simulator on your own server with New, for example httptest's,
// and give twilio-go a client for that address.
func ExampleNew() {
	sim, err := twiliosim.New(twiliosim.Options{Speed: 1000})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()
	rc, err := twiliosim.NewRestClient(srv.URL, sim.AccountSID(), sim.AuthToken())
	if err != nil {
		panic(err)
	}
	calls, err := rc.Api.ListCall(nil)
	fmt.Println(len(calls), err)
	// Output: 0 <nil>
}
