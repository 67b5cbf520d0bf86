package twilio

import (
	"context"
	"encoding/xml"
	"fmt"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/huifang/huifang/dialer"
)

// "Call the customer back": a reviewer working a flag presses a button and
// their own phone rings; when they answer, Twilio dials the customer and
// joins the two. The customer sees our number, never the reviewer's.

type twimlDial struct {
	XMLName  xml.Name `xml:"Dial"`
	CallerID string   `xml:"callerId,attr"`
	Number   string   `xml:",chardata"`
}

// BridgeTwiML is the TwiML the reviewer's leg runs once answered: one
// <Dial> of the customer, showing from as the caller ID.
func BridgeTwiML(from, customer string) (string, error) {
	b, err := xml.Marshal(twimlResponse{Verbs: []any{twimlDial{CallerID: from, Number: customer}}})
	if err != nil {
		return "", err
	}
	return xml.Header + string(b), nil
}

// Bridge calls agent (the reviewer's phone) from our number from; when the
// agent answers, the call dials customer with from as its caller ID. Every
// number must be E.164. It returns the SID of the call to the agent; the
// leg to the customer is Twilio's child of that call.
func (c *Carrier) Bridge(ctx context.Context, from, agent, customer string) (string, error) {
	for _, n := range []struct{ name, v string }{{"from", from}, {"agent", agent}, {"customer", customer}} {
		if !e164Re.MatchString(n.v) {
			return "", &dialer.CarrierError{Kind: dialer.Permanent, Msg: fmt.Sprintf("bridge: %s number is not E.164", n.name)}
		}
	}
	if agent == customer {
		return "", &dialer.CarrierError{Kind: dialer.Permanent, Msg: "bridge: the agent and the customer have the same number"}
	}
	twiml, err := BridgeTwiML(from, customer)
	if err != nil {
		return "", err
	}
	p := &api.CreateCallParams{}
	p.SetTo(agent)
	p.SetFrom(from)
	p.SetTwiml(twiml)
	return c.createCall(p)
}
