// Package web is Huifang's HTTP face: the JSON API, the health and metrics
// endpoints, and (as it grows) the console. It translates HTTP to calls on
// the domain packages and back; no domain package knows about HTTP.
//
// Every route except the liveness and readiness probes requires
// authentication: a bearer token that is either the static admin token
// (HUIFANG_ADMIN_TOKEN, role admin, actor "admin") or an API token made with
// audit.Store.CreateToken, which names a person or integration and its role
// (admin, ops, reviewer, readonly). Each route says which roles it allows.
package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/workorders"
)

// Server holds what the handlers need. Build it in cmd and call Handler.
type Server struct {
	Pool       *pgxpool.Pool
	Redis      *redis.Client
	WorkOrders *workorders.Store
	Campaigns  *campaigns.Store // if set, the campaign API is served under /api/v1/campaigns
	// Audit, if set, serves the review API under /api/v1/audit and lets
	// API tokens (api_tokens) authenticate beside the admin token.
	Audit *audit.Store
	Log   *slog.Logger
	// AdminToken authorises API calls as role admin; empty means only API
	// tokens do (and without Audit, every API call is refused).
	AdminToken string
	// Version is reported by the status endpoint.
	Version string
	// Now is the clock of the console; nil means time.Now.
	Now func() time.Time

	tmplOnce sync.Once
	tmpl     map[string]*template.Template
	tmplErr  error
	// Gatherer serves /metrics (default prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	// Twilio, if set, serves Twilio's webhooks under /twilio/. They are
	// authenticated by Twilio's request signature, not by a login.
	Twilio http.Handler
	// Bridge, if set with BridgeFrom (our E.164 number), lets a reviewer
	// holding a flag call the customer back: the reviewer's phone rings and
	// is joined to the customer's (twilio.Carrier implements it).
	Bridge interface {
		Bridge(ctx context.Context, from, agent, customer string) (string, error)
	}
	BridgeFrom string
	// Recordings, if set, plays call recordings in the console through
	// Huifang, fetched with the carrier account's credentials
	// (twilio.Carrier implements it); unset, the console links to the
	// carrier's URL.
	Recordings Recordings
	// TrustedProxies are the load balancers and reverse proxies in front of
	// the console (HUIFANG_TRUSTED_PROXIES). Behind them the login throttle
	// counts failures per client address from X-Forwarded-For; from any
	// other peer that header is ignored.
	TrustedProxies []netip.Prefix
}

var httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "huifang_http_requests_total",
	Help: "HTTP requests by route pattern and status code.",
}, []string{"route", "code"})

var httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "huifang_http_request_duration_seconds",
	Help:    "HTTP request latency by route pattern.",
	Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
}, []string{"route"})

func init() { prometheus.MustRegister(httpRequests, httpDuration) }

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	g := s.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.observe(pattern, h)) }

	handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	handle("GET /readyz", s.ready)
	handle("GET /metrics", s.auth(promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP))
	s.consoleRoutes(handle)
	handle("GET /api/v1/status", s.auth(s.status))
	handle("POST /api/v1/work-orders", s.allow(opsRoles, s.postWorkOrders))
	handle("GET /api/v1/sources", s.auth(s.listSources))
	if s.Campaigns != nil {
		handle("GET /api/v1/campaigns", s.auth(s.listCampaigns))
		handle("POST /api/v1/campaigns", s.allow(opsRoles, s.createCampaign))
		handle("GET /api/v1/campaigns/{name}", s.auth(s.getCampaign))
		handle("PUT /api/v1/campaigns/{name}", s.allow(opsRoles, s.updateCampaign))
		handle("POST /api/v1/campaigns/{name}/{action}", s.allow(opsRoles, s.campaignAction))
		handle("GET /api/v1/campaigns/{name}/versions", s.auth(s.campaignVersions))
	}
	if s.Audit != nil {
		s.auditRoutes(handle)
	}
	if s.Twilio != nil {
		mux.Handle("/twilio/", s.observeTwilio(s.Twilio))
	}
	handle("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := s.identify(r); !ok {
			notAuthenticated(w, err)
			return
		}
		writeError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// statusRecorder captures the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the writer underneath, so a
// streaming page (server-sent events) can flush.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) observe(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.Log.Error("http: handler panicked", "route", route, "panic", p)
				if rec.code == http.StatusOK {
					writeError(rec, http.StatusInternalServerError, "internal error")
				}
			}
			httpRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
			httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(rec, r)
	})
}

// twilioRoutes are the webhook paths metrics name one by one; anything else
// under /twilio/ counts as one route, so a stranger cannot grow the label set.
var twilioRoutes = map[string]bool{
	"/twilio/voice/answer": true, "/twilio/voice/gather": true, "/twilio/voice/status": true,
	"/twilio/voice/amd": true, "/twilio/voice/recording": true, "/twilio/sms/inbound": true,
	"/twilio/sms/status": true,
}

