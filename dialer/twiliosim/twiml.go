package twiliosim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// element is one TwiML element: a verb, a noun nested in a verb, or an SSML
// tag inside <Say>. text is its character data with the text of nested
// elements in document order (what <Say> speaks).
type element struct {
	name     string
	attrs    map[string]string
	text     string
	children []element
}

func (e element) attr(name string) (string, bool) {
	v, ok := e.attrs[name]
	return v, ok
}

// parseTwiML reads a TwiML document: well-formed XML whose root is
// <Response>. It returns the verbs in order. Twilio rejects anything else
// with error 12100 (document parse failure).
func parseTwiML(doc []byte) ([]element, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var root *element
	var stack []*element
	var texts []*strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &element{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "" || a.Name.Space == "xmlns" {
					e.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = e
			}
			stack = append(stack, e)
			texts = append(texts, &strings.Builder{})
		case xml.EndElement:
			e := stack[len(stack)-1]
			e.text = strings.Join(strings.Fields(texts[len(texts)-1].String()), " ")
			stack, texts = stack[:len(stack)-1], texts[:len(texts)-1]
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, *e)
				texts[len(texts)-1].WriteString(" " + e.text + " ")
			}
		case xml.CharData:
			if len(texts) > 0 {
				texts[len(texts)-1].Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	if root.name != "Response" {
		return nil, fmt.Errorf("the root element is <%s>, not <Response>", root.name)
	}
	return root.children, nil
}
