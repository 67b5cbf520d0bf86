package embedded

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// helperEnv makes the test binary act as a stand-in huifang (see
// runHelper): it starts both servers in the named data directory and waits
// to be killed.
const helperEnv = "HUIFANG_EMBEDDED_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		runHelper(dir)
		return
	}
	os.Exit(m.Run())
}

func TestPostgresKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	// A private data directory of ours: as root, StartPostgres must let the
	// postgres user enter it.
	if err := os.Chmod(opts.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	pg := startPostgres(t, opts)
	t.Logf("first start (initdb + start + create database): %v", time.Since(began))
	assertRunsUnprivileged(t, pg.PID(), "postgres")

	conn := connect(t, pg.URL())
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE callbacks (id int PRIMARY KEY, customer text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO callbacks VALUES (1, '王女士')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	pid := pg.PID()
	stopped := time.Now()
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stop: %v", time.Since(stopped))
	if !processGone(pid) {
		t.Fatalf("postmaster %d still running after Stop", pid)
	}
	if left, _ := postgresProcessesIn(filepath.Join(opts.DataDir, "postgres")); len(left) > 0 {
		t.Fatalf("postgres processes %v still running in the data directory after Stop", left)
	}
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	began = time.Now()
	pg2 := startPostgres(t, opts)
	t.Logf("restart on the same data directory: %v", time.Since(began))
	if pg2.URL() == pg.URL() {
		t.Logf("note: restart happened to get the same port")
	}
	var customer string
	if err := connect(t, pg2.URL()).QueryRow(ctx, "SELECT customer FROM callbacks WHERE id = 1").Scan(&customer); err != nil {
		t.Fatalf("table from the first run: %v", err)
	}
	if customer != "王女士" {
		t.Fatalf("customer = %q, want 王女士", customer)
	}
}

// A crash: the postmaster is killed with SIGKILL under a running
// huifang, leaving postmaster.pid and possibly its backends behind; starting
// again on the same data directory must work and keep committed data.
func TestPostgresStartsAfterPostmasterKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	pg := startPostgres(t, opts)

	conn := connect(t, pg.URL())
	// synchronous_commit is off server-wide; this commit must survive SIGKILL.
	for _, sql := range []string{
		"CREATE TABLE flags (id int)",
		"BEGIN", "SET LOCAL synchronous_commit = on", "INSERT INTO flags VALUES (7)", "COMMIT",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	pid := pg.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pgdata := filepath.Join(opts.DataDir, "postgres")
	if postmasterPID(pgdata) != pid {
		t.Fatalf("postmaster.pid does not name the killed postmaster %d", pid)
	}

	began := time.Now()
	pg2 := startPostgres(t, opts)
	t.Logf("start after SIGKILL (crash recovery): %v", time.Since(began))
	if !processGone(pid) {
		t.Fatalf("killed postmaster %d still there", pid)
	}
	var id int
	if err := connect(t, pg2.URL()).QueryRow(ctx, "SELECT id FROM flags").Scan(&id); err != nil || id != 7 {
		t.Fatalf("committed row after crash recovery: id=%d, %v", id, err)
	}
	if err := pg.Stop(ctx); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Fatalf("Stop of the killed server = %v, want an 'already exited' error", err)
	}
}

// The real-world kill -9: huifang itself dies without stopping anything. The
// parent-death signal must take both servers down with it, and the next run
// must start on the same data directory.
func TestServersDieWithKilledHuifang(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)

	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+opts.DataDir)
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = helper.Wait()
		t.Fatalf("helper: %v; stderr:\n%s", err, stderr.String())
	}
	var pgPID, redisPID int
	if _, err := fmt.Sscan(line, &pgPID, &redisPID); err != nil {
		t.Fatalf("helper printed %q: %v", line, err)
	}
	for _, pid := range []int{pgPID, redisPID} {
		if processGone(pid) {
			t.Fatalf("server %d not running before the kill", pid)
		}
	}

	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	killed := time.Now()
	waitFor(t, 10*time.Second, "postgres and redis-server to die with their parent", func() bool {
		return processGone(pgPID) && processGone(redisPID)
	})
	t.Logf("servers gone %v after huifang was killed", time.Since(killed))

	pg := startPostgres(t, opts)
	var one int
	if err := connect(t, pg.URL()).QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("after a killed run: %v", err)
	}
	startRedis(t, opts)
}

