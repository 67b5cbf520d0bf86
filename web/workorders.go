package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/huifang/huifang/workorders"
)

// Limits of one batch request.
const (
	maxBatchBytes = 32 << 20
	maxBatchRows  = 10000
)

var (
	sourceName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
)

// batchRequest is the body of POST /api/v1/work-orders.
type batchRequest struct {
	// Source names the upstream system; it is created as an "api" source on
	// first use. DefaultRegion applies to numbers without a country code.
	Source        string            `json:"source"`
	DefaultRegion string            `json:"default_region"`
	WorkOrders    []json.RawMessage `json:"work_orders"`
}

// batchResponse reports what a batch did; errors point into the request.
type batchResponse struct {
	workorders.ImportResult
	Errors []APIError `json:"errors,omitempty"`
}

// postWorkOrders takes a batch of jobs. Like a file import it is
// all-or-nothing unless ?skip_invalid=true, and re-sending a batch is
// harmless: jobs are upserted by (source, external_id).
func (s *Server) postWorkOrders(w http.ResponseWriter, r *http.Request) {
	skip := false
	if v := r.URL.Query().Get("skip_invalid"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad query parameter", APIError{Parameter: "skip_invalid", Message: "must be true or false"})
			return
		}
		skip = b
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes; send smaller batches", maxBatchBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	var req batchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON", jsonProblem(err))
		return
	}
	// dec.More misses a stray '}' or ']', so look at the bytes themselves.
	if off := dec.InputOffset(); len(bytes.Trim(body[off:], " \t\r\n")) > 0 {
		writeError(w, http.StatusBadRequest, "malformed JSON", APIError{Message: fmt.Sprintf("unexpected data after the JSON object, at byte %d", off)})
		return
	}
	var errs []APIError
	if !sourceName.MatchString(req.Source) {
		errs = append(errs, APIError{Pointer: "/source", Message: "is required: lower-case letters, digits, '.', '_' or '-', at most 63"})
	}
	if req.DefaultRegion != "" && !countryCode.MatchString(req.DefaultRegion) {
		errs = append(errs, APIError{Pointer: "/default_region", Message: "must be an ISO 3166-1 alpha-2 code such as CN or US"})
	}
	if req.WorkOrders == nil {
		errs = append(errs, APIError{Pointer: "/work_orders", Message: "is required: an array of work orders"})
	}
	if len(req.WorkOrders) > maxBatchRows {
		errs = append(errs, APIError{Pointer: "/work_orders", Message: fmt.Sprintf("has %d items; at most %d per request", len(req.WorkOrders), maxBatchRows)})
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "invalid request", errs...)
		return
	}
	ctx := r.Context()
	src, err := s.WorkOrders.EnsureSource(ctx, req.Source, "api", workorders.Defaults{Region: req.DefaultRegion})
	if err != nil {
		s.internal(w, "work-orders: source", err)
		return
	}
	reader := workorders.NewJSONArrayReader("/work_orders", req.WorkOrders)
	res, err := s.WorkOrders.Import(ctx, src, reader, workorders.ImportOptions{
		SkipInvalid: skip,
		MaxErrors:   maxBatchRows,
		Actor:       actorOf(r),
	})
	resp := batchResponse{ImportResult: res}
	for _, re := range res.Errors {
		for _, f := range re.Fields {
			resp.Errors = append(resp.Errors, APIError{Pointer: f.Pointer(re.Where), Message: f.Msg})
		}
	}
	switch {
	case errors.Is(err, workorders.ErrInvalidRows):
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, http.StatusUnprocessableEntity, struct {
			Error string `json:"error"`
			batchResponse
		}{"invalid work orders: nothing imported (add ?skip_invalid=true to import the valid ones)", resp})
	case err != nil:
		s.internal(w, "work-orders: import", err)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

// jsonProblem explains why the body did not decode, pointing at the member
// at fault when the decoder names one.
func jsonProblem(err error) APIError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return APIError{Message: fmt.Sprintf("%v at byte %d", se, se.Offset)}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return APIError{Message: "the body must be a JSON object, not " + te.Value}
		}
		return APIError{Pointer: "/" + pointerToken(te.Field), Message: "must be " + jsonType(te.Type) + ", not " + te.Value}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, err := strconv.Unquote(name); err == nil {
			return APIError{Pointer: "/" + pointerToken(name), Message: "unknown field"}
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		return APIError{Message: "the body is empty: send a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return APIError{Message: "the body ends in the middle of a JSON value"}
	}
	return APIError{Message: err.Error()}
}

// pointerToken escapes one member name for a JSON pointer (RFC 6901).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// jsonType names a Go type's JSON form, for errors a client can act on.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	default:
		return "a number"
	}
}
