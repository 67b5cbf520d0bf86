package redact_test

import (
	"testing"

	"github.com/huifang/huifang/internal/redact"
)

func TestPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ msg, conn, want string }{
		{"dial postgres://app:s3cr3t@db:5432/x: refused", "postgres://app:s3cr3t@db:5432/x", "dial postgres://app:xxxxx@db:5432/x: refused"},
		{"bad URL postgres://app:p@ss%zz@db/x", "postgres://app:p@ss%zz@db/x", "bad URL postgres://app:xxxxx@db/x"},
		{"no password in redis://cache:6379", "redis://cache:6379", "no password in redis://cache:6379"},
		{"user only postgres://app@db/x", "postgres://app@db/x", "user only postgres://app@db/x"},
	} {
		if got := redact.Password(tc.msg, tc.conn); got != tc.want {
			t.Errorf("Password(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
