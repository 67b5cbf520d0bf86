package twiliosim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiVersion is the only REST API version the simulator speaks.
const apiVersion = "2010-04-01"

// apiError is a REST failure in Twilio's shape:
//
//	{"code": 21211, "message": "Invalid 'To' Phone Number: …",
//	 "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
//
// twilio-go decodes it into *client.TwilioRestError.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d %s", e.Status, e.Code, e.Message) }

func badRequest(code int, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalidParam is the simulator's answer to a parameter value Twilio would
// reject where no more specific Twilio error code applies.
func invalidParam(name, value, want string) *apiError {
	return badRequest(20001, "Invalid parameter %s: %q (want %s)", name, value, want)
}

func notFound(path string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: 20404, Message: "The requested resource " + path + " was not found"}
}

// statusError is the error Twilio answers a faulted request with: 20429 Too
// Many Requests, 20500 Internal Server Error, 20503 Service Unavailable.
func statusError(status int) *apiError {
	return &apiError{Status: status, Code: 20000 + status, Message: http.StatusText(status)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	writeJSON(w, e.Status, map[string]any{
		"code":      e.Code,
		"message":   e.Message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(e.Code),
		"status":    e.Status,
	})
}

// restHandler serves one operation: it returns the status and body of a
// success, or an apiError.
type restHandler func(r *http.Request) (int, any, *apiError)

func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	const acct = "/2010-04-01/Accounts/{account}"
	mux.Handle("POST "+acct+"/Calls.json", s.rest(OpCreateCall, s.createCall))
	mux.Handle("GET "+acct+"/Calls.json", s.rest(OpListCalls, s.listCalls))
	mux.Handle("GET "+acct+"/Calls/{file}", s.rest(OpFetchCall, s.fetchCall))
	mux.Handle("POST "+acct+"/Calls/{file}", s.rest(OpUpdateCall, s.updateCall))
	mux.Handle("POST "+acct+"/Messages.json", s.rest(OpCreateMessage, s.createMessage))
	mux.Handle("GET "+acct+"/Messages.json", s.rest(OpListMessages, s.listMessages))
	mux.Handle("GET "+acct+"/Messages/{file}", s.rest(OpFetchMessage, s.fetchMessage))
	mux.Handle("GET "+acct+"/Recordings/{file}", s.authenticated(s.fetchRecording))
	for _, p := range []string{"/Calls.json", "/Calls/{file}", "/Messages.json", "/Messages/{file}"} {
		mux.Handle(acct+p, s.authenticated(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: 20004, Message: "Method not allowed"})
		}))
	}
	mux.Handle("/", s.authenticated(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound(r.URL.Path))
	}))
	return mux
}

// authenticated checks HTTP Basic credentials as Twilio does (401, code
// 20003, before anything else) and delays the response by Options.Latency.
func (s *Simulator) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.latency > 0 {
			t := time.NewTimer(s.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.accountSID)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.authToken)) != 1 {
			writeError(w, &apiError{Status: http.StatusUnauthorized, Code: 20003, Message: "Authenticate"})
			return
		}
		if a := r.PathValue("account"); a != "" && a != s.accountSID {
			writeError(w, notFound(r.URL.Path))
			return
		}
		next(w, r)
	})
}

// rest wraps an operation with authentication, form parsing and the REST
// faults.
func (s *Simulator) rest(op Op, h restHandler) http.Handler {
	return s.authenticated(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			writeError(w, badRequest(20001, "Invalid request body: %v", err))
			return
		}
		f, faulted := s.faults.takeREST(op, r.Form.Get("To"))
		if faulted && f.Applied {
			h(r) // the request takes effect; the client never hears of it
		}
		if faulted {
			s.log.Info("REST fault", "op", string(op), "status", f.Status, "hang", f.Hang, "applied", f.Applied)
			if f.Hang {
				select {
				case <-r.Context().Done():
				case <-s.ctx.Done():
				}
				return
			}
			writeError(w, statusError(f.Status))
			return
		}
		status, body, apiErr := h(r)
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		writeJSON(w, status, body)
	})
}

// resourceSid takes the SID out of a path segment "CA….json", or reports a
// 404 for anything else (Twilio serves XML without the suffix; the
// simulator only JSON).
func resourceSid(r *http.Request, prefix string) (string, *apiError) {
	file := r.PathValue("file")
	sid, ok := strings.CutSuffix(file, ".json")
	if !ok || !validSid(sid, prefix) {
		return "", notFound(r.URL.Path)
	}
	return sid, nil
}

// method reads an optional HTTP method parameter: GET or POST, POST by
// default, case-insensitive as Twilio takes it.
func method(form url.Values, name string) (string, *apiError) {
	switch m := strings.ToUpper(form.Get(name)); m {
	case "":
		return http.MethodPost, nil
	case http.MethodGet, http.MethodPost:
		return m, nil
	default:
		return "", invalidParam(name, form.Get(name), "GET or POST")
	}
}

