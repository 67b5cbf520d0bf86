package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseName is the database StartPostgres creates for huifang.
const DatabaseName = "huifang"

const (
	// lockWait is how long StartPostgres waits for another user of the data
	// directory (usually a huifang that is shutting down) to let go.
	lockWait = 2 * time.Second
	// leftoverGrace is how long a PostgreSQL left over from an earlier run
	// gets for each step of being stopped (fast shutdown, then SIGKILL).
	leftoverGrace = 10 * time.Second
)

// Postgres is a private PostgreSQL server started by StartPostgres. It runs
// until Stop is called or huifang exits.
type Postgres struct {
	port int
	proc *process
	lock *os.File // held while the server runs; see lockDataDir
}

// StartPostgres starts a private PostgreSQL on a free port of 127.0.0.1 with
// its data in opts.DataDir/postgres, and returns once database "huifang"
// exists and accepts connections.
//
// The first start of a data directory runs initdb (trust authentication,
// superuser "postgres", UTF8, C locale); later starts reuse it. A data
// directory is used by one huifang at a time: a second one waits briefly and
// then fails rather than share it. A PostgreSQL left running there by an
// earlier huifang that died without stopping it is shut down first, and a
// stale postmaster.pid from a killed run does not prevent the start.
func StartPostgres(ctx context.Context, opts Options) (*Postgres, error) {
	began := time.Now()
	log := opts.logger()
	binDir, err := findPGBinDir(opts.PGBinDir)
	if err != nil {
		return nil, err
	}
	acct, err := serviceAccount("PostgreSQL", "postgres", "nobody")
	if err != nil {
		return nil, err
	}
	dataDir, err := prepareDataDir(opts.DataDir, acct)
	if err != nil {
		return nil, err
	}
	pgdata := filepath.Join(dataDir, "postgres")

	lock, err := lockDataDir(ctx, filepath.Join(dataDir, "postgres.lock"))
	if err != nil {
		return nil, err
	}
	unlock := true
	defer func() {
		if unlock {
			lock.Close()
		}
	}()

	if err := stopLeftovers(ctx, pgdata, log); err != nil {
		return nil, err
	}
	version, err := serverVersion(ctx, binDir)
	if err != nil {
		return nil, err
	}
	created, err := ensureCluster(ctx, binDir, pgdata, acct, version)
	if err != nil {
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{
			"-D", pgdata,
			"-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories=", // TCP only: no socket file to clean up or secure
			"-c", "synchronous_commit=off", // a dev server: trade the last few commits on a crash for speed
		}
		proc, err := startProcess("postgres", filepath.Join(binDir, "postgres"), args, dataDir, filepath.Join(dataDir, "postgres.log"), acct, log)
		if err != nil {
			return nil, err
		}
		p := &Postgres{port: port, proc: proc, lock: lock}
		err = p.waitReady(ctx)
		if err == nil {
			proc.running.Store(true)
			// The lock guards the running server, so it goes when the
			// server does, however that happens.
			unlock = false
			proc.onExit(func() { p.lock.Close() })
			log.Info("embedded PostgreSQL started", "port", port, "data_dir", pgdata, "version", version,
				"pid", proc.pid(), "initdb", created, "took", time.Since(began).Round(time.Millisecond))
			return p, nil
		}
		proc.abandon(ctx)
		if errors.Is(err, errPortInUse) && attempt < portAttempts {
			continue
		}
		return nil, fmt.Errorf("embedded PostgreSQL in %s: %w", pgdata, err)
	}
}

// URL is the connection string for database "huifang":
// postgres://postgres@127.0.0.1:PORT/huifang?sslmode=disable.
func (p *Postgres) URL() string { return p.url(DatabaseName) }

func (p *Postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// PID is the process id of the postmaster.
func (p *Postgres) PID() int { return p.proc.pid() }

// Stop shuts PostgreSQL down with a fast shutdown (SIGINT: open transactions
// are rolled back, a checkpoint is written) and waits for it to exit. If ctx
// ends first, the postmaster and its backends are killed with SIGKILL and the
// next start runs crash recovery. Stop may be called more than once; later
// calls return the first call's result.
func (p *Postgres) Stop(ctx context.Context) error {
	return p.proc.stop(ctx, syscall.SIGINT)
}

// waitReady polls until the server accepts connections, then creates the
// huifang database. It fails early if the server exits.
func (p *Postgres) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(p.url("postgres"))
	if err != nil {
		return fmt.Errorf("parse readiness URL: %w", err)
	}
	cfg.ConnectTimeout = 2 * time.Second
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
			return createDatabase(ctx, conn, DatabaseName)
		}
		select {
		case <-p.proc.done:
			return p.proc.startError(p.proc.exitError())
		case <-ctx.Done():
			return p.proc.startError(fmt.Errorf("not accepting connections on port %d (%v): %w", p.port, err, ctx.Err()))
		case <-tick.C:
		}
	}
}

