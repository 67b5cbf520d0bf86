package main

import (
	"log/slog"
	"strings"
	"testing"
)

// Telephony is configured from the environment as a whole: none of it
// means off, part of it names what is missing, and a base URL that is not
// an absolute http(s) URL is refused.
func TestTwilioFromEnv(t *testing.T) {
	t.Parallel()
	rt := &runtime{log: slog.New(slog.DiscardHandler)}
	cases := []struct {
		env     map[string]string
		wantErr string // "" means no error and telephony off
	}{
		{map[string]string{}, ""},
		{map[string]string{"TWILIO_ACCOUNT_SID": "AC123"}, "telephony needs TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL as well"},
		{map[string]string{"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "secret-token"}, "telephony needs PUBLIC_BASE_URL as well"},
		{map[string]string{"PUBLIC_BASE_URL": "https://h.example.com"}, "telephony needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN as well"},
		{map[string]string{"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "secret-token", "PUBLIC_BASE_URL": "h.example.com"},
			"PUBLIC_BASE_URL must be an absolute http(s) URL"},
	}
	for _, tc := range cases {
		c := &cli{getenv: func(k string) string { return tc.env[k] }}
		tel, err := twilioFromEnv(c, rt)
		switch {
		case tc.wantErr == "" && (err != nil || tel != nil):
			t.Errorf("env %v: got %v, %v; want telephony off", tc.env, tel, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("env %v: error %v, want %q", tc.env, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "secret-token"):
			t.Errorf("env %v: the error shows the token: %v", tc.env, err)
		}
	}
}