// A postmaster still running in the data directory with no huifang holding it
// (what a missing parent-death signal leaves) is shut down before the start.
func TestPostgresStopsLeftoverServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	var logs syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	old := startPostgres(t, opts)
	// Let go of the data directory as if the huifang that started it had
	// died, but leave its server running.
	old.lock.Close()

	pg := startPostgres(t, opts)
	select {
	case <-old.proc.done:
	default:
		t.Fatalf("leftover postmaster %d still running after the new start", old.PID())
	}
	if old.proc.waitErr != nil {
		t.Errorf("leftover postmaster was not shut down cleanly: %v", old.proc.waitErr)
	}
	if !strings.Contains(logs.String(), "stopping PostgreSQL left running by an earlier run") {
		t.Errorf("no warning about the leftover server in the log:\n%s", logs.String())
	}
	var one int
	if err := connect(t, pg.URL()).QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresStopKillsWhenDeadlinePasses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	pg := startPostgres(t, opts)

	// A backend busy with a long CPU-bound query never checks whether its
	// postmaster is still alive: Stop itself must kill it.
	busy := connect(t, pg.URL())
	queryDone := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "SELECT count(*) FROM generate_series(1, 10000000000)")
		queryDone <- err
	}()
	watcher := connect(t, pg.URL())
	waitFor(t, 10*time.Second, "the long query to run", func() bool {
		var n int
		err := watcher.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%generate_series%' AND pid <> pg_backend_pid()").Scan(&n)
		return err == nil && n == 1
	})
	watcher.Close(ctx)

	expired, cancel := context.WithCancel(ctx)
	cancel()
	pid := pg.PID()
	err := pg.Stop(expired)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop with an expired context = %v, want a 'killed' error wrapping context.Canceled", err)
	}
	if !processGone(pid) {
		t.Fatalf("postmaster %d still running", pid)
	}
	pgdata := filepath.Join(opts.DataDir, "postgres")
	waitFor(t, 2*time.Second, "the busy backend to be killed", func() bool {
		left, _ := postgresProcessesIn(pgdata)
		return len(left) == 0
	})
	if err := <-queryDone; err == nil {
		t.Fatal("the long query finished without error on a killed server")
	}
	if again := pg.Stop(ctx); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Stop = %v, want the first result %v", again, err)
	}
	startPostgres(t, opts)
}

func TestPostgresRefusesForeignDataDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string // under DataDir/postgres
		wantErr string
	}{
		{
			name:    "cluster of another major version",
			files:   map[string]string{"PG_VERSION": "9.6\n"},
			wantErr: "was created by PostgreSQL 9.6",
		},
		{
			name:    "not a cluster",
			files:   map[string]string{"notes.txt": "mine\n"},
			wantErr: "not a PostgreSQL data directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions(t)
			pgdata := filepath.Join(opts.DataDir, "postgres")
			if err := os.Mkdir(pgdata, 0o700); err != nil {
				t.Fatal(err)
			}
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(pgdata, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			pg, err := StartPostgres(context.Background(), opts)
			if err == nil {
				pg.Stop(context.Background())
				t.Fatal("started on a directory that is not ours")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for name, content := range tt.files {
				if got, _ := os.ReadFile(filepath.Join(pgdata, name)); string(got) != content {
					t.Errorf("%s was changed to %q", name, got)
				}
			}
		})
	}
}

