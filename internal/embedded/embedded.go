// Package embedded runs a private PostgreSQL and a private Redis for one run
// of `huifang serve` or `huifang demo` when the user gives no DATABASE_URL or
// REDIS_URL, so a newcomer needs no set-up.
//
// The servers are the binaries already installed on the machine (no
// download, works offline). Each is a child process this package owns: it
// listens only on 127.0.0.1 on a free port, sits in its own process group so a
// Ctrl-C in the terminal reaches huifang first (which then stops the servers
// in order), and on Linux carries a parent-death signal so it is killed if
// huifang itself is killed. Stop shuts a server down and reaps it, leaving no
// process behind.
//
// PostgreSQL data lives in DataDir/postgres and is kept between runs; Redis
// keeps nothing (no RDB, no AOF), so every run starts with an empty Redis.
// Server output goes to DataDir/postgres.log and DataDir/redis.log, and the
// tail of the log is part of the error when a server fails to start.
//
// PostgreSQL refuses to run as root, so when huifang runs as root both
// servers run as an unprivileged system user ("postgres" for PostgreSQL,
// "redis" for Redis, falling back to "nobody"). That user must be able to
// reach the data directory, which is why the root default is
// /var/cache/huifang rather than somewhere under /root.
//
// The servers trust every connection from 127.0.0.1: they are for a single
// developer's machine, not for shared hosts or production, where
// DATABASE_URL and REDIS_URL point at real servers.
package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options says where the embedded servers keep their files and which
// binaries they use. The zero value is not usable: DataDir is required (see
// DefaultDataDir).
type Options struct {
	// DataDir is the parent directory: PostgreSQL data goes in
	// DataDir/postgres, Redis's working directory is DataDir/redis and the
	// server logs are DataDir/postgres.log and DataDir/redis.log. It is
	// created if missing.
	DataDir string

	// PGBinDir is the directory holding initdb and postgres. When empty,
	// StartPostgres uses $HUIFANG_PG_BIN_DIR, else the highest
	// /usr/lib/postgresql/*/bin (Debian, Ubuntu), else the directory of
	// `postgres` on PATH.
	PGBinDir string

	// Logger receives one Info line per started server and warnings about
	// leftovers from earlier runs. It may be nil.
	Logger *slog.Logger
}

// ErrPostgresNotInstalled and ErrRedisNotInstalled are wrapped by the start
// errors when the server binaries cannot be found, so a caller can tell
// "install something or set a URL" apart from a real failure.
var (
	ErrPostgresNotInstalled = errors.New("PostgreSQL server binaries not found")
	ErrRedisNotInstalled    = errors.New("redis-server not found")
)

const (
	// readyTimeout bounds how long a started server may take to accept
	// connections; crash recovery after a killed run is included.
	readyTimeout = 60 * time.Second
	// pollInterval is how often readiness and lock waits are retried.
	pollInterval = 50 * time.Millisecond
	// portAttempts is how many free ports we try: another process may take
	// the port between our probe and the server's bind.
	portAttempts = 5
	// startFailureGrace is how long a server that failed to become ready
	// gets to shut down cleanly before it is killed.
	startFailureGrace = 5 * time.Second
	// logTailLines is how many log lines a start-up error quotes.
	logTailLines = 20
	// maxLogSize is the size past which a server log is moved to *.log.1
	// before the next start, so logs do not grow without bound.
	maxLogSize = 8 << 20
)

// DefaultDataDir returns where the embedded servers keep their files when the
// user does not choose: $XDG_CACHE_HOME/huifang, else os.UserCacheDir()/huifang
// (~/.cache/huifang on Linux). As root it is /var/cache/huifang, because the
// unprivileged user the servers then run as cannot enter /root.
func DefaultDataDir() (string, error) {
	return defaultDataDir(os.Geteuid(), os.Getenv, os.UserCacheDir)
}

func defaultDataDir(euid int, getenv func(string) string, userCacheDir func() (string, error)) (string, error) {
	if euid == 0 {
		return "/var/cache/huifang", nil
	}
	// Relative values are invalid per the XDG spec and are ignored.
	if x := getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "huifang"), nil
	}
	dir, err := userCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a data directory for the embedded servers (set --data-dir): %w", err)
	}
	return filepath.Join(dir, "huifang"), nil
}

