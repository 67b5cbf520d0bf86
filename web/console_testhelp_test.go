package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
)

// testPassword is the password consoleLogin gives its users.
const testPassword = "correct horse battery"

// consoleLogin creates (or resets) a console user with role and returns an
// http.Client, with a cookie jar, logged in through the real login form of
// ts. The client follows redirects like a browser.
func consoleLogin(t testing.TB, ts *httptest.Server, pool *pgxpool.Pool, username string, role audit.Role) *http.Client {
	t.Helper()
	if err := EnsureUser(context.Background(), pool, username, strings.ToUpper(username[:1])+username[1:], role, "en", testPassword); err != nil {
		t.Fatalf("consoleLogin: EnsureUser %s: %v", username, err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(ts.URL+"/login", url.Values{"username": {username}, "password": {testPassword}, "next": {"/me"}})
	if err != nil {
		t.Fatalf("consoleLogin: POST /login: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/me" {
		t.Fatalf("consoleLogin %s: ended at %s with %d, want /me with 200:\n%.400s", username, resp.Request.URL, resp.StatusCode, body)
	}
	return c
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf opens path with client and returns the CSRF token of its forms.
func csrfOf(t testing.TB, client *http.Client, ts *httptest.Server, path string) string {
	t.Helper()
	resp, err := client.Get(ts.URL + path)
	if err != nil {
		t.Fatalf("csrfOf: GET %s: %v", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("csrfOf: GET %s (%d, at %s): no csrf field in:\n%.400s", path, resp.StatusCode, resp.Request.URL, body)
	}
	return string(m[1])
}
