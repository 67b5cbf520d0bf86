package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
)

// huifangBin builds the binary once per test process.
func huifangBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "huifang-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "huifang")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct{ out string }

func (e *buildError) Error() string { return "go build: " + e.out }

// processesUsing lists the pids whose command line mentions dir.
func processesUsing(dir string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join("/proc", e.Name(), "cmdline")); err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(b), dir) && !strings.Contains(string(st), ") Z ") {
			pids = append(pids, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return pids
}

// The demo on the embedded default: starts its own Postgres and Redis, loads
// sample jobs, serves the status page, and leaves no process behind when
// interrupted as Ctrl-C would.
func TestDemoRunsOnEmbeddedServicesAndStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := huifangBin(t)
	dataDir, err := os.MkdirTemp("", "huifang-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	cmd := exec.Command(bin, "demo", "--jobs", "300", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")} // no DATABASE_URL, no REDIS_URL
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stderr)
	defer cmd.Process.Kill()

	var addr, token string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	running := regexp.MustCompile(`running at http://([0-9.:]+)/`)
	deadline := time.After(2 * time.Minute)
	for addr == "" || token == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("demo exited before it was ready")
			}
			if m := running.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
			if v, ok := strings.CutPrefix(l, "Demo API token for this run: "); ok {
				token = v
			}
		case <-deadline:
			t.Fatal("demo not ready within 2 minutes")
		}
	}
	go func() {
		for range lines {
		}
	}()

	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		WorkOrders map[string]int `json:"work_orders"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != 200 || st.WorkOrders["install"]+st.WorkOrders["repair"] != 300 {
		t.Fatalf("status %d, work orders %v; want 200 and 300 jobs", resp.StatusCode, st.WorkOrders)
	}
	if got := processesUsing(dataDir); len(got) < 2 {
		t.Fatalf("expected the embedded Postgres and Redis running under %s, found %v", dataDir, got)
	}
	resp, err = http.Get("http://" + addr + "/api/v1/status")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status without a token: %d, want 401", resp.StatusCode)
		}
	}

	// The Twilio webhooks are mounted, and guarded by the signature, not the
	// token: a forged status callback is refused.
	resp, err = http.PostForm("http://"+addr+"/twilio/voice/status?attempt=1",
		url.Values{"CallSid": {"CA00000000000000000000000000000000"}, "CallStatus": {"completed"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned webhook: %d, want 403", resp.StatusCode)
	}

	// Ctrl-C.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("demo exited with %v after SIGINT, want a clean exit", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not stop within 60 s of SIGINT")
	}
	if left := processesUsing(dataDir); len(left) > 0 {
		t.Fatalf("processes left behind after Ctrl-C: %v", left)
	}
}

func runCLI(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runCLIWithin(t, 2*time.Minute, env, args...)
}

// runCLIWithin is runCLI for a command that may take longer than two minutes.
func runCLIWithin(t *testing.T, limit time.Duration, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, huifangBin(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HUIFANG_LOG_LEVEL=warn"}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestImportCommandAllOrNothingAndSkipInvalid(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + testdb.NewURL(t)}
	dir := t.TempDir()
	file := filepath.Join(dir, "jobs.csv")
	data := "external_id,kind,completed_at,customer_name,phone,region,provider_code,product_category,product_model,parts\r\n" +
		"A-1,repair,2026-11-20 10:00,甲,13800138001,CN-GD,P1,water_heater,M1,HTR|1|99\r\n" +
		"A-2,install,2026-11-20 11:00,乙,13800138002,CN-GD,P1,water_heater,M1,\r\n" +
		"A-3,fixing,2026-11-20 12:00,丙,13800138003,CN-GD,P1,water_heater,M1,\r\n"
	os.WriteFile(file, []byte(data), 0o644)

	_, stderr, code := runCLI(t, env, "import", file)
	if code != 1 || !strings.Contains(stderr, "jobs.csv:4:kind: must be install or repair") || !strings.Contains(stderr, "nothing imported") {
		t.Fatalf("all-or-nothing import: exit %d, stderr:\n%s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, env, "import", file, "--skip-invalid")
	if code != 0 || !strings.Contains(stdout, "2 new") || !strings.Contains(stdout, "1 rejected") {
		t.Fatalf("--skip-invalid: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rejects, err := os.ReadFile(file + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rejects), "jobs.csv:4") || !strings.Contains(string(rejects), "A-3") || strings.Contains(string(rejects), "A-1") {
		t.Fatalf("rejects file:\n%s", rejects)
	}
	// Again: nothing changes.
	stdout, _, code = runCLI(t, env, "import", "--skip-invalid", file)
	if code != 0 || !strings.Contains(stdout, "2 unchanged") {
		t.Fatalf("re-import: exit %d, %s", code, stdout)
	}
	// Mistakes in the command line are named.
	_, stderr, code = runCLI(t, env, "import", "--format", "xml", file)
	if code == 0 || !strings.Contains(stderr, `--format "xml"`) {
		t.Fatalf("bad format: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, env, "nonsense")
	if code != 2 || !strings.Contains(stderr, `unknown command "nonsense"`) {
		t.Fatalf("unknown command: exit %d, %s", code, stderr)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// -h lists each flag with its default, read from the environment; a
// password in DATABASE_URL or REDIS_URL is not shown.
func TestHelpDoesNotShowPasswords(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=postgres://huifang:s3cret-pw@db.internal:5432/huifang",
		"REDIS_URL=redis://:r3dis-pw@cache.internal:6379/0"}
	for _, cmd := range []string{"serve", "import", "migrate"} {
		out, errOut, _ := runCLI(t, env, cmd, "-h")
		all := out + errOut
		if !strings.Contains(all, "database-url") {
			t.Errorf("%s -h does not list -database-url:\n%s", cmd, all)
		}
		if strings.Contains(all, "s3cret-pw") || strings.Contains(all, "r3dis-pw") {
			t.Errorf("%s -h shows a password:\n%s", cmd, all)
		}
	}
}

// A bad trusted-proxy list stops serve before anything starts, naming the
// setting and the entry.
func TestServeRefusesABadTrustedProxy(t *testing.T) {
	t.Parallel()
	_, errOut, code := runCLI(t, []string{"HUIFANG_TRUSTED_PROXIES=10.0.0.0/8, lb.internal"}, "serve")
	want := `trusted proxies (--trusted-proxies, HUIFANG_TRUSTED_PROXIES): entry 2, "lb.internal": not an IP address or CIDR prefix`
	if code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("serve exited %d; stderr:\n%s\nwant it to say %s", code, errOut, want)
	}
}

// demo --check runs both demo campaigns against the simulator to the end,
// audits what the customers said, and passes only when every rule with
// planted claims meets the audit's recall and precision targets; `audit
// report` then prints the same measurement from the database.
func TestDemoCheckMeetsTheAuditTargets(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + testdb.NewURL(t), "REDIS_URL=" + testdb.RedisURL(),
		"HUIFANG_REDIS_PREFIX=test:democheck:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"}
	stdout, stderr, code := runCLIWithin(t, 7*time.Minute, env, "demo", "--check", "--jobs", "300", "--timeout", "6m")
	if code != 0 || !strings.Contains(stdout, "PASS: every rule with planted claims") {
		t.Fatalf("demo --check exited %d\nstdout:\n%s\nstderr (tail):\n%s", code, stdout, tail(stderr, 4000))
	}
	// The answer rules were exercised: customers answered and were caught.
	row := regexp.MustCompile(`(?m)^\s*(V[0-9]+)\s.*?\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$`)
	caught := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(stdout, -1) {
		n, _ := strconv.Atoi(m[6])
		caught[m[1]] = n
	}
	for _, rule := range []string{"V1", "V2", "V4", "V5"} {
		if caught[rule] == 0 {
			t.Errorf("%s caught nothing; the report:\n%s", rule, stdout)
		}
	}
	for _, want := range []string{"Contacts by campaign and outcome", "demo-repair-verify", "demo-install-verify", "Attempts by channel and outcome", "Flags by rule and severity"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the outcome table lacks %q", want)
		}
	}
	report, stderr, code := runCLI(t, env, "audit", "report", "--strict")
	if code != 0 {
		t.Fatalf("audit report exited %d: %s", code, stderr)
	}
	_, table, _ := strings.Cut(stdout, "Audit against the planted ground truth")
	_, again, _ := strings.Cut(report, "Audit against the planted ground truth")
	if strings.TrimSpace(strings.Split(table, "\nPASS")[0]) != strings.TrimSpace(again) {
		t.Errorf("audit report disagrees with demo --check:\n%s\nvs\n%s", again, table)
	}
	flags, _, code := runCLI(t, env, "audit", "flags", "--rule", "V1", "--state", "open")
	if code != 0 || !strings.Contains(flags, "V1") || !strings.Contains(flags, "critical") {
		t.Errorf("audit flags --rule V1 exited %d:\n%s", code, flags)
	}
}