// logger returns opts.Logger or one that discards everything.
func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// prepareDataDir creates DataDir if needed and returns its absolute, symlink-
// free path. When the servers run as another user (acct != nil), every
// directory above DataDir must already be enterable by that user (we do not
// loosen permissions on directories that are not ours), and DataDir itself is
// made enterable if we own it.
func prepareDataDir(dataDir string, acct *account) (string, error) {
	if dataDir == "" {
		return "", errors.New("embedded: Options.DataDir is empty (see DefaultDataDir)")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	if acct == nil {
		return abs, nil
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return "", fmt.Errorf("data directory: %w", err)
		}
		if !acct.canEnter(fi) {
			return "", acct.cannotEnter(d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if !acct.canEnter(fi) {
		if fileUID(fi) != uint32(os.Geteuid()) {
			return "", acct.cannotEnter(abs)
		}
		// Enter only, no listing: the server needs the path, not the names.
		if err := os.Chmod(abs, fi.Mode().Perm()|0o011); err != nil {
			return "", fmt.Errorf("let user %s enter data directory: %w", acct.name, err)
		}
	}
	return abs, nil
}

// account is the unprivileged user a server runs as when huifang runs as
// root. It is nil when huifang is not root: the servers then run as us.
type account struct {
	name     string
	uid, gid uint32
}

// serviceAccount returns the first of names that exists when we are root,
// and nil (run as ourselves) otherwise.
func serviceAccount(server string, names ...string) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range names {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &account{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("huifang runs as root and %s must not, but none of the users %s exists to run it as: "+
		"create one (useradd --system %s) or run huifang as an ordinary user", server, strings.Join(names, ", "), names[0])
}

// credential returns the process credential for a, or nil to run as
// ourselves. Supplementary groups are dropped: only the account's own uid and
// gid count, which is also what canEnter checks.
func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
}

func (a *account) cannotEnter(dir string) error {
	return fmt.Errorf("directory %s cannot be entered by user %s, which the embedded servers run as because huifang runs as root: "+
		"pick a data directory that user can reach with --data-dir (for example /var/cache/huifang) or allow it with `chmod o+x %s`", dir, a.name, dir)
}

// canEnter reports whether the account may traverse directory fi, judged
// from the mode bits (ACLs are not consulted).
func (a *account) canEnter(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case st.Gid == a.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chownTree gives dir and everything under it to the account, unless it
// already owns dir. Needed when a data directory created by one user is
// reused by another (say, first as root with "nobody", later with
// "postgres").
func (a *account) chownTree(dir string) error {
	if a == nil {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fileUID(fi) == a.uid {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(a.uid), int(a.gid))
	})
}

func fileUID(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return uint32(os.Geteuid())
}

// childEnv is the whole environment of the servers. It is deliberately
// minimal: anything in our environment (a TWILIO auth token, say) would
// otherwise be readable from /proc by anyone who can connect to the
// trust-authenticated server as superuser.
func childEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{"PATH=" + path, "LC_ALL=C"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// free when we look, not necessarily when the server binds it; callers retry
// on "Address already in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errPortInUse marks a start that failed only because another process took
// the port first; the caller picks another port and tries again.
var errPortInUse = errors.New("port already in use")

// process is a server we started and own: in its own process group, its
// output appended to a log file, reaped by a single goroutine that ends when
// the process does.
type process struct {
	name    string // "postgres" or "redis-server", for messages
	cmd     *exec.Cmd
	logPath string
	logFrom int64 // offset in logPath where this run's output starts
	log     *slog.Logger

	done    chan struct{} // closed once the process has been reaped
	waitErr error         // how it exited; read only after done is closed
	// running is set once the server is ready and cleared when we stop it:
	// an exit while it is set is unexpected and logged.
	running atomic.Bool

	mu        sync.Mutex
	exited    bool
	exitFuncs []func()

	stopOnce sync.Once
	stopErr  error
}

// startProcess starts bin with args as acct (nil: as ourselves), output
// appended to logPath, and starts the goroutine that reaps it.
func startProcess(name, bin string, args []string, dir, logPath string, acct *account, log *slog.Logger) (*process, error) {
	logFile, logFrom, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	// The child keeps its own copy of the descriptor.
	defer logFile.Close()

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr(acct.credential())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFrom: logFrom, log: log, done: make(chan struct{})}
	go p.reap()
	return p, nil
}

func (p *process) reap() {
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	p.exited = true
	fns := p.exitFuncs
	p.exitFuncs = nil
	p.mu.Unlock()
	for _, f := range fns {
		f()
	}
	if p.running.Load() {
		p.log.Warn("embedded server exited unexpectedly", "server", p.name, "pid", p.pid(), "err", err, "log", p.logPath)
	}
	close(p.done)
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// onExit runs f once the process has been reaped (at once if it has been).
func (p *process) onExit(f func()) {
	p.mu.Lock()
	if !p.exited {
		p.exitFuncs = append(p.exitFuncs, f)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	f()
}

// stop sends sig, waits for the process to exit and reaps it; if ctx ends
// first, it kills it (see kill). Only the first call acts; later
// calls wait for it and return the same result.
func (p *process) stop(ctx context.Context, sig syscall.Signal) error {
	p.stopOnce.Do(func() { p.stopErr = p.terminate(ctx, sig) })
	return p.stopErr
}

func (p *process) terminate(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s (pid %d) had already exited: %w", p.name, p.pid(), p.waitErr)
		}
		return nil
	default:
	}
	p.running.Store(false)
	// os.Process.Signal is safe against pid reuse: after reaping it fails
	// with os.ErrProcessDone instead of signalling a stranger.
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s (pid %d) exited uncleanly: %w", p.name, p.pid(), p.waitErr)
		}
		return nil
	case <-ctx.Done():
	}
	p.kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) did not shut down in time and was killed: %w", p.name, p.pid(), ctx.Err())
}

