package twiliosim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// hook is one webhook request Twilio makes.
type hook struct {
	kind   HookKind
	url    string
	method string // GET or POST
	params url.Values
	status string // the CallStatus or MessageStatus it carries, for faults
	to     string // the customer's number, for faults
	token  string // I-Twilio-Idempotency-Token: the same on every delivery of this hook
}

// reply is what a webhook answered.
type reply struct {
	status      int
	contentType string
	body        []byte
}

// maxReply bounds how much of a webhook's answer is read; Twilio's own
// limit for a TwiML document is 64 kB.
const maxReply = 1 << 20

// send makes one request for h, signed as Twilio signs: a POST carries the
// parameters as a form body, a GET appends them to the URL's query. The
// headers are Twilio's: X-Twilio-Signature, I-Twilio-Idempotency-Token,
// User-Agent TwilioProxy/1.1.
func (s *Simulator) send(ctx context.Context, h hook) (reply, error) {
	target := h.url
	var body io.Reader
	var sig string
	if h.method == http.MethodGet {
		u, err := url.Parse(h.url)
		if err != nil {
			return reply{}, err
		}
		q := u.Query()
		for k, vs := range h.params {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
		target = u.String()
		sig = Signature(s.authToken, target, nil)
	} else {
		body = strings.NewReader(h.params.Encode())
		sig = Signature(s.authToken, h.url, h.params)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, target, body)
	if err != nil {
		return reply{}, err
	}
	if h.method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Twilio-Signature", sig)
	req.Header.Set("I-Twilio-Idempotency-Token", h.token)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("Accept", "*/*")
	resp, err := s.webhooks.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b}, nil
}

// where names a webhook in logs without its query, which may carry secrets.
func where(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// deliver sends a fire-and-forget callback and logs a failure; Twilio does
// not retry these.
func (s *Simulator) deliver(h hook) {
	r, err := s.send(s.ctx, h)
	switch {
	case err != nil && s.ctx.Err() != nil:
	case err != nil:
		s.log.Warn("callback failed", "kind", string(h.kind), "url", where(h.url), "err", err)
	case r.status < 200 || r.status > 299:
		s.log.Warn("callback refused", "kind", string(h.kind), "url", where(h.url), "status", r.status)
	}
}

// hookQueue delivers one call's or message's callbacks one at a time, in
// the order they happened, without holding up the call: Twilio's order,
// unless a CallbackFault says otherwise.
type hookQueue struct {
	s     *Simulator
	mu    sync.Mutex
	items []hook
	shut  bool
	wake  chan struct{}
	done  chan struct{}
}

func (s *Simulator) newHookQueue() *hookQueue {
	q := &hookQueue{s: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// push adds a callback; after close it is dropped.
func (q *hookQueue) push(h hook) {
	h.token = newToken()
	q.mu.Lock()
	if !q.shut {
		q.items = append(q.items, h)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close says no more callbacks will come; the queue finishes delivering
// and then closes done.
func (q *hookQueue) close() {
	q.mu.Lock()
	q.shut = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *hookQueue) run() {
	defer close(q.done)
	var late []hook
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			shut := q.shut
			q.mu.Unlock()
			if shut {
				break
			}
			select {
			case <-q.wake:
			case <-q.s.ctx.Done():
				return
			}
			continue
		}
		h := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		switch q.s.faults.takeCallback(h.kind, h.status, h.to) {
		case Drop:
			q.s.log.Info("callback dropped", "kind", string(h.kind), "status", h.status)
		case Late:
			late = append(late, h)
		case Duplicate:
			q.s.deliver(h)
			q.s.deliver(h)
		default:
			q.s.deliver(h)
		}
	}
	for _, h := range late {
		q.s.deliver(h)
	}
}