// optionalURL reads an optional webhook URL parameter.
func optionalURL(form url.Values, name string, code int) (string, *apiError) {
	v := form.Get(name)
	if v == "" {
		return "", nil
	}
	if err := checkWebhookURL(v); err != nil {
		return "", badRequest(code, "%s is not a valid URL: %s", name, v)
	}
	return v, nil
}

func optionalBool(form url.Values, name string) (bool, *apiError) {
	switch v := strings.ToLower(form.Get(name)); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidParam(name, form.Get(name), "true or false")
	}
}

// timeFilter is one of the list filters StartTime, StartTime<, StartTime>
// (and EndTime…, DateSent…). In a query "StartTime>=2025-03-14" is the key
// "StartTime>" with the value "2025-03-14": Twilio's "on or after". Values
// may be dates (YYYY-MM-DD, whole UTC days) or RFC 3339 times, which is
// what twilio-go sends.
type timeFilter struct {
	set      bool
	from, to time.Time // inclusive from, exclusive to; zero means unbounded
}

func parseTimeFilter(form url.Values, name string) (timeFilter, *apiError) {
	var f timeFilter
	parse := func(key string) (time.Time, bool, bool, *apiError) {
		v := form.Get(key)
		if v == "" {
			return time.Time{}, false, false, nil
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return d, true, true, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, false, true, nil
		}
		return time.Time{}, false, false, invalidParam(key, v, "a date YYYY-MM-DD or an RFC 3339 time")
	}
	if t, day, ok, err := parse(name); err != nil {
		return f, err
	} else if ok {
		f.set = true
		if day {
			f.from, f.to = t, t.AddDate(0, 0, 1)
		} else {
			f.from, f.to = t, t.Add(time.Second)
		}
	}
	if t, _, ok, err := parse(name + ">"); err != nil {
		return f, err
	} else if ok {
		f.set = true
		f.from = t
	}
	if t, day, ok, err := parse(name + "<"); err != nil {
		return f, err
	} else if ok {
		f.set = true
		if day {
			f.to = t.AddDate(0, 0, 1)
		} else {
			f.to = t.Add(time.Nanosecond)
		}
	}
	return f, nil
}

// match reports whether t passes the filter; a resource without the time
// (a call not yet started) passes only an unset filter.
func (f timeFilter) match(t time.Time) bool {
	if !f.set {
		return true
	}
	if t.IsZero() {
		return false
	}
	return (f.from.IsZero() || !t.Before(f.from)) && (f.to.IsZero() || t.Before(f.to))
}

// page is the paging envelope of Twilio's 2010 list responses; the items go
// under the resource's own key ("calls", "messages").
type page struct {
	End             int     `json:"end"`
	FirstPageURI    string  `json:"first_page_uri"`
	NextPageURI     *string `json:"next_page_uri"`
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	PreviousPageURI *string `json:"previous_page_uri"`
	Start           int     `json:"start"`
	URI             string  `json:"uri"`
}

// paginate cuts one page out of sids (newest first) as Twilio does:
// PageSize (default 50, at most 1000), Page, and the opaque PageToken
// twilio-go follows, here "PA" and the last SID of the previous page.
// filters are the query parameters that made the list, repeated in the URIs.
func paginate(form url.Values, base string, filters url.Values, sids []string) (page, []string, *apiError) {
	size := 50
	if v := form.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return page{}, nil, invalidParam("PageSize", v, "a whole number from 1 to 1000")
		}
		size = min(n, 1000)
	}
	num := 0
	if v := form.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return page{}, nil, invalidParam("Page", v, "a whole number from 0")
		}
		num = n
	}
	start := num * size
	if tok := form.Get("PageToken"); tok != "" {
		after, ok := strings.CutPrefix(tok, "PA")
		if !ok {
			return page{}, nil, invalidParam("PageToken", tok, "a token from next_page_uri")
		}
		start = len(sids)
		for i, sid := range sids {
			if sid == after {
				start = i + 1
				break
			}
		}
	}
	start = min(start, len(sids))
	end := min(start+size, len(sids))
	uri := func(p int, token string) string {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("PageSize", strconv.Itoa(size))
		q.Set("Page", strconv.Itoa(p))
		if token != "" {
			q.Set("PageToken", token)
		}
		return base + "?" + q.Encode()
	}
	pg := page{
		Page: num, PageSize: size, Start: start, End: max(end-1, start),
		FirstPageURI: uri(0, ""), URI: uri(num, form.Get("PageToken")),
	}
	if end < len(sids) {
		next := uri(num+1, "PA"+sids[end-1])
		pg.NextPageURI = &next
	}
	if num > 0 {
		prev := uri(num-1, "")
		pg.PreviousPageURI = &prev
	}
	return pg, sids[start:end], nil
}

// strp is a JSON string that may be null.
func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timep(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc2822(t)
	return &s
}