func TestPostgresRefusesDataDirInUse(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	pg := startPostgres(t, opts)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	second, err := StartPostgres(ctx, opts)
	if err == nil {
		second.Stop(context.Background())
		t.Fatal("second StartPostgres on a data directory in use succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another huifang (pid "+strconv.Itoa(os.Getpid())+")") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want 'in use by another huifang (pid %d)' wrapping the deadline", err, os.Getpid())
	}
	var one int
	if err := connect(t, pg.URL()).QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("first server hurt by the refused start: %v", err)
	}
}

func TestPostgresNeedsReachableDataDirAsRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs the servers as another user")
	}
	private := filepath.Join(testOptions(t).DataDir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := StartPostgres(context.Background(), Options{DataDir: filepath.Join(private, "huifang")})
	if err == nil {
		t.Fatal("started under a directory the postgres user cannot enter")
	}
	for _, want := range []string{"directory " + private + " cannot be entered", "--data-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v; want it to contain %q", err, want)
		}
	}
}

func TestRedisStartStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)

	began := time.Now()
	r := startRedis(t, opts)
	t.Logf("redis start: %v", time.Since(began))
	assertRunsUnprivileged(t, r.PID(), "redis")

	client := redisClient(t, r.URL())
	if err := client.Set(ctx, "hopper:next", "contact-42", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Get(ctx, "hopper:next").Result(); err != nil || got != "contact-42" {
		t.Fatalf("GET = %q, %v", got, err)
	}

	pid := r.PID()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !processGone(pid) {
		t.Fatalf("redis-server %d still running after Stop", pid)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// Nothing is persisted: each run starts empty.
	r2 := startRedis(t, opts)
	if err := redisClient(t, r2.URL()).Get(ctx, "hopper:next").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart: %v, want redis.Nil", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(opts.DataDir, "redis")); len(entries) > 0 {
		t.Errorf("Redis wrote files to its directory: %v", entries)
	}
}

// A start that lost the race for its port is told apart from other
// failures by the log, and only this run's part of the log is quoted.
func TestStartErrorReadsThisRunsLog(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "postgres.log")
	earlier := "2026-11-24 09:00:00.000 UTC [100] LOG:  database system is shut down\n"
	if err := os.WriteFile(logPath, []byte(earlier), 0o600); err != nil {
		t.Fatal(err)
	}
	f, from, err := openLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Real PostgreSQL 15 output for a taken port.
	_, err = f.WriteString(`2026-11-25 08:16:27.252 UTC [27939] LOG:  could not bind IPv4 address "127.0.0.1": Address already in use
2026-11-25 08:16:27.252 UTC [27939] HINT:  Is another postmaster already running on port 6379? If not, wait a few seconds and retry.
2026-11-25 08:16:27.252 UTC [27939] FATAL:  could not create any TCP/IP sockets
`)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{name: "postgres", logPath: logPath, logFrom: from}
	got := p.startError(errors.New("it exited: exit status 1"))
	if !errors.Is(got, errPortInUse) {
		t.Errorf("error does not wrap errPortInUse: %v", got)
	}
	if msg := got.Error(); !strings.Contains(msg, "could not create any TCP/IP sockets") || strings.Contains(msg, "[100]") {
		t.Errorf("error should quote this run's log and not the earlier run's:\n%s", msg)
	}
}

func TestPGBinDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mkBin := func(dir string, names ...string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	debian := filepath.Join(root, "usr/lib/postgresql")
	mkBin(filepath.Join(debian, "9.6/bin"), "initdb", "postgres")
	v15 := mkBin(filepath.Join(debian, "15/bin"), "initdb", "postgres")
	mkBin(filepath.Join(debian, "17/bin"), "postgres") // client-only remnant: no initdb
	custom := mkBin(filepath.Join(root, "opt/pg/bin"), "initdb", "postgres")
	onPath := mkBin(filepath.Join(root, "path/bin"), "initdb", "postgres")
	clientOnly := mkBin(filepath.Join(root, "client/bin"), "psql")
	empty := filepath.Join(root, "nothing")

	found := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }

	tests := []struct {
		name              string
		explicit, fromEnv string
		debianRoot        string
		lookPath          func(string) (string, error)
		want              string
		wantErr           string
	}{
		{name: "explicit wins", explicit: custom, fromEnv: onPath, debianRoot: debian, lookPath: notFound, want: custom},
		{name: "environment next", fromEnv: custom, debianRoot: debian, lookPath: notFound, want: custom},
		{name: "explicit without binaries", explicit: clientOnly, debianRoot: debian, lookPath: notFound, wantErr: clientOnly + " is the PostgreSQL bin directory option"},
		{name: "highest complete Debian version", debianRoot: debian, lookPath: notFound, want: v15},
		{name: "PATH when no Debian layout", debianRoot: empty, lookPath: found(filepath.Join(onPath, "postgres")), want: onPath},
		{name: "nothing installed", debianRoot: empty, lookPath: notFound, wantErr: "apt-get install postgresql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pgBinDir(tt.explicit, tt.fromEnv, tt.debianRoot, tt.lookPath)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrPostgresNotInstalled) {
					t.Fatalf("err = %v, want one containing %q and wrapping ErrPostgresNotInstalled", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("pgBinDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Parallel()
	cache := func() (string, error) { return "/home/li/.cache", nil }
	noCache := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(xdg string) func(string) string {
		return func(k string) string {
			if k == "XDG_CACHE_HOME" {
				return xdg
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		euid    int
		xdg     string
		cache   func() (string, error)
		want    string
		wantErr bool
	}{
		{name: "root ignores XDG and home", euid: 0, xdg: "/root/.xdg", cache: cache, want: "/var/cache/huifang"},
		{name: "XDG_CACHE_HOME", euid: 1000, xdg: "/srv/cache", cache: cache, want: "/srv/cache/huifang"},
		{name: "relative XDG_CACHE_HOME is ignored", euid: 1000, xdg: "cache", cache: cache, want: "/home/li/.cache/huifang"},
		{name: "user cache dir", euid: 1000, cache: cache, want: "/home/li/.cache/huifang"},
		{name: "no home", euid: 1000, cache: noCache, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultDataDir(tt.euid, env(tt.xdg), tt.cache)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("defaultDataDir = %q, %v; want %q (error: %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// testOptions gives each test its own data directory. As root, the servers
// run as an unprivileged user who must be able to reach it: t.TempDir's
// per-test parent is mode 0700, so it is opened up here, as a user would
// for a --data-dir under a private directory.
func testOptions(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Options{DataDir: dir}
}

func startPostgres(t *testing.T, opts Options) *Postgres {
	t.Helper()
	pg, err := StartPostgres(context.Background(), opts)
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Cleanup(func() { pg.Stop(context.Background()) })
	return pg
}

func startRedis(t *testing.T, opts Options) *Redis {
	t.Helper()
	r, err := StartRedis(context.Background(), opts)
	if err != nil {
		t.Fatalf("StartRedis: %v", err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return r
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// assertRunsUnprivileged checks that, as root, the server runs as the
// wanted system user (or nobody), never as root.
func assertRunsUnprivileged(t *testing.T, pid int, want string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var uid string
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid = f[1]
		}
	}
	wantUID := "65534"
	if u, err := user.Lookup(want); err == nil {
		wantUID = u.Uid
	}
	if uid != wantUID {
		t.Fatalf("pid %d runs as uid %s, want %s (%s)", pid, uid, wantUID, want)
	}
}

// processGone reports whether pid no longer runs: signal 0 fails, or it is
// a zombie waiting for a parent that is not us.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runHelper is the stand-in huifang of TestServersDieWithKilledHuifang: it
// starts both servers, prints their pids and waits until the test kills it
// (or, if the test goes away, stops them and exits).
func runHelper(dir string) {
	ctx := context.Background()
	opts := Options{DataDir: dir}
	pg, err := StartPostgres(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r, err := StartRedis(ctx, opts)
	if err != nil {
		pg.Stop(ctx)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d %d\n", pg.PID(), r.PID())
	_, _ = io.Copy(io.Discard, os.Stdin)
	r.Stop(ctx)
	pg.Stop(ctx)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