func (s *Server) observeTwilio(h http.Handler) http.Handler {
	routes := map[string]http.Handler{}
	for path := range twilioRoutes {
		routes[path] = s.observe("POST "+path, h)
	}
	other := s.observe("/twilio/", h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rh, ok := routes[r.URL.Path]; ok {
			rh.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// Roles that may call a route.
var (
	anyRole       = []audit.Role{audit.RoleAdmin, audit.RoleOps, audit.RoleReviewer, audit.RoleReadonly}
	opsRoles      = []audit.Role{audit.RoleAdmin, audit.RoleOps}
	reviewerRoles = []audit.Role{audit.RoleAdmin, audit.RoleReviewer}
	adminRoles    = []audit.Role{audit.RoleAdmin}
)

// adminName is who the static admin token acts as.
const adminName = "admin"

type identityKey struct{}

// actorOf names who made a request, for the audit log: "api:" and the
// token's name ("api:admin" for the static admin token).
func actorOf(r *http.Request) string { return "api:" + identityOf(r).Name }

// identityOf returns who the request comes from (set by auth and allow).
func identityOf(r *http.Request) audit.Identity {
	id, _ := r.Context().Value(identityKey{}).(audit.Identity)
	return id
}

// identify reads the bearer token: the static admin token, or an API token
// when Audit is set. Only a hash of an API token is compared, so neither
// path's timing tells how much of a guess was right.
func (s *Server) identify(r *http.Request) (audit.Identity, bool, error) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return audit.Identity{}, false, nil
	}
	tok := h[len(prefix):]
	if s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1 {
		return audit.Identity{Name: adminName, Role: audit.RoleAdmin}, true, nil
	}
	if s.Audit == nil {
		return audit.Identity{}, false, nil
	}
	id, err := s.Audit.Authenticate(r.Context(), tok)
	if errors.Is(err, audit.ErrBadToken) {
		return audit.Identity{}, false, nil
	}
	if err != nil {
		s.Log.Error("http: authenticate", "err", err)
		return audit.Identity{}, false, err
	}
	return id, true, nil
}

// notAuthenticated answers a request identify let through: 503 when the
// token could not be checked, 401 when there is none or it is not valid.
func notAuthenticated(w http.ResponseWriter, err error) {
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "the token could not be checked: the database did not answer; try again")
		return
	}
	unauthorised(w)
}

// auth lets any authenticated caller through, with their identity in the
// request's context.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc { return s.allow(anyRole, h) }

// allow lets through authenticated callers whose role is one of roles,
// answering 401 to the unauthenticated and 403 to the others.
func (s *Server) allow(roles []audit.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := s.identify(r)
		if !ok {
			notAuthenticated(w, err)
			return
		}
		if !slices.Contains(roles, id.Role) {
			names := make([]string, len(roles))
			for i, ro := range roles {
				names[i] = string(ro)
			}
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s has role %s: %s %s needs %s",
				id.Name, id.Role, r.Method, r.URL.Path, strings.Join(names, " or ")))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// unauthorised answers 401 with the challenge RFC 9110 requires of every 401.
func unauthorised(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="huifang"`)
	writeError(w, http.StatusUnauthorized, "login required: send Authorization: Bearer <token>")
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	code := http.StatusOK
	if err := s.Pool.Ping(ctx); err != nil {
		checks["postgres"], code = "unavailable", http.StatusServiceUnavailable
	}
	if s.Redis != nil {
		if err := s.Redis.Ping(ctx).Err(); err != nil {
			checks["redis"], code = "unavailable", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, checks)
}

// Status is what GET /api/v1/status answers: enough to see that intake works.
type Status struct {
	Version    string         `json:"version"`
	Time       time.Time      `json:"time"`
	WorkOrders map[string]int `json:"work_orders"`
	Customers  int            `json:"customers"`
	Providers  int            `json:"providers"`
	Sources    []SourceStatus `json:"sources"`
}

// SourceStatus summarises one intake source.
type SourceStatus struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Schedule    string     `json:"schedule,omitempty"`
	WatermarkAt *time.Time `json:"watermark_at,omitempty"`
	LastRunAt   *time.Time `json:"last_run_at,omitempty"`
	LastRunRows int        `json:"last_run_rows"`
	LastError   string     `json:"last_error,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := Status{Version: s.Version, Time: time.Now().UTC(), WorkOrders: map[string]int{}}
	rows, err := s.Pool.Query(ctx, `SELECT kind, count(*) FROM work_orders GROUP BY kind`)
	if err != nil {
		s.internal(w, "status", err)
		return
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			s.internal(w, "status", err)
			return
		}
		st.WorkOrders[k] = n
	}
	rows.Close()
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM providers)`).
		Scan(&st.Customers, &st.Providers); err != nil {
		s.internal(w, "status", err)
		return
	}
	srcs, err := s.WorkOrders.Sources(ctx)
	if err != nil {
		s.internal(w, "status", err)
		return
	}
	st.Sources = summarise(srcs)
	writeJSON(w, http.StatusOK, st)
}

func summarise(srcs []workorders.Source) []SourceStatus {
	out := make([]SourceStatus, 0, len(srcs))
	for _, src := range srcs {
		ss := SourceStatus{Name: src.Name, Kind: src.Kind, Schedule: src.Schedule, LastRunRows: src.LastRunRows, LastError: src.LastError}
		if src.WatermarkAt.Unix() > 0 {
			t := src.WatermarkAt
			ss.WatermarkAt = &t
		}
		if src.LastRunAt.Unix() > 0 {
			t := src.LastRunAt
			ss.LastRunAt = &t
		}
		out = append(out, ss)
	}
	return out
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	srcs, err := s.WorkOrders.Sources(r.Context())
	if err != nil {
		s.internal(w, "sources", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": summarise(srcs)})
}

// internal answers 500 for a failure of ours (not of the request), logging it once.
func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.Log.Error("http: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// APIError is one problem with a request, at a JSON pointer into its body (or
// naming a query parameter).
type APIError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Message   string `json:"message"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string, errs ...APIError) {
	body := map[string]any{"error": msg}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, code, body)
}