// createDatabase creates database name unless it exists.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// findPGBinDir picks the directory with initdb and postgres: the explicit
// one, else $HUIFANG_PG_BIN_DIR, else the highest /usr/lib/postgresql/*/bin,
// else the directory of `postgres` on PATH.
func findPGBinDir(explicit string) (string, error) {
	return pgBinDir(explicit, os.Getenv("HUIFANG_PG_BIN_DIR"), "/usr/lib/postgresql", exec.LookPath)
}

func pgBinDir(explicit, fromEnv, debianRoot string, lookPath func(string) (string, error)) (string, error) {
	for _, c := range []struct{ dir, source string }{{explicit, "the PostgreSQL bin directory option"}, {fromEnv, "HUIFANG_PG_BIN_DIR"}} {
		if c.dir == "" {
			continue
		}
		if !hasServerBinaries(c.dir) {
			return "", fmt.Errorf("%s is %s, but it does not hold both initdb and postgres: %w", c.dir, c.source, ErrPostgresNotInstalled)
		}
		return c.dir, nil
	}

	var best string
	var bestVersion []int
	entries, _ := os.ReadDir(debianRoot)
	for _, e := range entries {
		v, ok := parseVersion(e.Name())
		dir := filepath.Join(debianRoot, e.Name(), "bin")
		if ok && slices.Compare(v, bestVersion) > 0 && hasServerBinaries(dir) {
			best, bestVersion = dir, v
		}
	}
	if best != "" {
		return best, nil
	}

	if path, err := lookPath("postgres"); err == nil {
		if dir := filepath.Dir(path); hasServerBinaries(dir) {
			return dir, nil
		}
		// A symlink on PATH (Homebrew, /usr/local/bin) into the real bin dir.
		if real, err := filepath.EvalSymlinks(path); err == nil && hasServerBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", fmt.Errorf("no initdb and postgres in %s/*/bin or on PATH: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql), "+
		"point HUIFANG_PG_BIN_DIR at its bin directory, or set DATABASE_URL to use an existing server: %w", debianRoot, ErrPostgresNotInstalled)
}

// parseVersion reads a directory name like "15" or "9.6".
func parseVersion(s string) ([]int, bool) {
	var v []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// serverVersion returns the version of the postgres binary, like "15.20".
func serverVersion(ctx context.Context, binDir string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--version")
	cmd.Env = childEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", cmd.Path, err)
	}
	// "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return "", fmt.Errorf("%s --version printed %q, not a PostgreSQL version", cmd.Path, out)
	}
	return fields[2], nil
}

// ensureCluster makes pgdata a PostgreSQL data directory owned by acct,
// running initdb the first time. It reports whether it ran initdb.
//
// initdb writes into a scratch directory that is renamed into place only
// when complete, so an interrupted first start leaves nothing that a later
// start would mistake for a cluster.
func ensureCluster(ctx context.Context, binDir, pgdata string, acct *account, version string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION"))
	if err == nil {
		have := strings.TrimSpace(string(b))
		if !strings.HasPrefix(version+".", have+".") {
			return false, fmt.Errorf("%s was created by PostgreSQL %s but the server in %s is %s: "+
				"set HUIFANG_PG_BIN_DIR to PostgreSQL %s binaries, or move the directory away to start afresh (its data is then gone)",
				pgdata, have, binDir, version, have)
		}
		if err := acct.chownTree(pgdata); err != nil {
			return false, fmt.Errorf("give %s to user %s: %w", pgdata, acct.name, err)
		}
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read PostgreSQL data directory: %w", err)
	}
	if entries, err := os.ReadDir(pgdata); err == nil && len(entries) > 0 {
		return false, fmt.Errorf("%s is not empty but is not a PostgreSQL data directory (no PG_VERSION): move it away or pick another --data-dir", pgdata)
	}

	scratch := pgdata + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return false, fmt.Errorf("remove the remains of an interrupted initdb: %w", err)
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return false, fmt.Errorf("create PostgreSQL data directory: %w", err)
	}
	if acct != nil {
		if err := os.Chown(scratch, int(acct.uid), int(acct.gid)); err != nil {
			return false, fmt.Errorf("give PostgreSQL data directory to user %s: %w", acct.name, err)
		}
	}
	err = runQuiet(ctx, acct, filepath.Dir(pgdata), filepath.Join(binDir, "initdb"),
		"-D", scratch, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-locale")
	if err != nil {
		_ = os.RemoveAll(scratch)
		return false, fmt.Errorf("initialise PostgreSQL data directory: %w", err)
	}
	_ = os.Remove(pgdata) // an empty directory someone made for us
	if err := os.Rename(scratch, pgdata); err != nil {
		return false, fmt.Errorf("move new PostgreSQL data directory into place: %w", err)
	}
	return true, nil
}

// lockDataDir takes an exclusive lock on path so that two huifang processes
// never run servers on the same data directory. The lock is released when
// the file is closed or the process exits. It waits up to lockWait for a
// holder that is on its way out.
func lockDataDir(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data directory lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// The holder's pid is for the message a second huifang prints.
			_ = f.Truncate(0)
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		var waitErr error
		if time.Now().After(deadline) {
			waitErr = errors.New("still locked")
		} else {
			select {
			case <-ctx.Done():
				waitErr = ctx.Err()
			case <-time.After(pollInterval):
				continue
			}
		}
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another huifang (pid %s): stop it, pass a different --data-dir, or set DATABASE_URL: %w",
			filepath.Dir(path), strings.TrimSpace(string(holder)), waitErr)
	}
}

// stopLeftovers stops PostgreSQL processes still running in pgdata. We hold
// the data directory lock, so they belong to no live huifang: they are left
// from a run that died without stopping them (no parent-death signal, or
// backends of a killed postmaster that have not noticed yet). A live
// postmaster gets a fast shutdown first; whatever remains is killed.
//
// When it cannot see processes (no /proc), it leaves the matter to
// PostgreSQL, which refuses to start next to a live postmaster.
func stopLeftovers(ctx context.Context, pgdata string, log *slog.Logger) error {
	pids, ok := postgresProcessesIn(pgdata)
	if !ok {
		return nil
	}
	if len(pids) > 0 {
		log.Warn("stopping PostgreSQL left running by an earlier run", "data_dir", pgdata, "pids", pids)
		if postmaster := postmasterPID(pgdata); slices.Contains(pids, postmaster) {
			_ = syscall.Kill(postmaster, syscall.SIGINT)
			pids = waitGone(ctx, pgdata, leftoverGrace)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if pids = waitGone(ctx, pgdata, leftoverGrace); len(pids) > 0 {
			return fmt.Errorf("PostgreSQL processes %v from an earlier run still use %s and would not stop; stop them and try again", pids, pgdata)
		}
	}

	// No server runs here now. If the pid in postmaster.pid is alive anyway,
	// it is a stranger that reused the number (common after a reboot or a
	// container restart) or an unreaped zombie, and PostgreSQL would refuse
	// to start, believing another server owns the directory.
	if pid := postmasterPID(pgdata); pid > 0 {
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			if err := os.Remove(filepath.Join(pgdata, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove stale postmaster.pid: %w", err)
			}
		}
	}
	return nil
}

// waitGone waits until no PostgreSQL process runs in pgdata, or timeout or
// ctx ends, and returns the processes still there.
func waitGone(ctx context.Context, pgdata string, timeout time.Duration) []int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pids, _ := postgresProcessesIn(pgdata)
		if len(pids) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return pids
		case <-time.After(pollInterval):
		}
	}
}

// postgresProcessesIn lists the live postgres processes whose working
// directory is dir; every PostgreSQL process works in its data directory.
// ok is false when /proc is unavailable.
func postgresProcessesIn(dir string) (pids []int, ok bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		proc := filepath.Join("/proc", e.Name())
		// A zombie has no cwd, so it is not counted: it holds nothing.
		if cwd, err := os.Readlink(filepath.Join(proc, "cwd")); err != nil || cwd != dir {
			continue
		}
		// Not someone's shell that happens to be cd'd there.
		if comm, err := os.ReadFile(filepath.Join(proc, "comm")); err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, true
}

// postmasterPID reads the pid on the first line of pgdata/postmaster.pid,
// or 0.
func postmasterPID(pgdata string) int {
	f, err := os.Open(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s.Text()))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
