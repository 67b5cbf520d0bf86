package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/audit"
)

// Recordings fetches a call recording's audio from the carrier with the
// account's credentials (twilio.Carrier implements it).
type Recordings interface {
	Recording(ctx context.Context, sid, byteRange string) (*http.Response, error)
}

func (s *Server) recordingPages(handle func(string, http.HandlerFunc)) {
	handle("GET /attempts/{id}/recording", s.page(pagesReviewer, s.attemptRecording))
}

// attemptRecording plays an attempt's recording in the console: the audio
// is fetched from the carrier with the account's credentials and passed
// through, Range requests included, so neither the credentials nor the
// carrier's URL reach the browser. Reviewers and admins may listen (a
// recording is the customer's voice); each listen is in the audit log.
// Without a carrier (telephony off) the browser is sent to the stored URL.
func (s *Server) attemptRecording(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFoundPage(w, r, translate(u.Lang, "recording.none"))
		return
	}
	ctx := r.Context()
	var sid, recURL *string
	err = s.Pool.QueryRow(ctx, `SELECT recording_sid, recording_url FROM attempts WHERE id = $1`, id).Scan(&sid, &recURL)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (sid == nil || *sid == "") {
		s.notFoundPage(w, r, translate(u.Lang, "recording.none"))
		return
	}
	if err != nil {
		s.Log.Error("console: recording", "attempt", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	byteRange := r.Header.Get("Range")
	// A player asks for the start first, then for ranges as it seeks:
	// one listen is logged when the start is asked for.
	if byteRange == "" || strings.HasPrefix(byteRange, "bytes=0-") {
		if err := audit.LogAction(ctx, s.Pool, s.now(), u.Username, "recording.played", "attempt", strconv.FormatInt(id, 10),
			map[string]any{"recording_sid": *sid}); err != nil {
			s.Log.Error("console: recording: audit log", "attempt", id, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	if s.Recordings == nil {
		if recURL == nil || *recURL == "" {
			s.notFoundPage(w, r, translate(u.Lang, "recording.none"))
			return
		}
		http.Redirect(w, r, *recURL, http.StatusFound)
		return
	}
	resp, err := s.Recordings.Recording(ctx, *sid, byteRange)
	if err != nil {
		s.Log.Warn("console: recording from the carrier", "attempt", id, "err", err)
		http.Error(w, translate(u.Lang, "recording.failed"), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		s.Log.Warn("console: recording: copy", "attempt", id, "err", err)
	}
}