// kill sends SIGKILL to the process, its process group and its children.
// The children matter for PostgreSQL: each backend runs in a session of its
// own, and a backend busy with a long query would not notice for a long time
// that its postmaster was killed.
func (p *process) kill() {
	p.running.Store(false)
	select {
	case <-p.done:
		return
	default:
	}
	children := childrenOf(p.pid())
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// childrenOf lists the processes whose parent is pid, from /proc (empty
// where there is none).
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var children []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			children = append(children, child)
		}
	}
	return children
}

// abandon stops a process that failed to become ready: politely first, as
// a killed PostgreSQL would need crash recovery on the next start.
func (p *process) abandon(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startFailureGrace)
	defer cancel()
	_ = p.stop(ctx, syscall.SIGINT)
}

// startError explains why a server did not come up, quoting the tail of this
// run's log. It wraps errPortInUse when the log says the port was taken.
func (p *process) startError(what error) error {
	tail := lastLines(p.logPath, p.logFrom, logTailLines)
	err := fmt.Errorf("%s did not start: %w; last lines of %s:\n%s", p.name, what, p.logPath, tail)
	if strings.Contains(tail, "Address already in use") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// exitError describes a process that exited while we waited for it.
func (p *process) exitError() error {
	<-p.done
	if p.waitErr == nil {
		return errors.New("it exited")
	}
	return fmt.Errorf("it exited: %w", p.waitErr)
}

// openLog opens path for appending and returns the offset where new output
// will start. A log past maxLogSize is first moved aside to path.1.
func openLog(path string) (*os.File, int64, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	return f, off, nil
}

// lastLines returns up to n final lines of path written after offset from.
func lastLines(path string, from int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const window = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-from > window {
		from = fi.Size() - window
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return tailLines(b, n)
}

// tailLines returns the last n lines of b, or "(empty)".
func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, "\n")
	if strings.TrimSpace(s) == "" {
		return "(empty)"
	}
	return s
}

// runQuiet runs a short helper command (initdb) as acct, returning its
// combined output's tail in the error if it fails. ctx cancels it, together
// with anything it started.
func runQuiet(ctx context.Context, acct *account, dir, bin string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = sysProcAttr(acct.credential())
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w; output:\n%s", filepath.Base(bin), strings.Join(args, " "), err, tailLines(out.Bytes(), logTailLines))
	}
	return nil
}
