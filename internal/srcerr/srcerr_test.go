package srcerr_test

import (
	"errors"
	"testing"

	"github.com/huifang/huifang/internal/srcerr"
)

func TestErrorsReadLikeCompilerOutput(t *testing.T) {
	t.Parallel()
	es := srcerr.Errors{
		{File: "a.yaml", Pos: srcerr.Pos{Line: 3, Col: 7}, Rule: "time", Msg: `"25:00" is not a time`},
		{File: "a.yaml", Pos: srcerr.Pos{Line: 9, Col: 1}, Rule: "unknown-key", Msg: `unknown key "hour"`},
	}
	want := "a.yaml:3:7: \"25:00\" is not a time [time]\na.yaml:9:1: unknown key \"hour\" [unknown-key]"
	if got := es.Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	var err error = es
	var target srcerr.Errors
	if !errors.As(err, &target) || target[1].Line != 9 {
		t.Fatal("Errors does not survive errors.As")
	}
}
