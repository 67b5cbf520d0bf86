package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a private Redis server started by StartRedis. It runs until Stop
// is called or huifang exits.
type Redis struct {
	port int
	proc *process
}

// StartRedis starts a private redis-server (found on PATH) on a free port
// of 127.0.0.1, working in opts.DataDir/redis and logging to
// opts.DataDir/redis.log, and returns once it answers PING. It keeps no data
// between runs: snapshots and the append-only file are off.
func StartRedis(ctx context.Context, opts Options) (*Redis, error) {
	began := time.Now()
	log := opts.logger()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("no redis-server on PATH: install Redis (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL to use an existing server: %w", ErrRedisNotInstalled)
	}
	acct, err := serviceAccount("Redis", "redis", "nobody")
	if err != nil {
		return nil, err
	}
	dataDir, err := prepareDataDir(opts.DataDir, acct)
	if err != nil {
		return nil, err
	}
	workDir := filepath.Join(dataDir, "redis")
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("create Redis directory: %w", err)
	}
	if err := acct.chownTree(workDir); err != nil {
		return nil, fmt.Errorf("give %s to user %s: %w", workDir, acct.name, err)
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		// No --logfile: Redis then logs to stdout, which is our log file, so
		// it need not be writable by the user Redis runs as, and errors from
		// before the configuration is read land there too.
		args := []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--dir", workDir,
			"--daemonize", "no",
		}
		proc, err := startProcess("redis-server", bin, args, workDir, filepath.Join(dataDir, "redis.log"), acct, log)
		if err != nil {
			return nil, err
		}
		r := &Redis{port: port, proc: proc}
		err = r.waitReady(ctx)
		if err == nil {
			proc.running.Store(true)
			log.Info("embedded Redis started", "port", port, "data_dir", workDir, "pid", proc.pid(),
				"took", time.Since(began).Round(time.Millisecond))
			return r, nil
		}
		proc.abandon(ctx)
		if errors.Is(err, errPortInUse) && attempt < portAttempts {
			continue
		}
		return nil, fmt.Errorf("embedded Redis: %w", err)
	}
}

// URL is the connection string for database 0: redis://127.0.0.1:PORT/0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://%s/0", r.addr()) }

func (r *Redis) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// PID is the process id of redis-server.
func (r *Redis) PID() int { return r.proc.pid() }

// Stop shuts Redis down (SIGTERM; nothing is saved) and waits for it to
// exit. If ctx ends first, it is killed. Stop may be called more than once;
// later calls return the first call's result.
func (r *Redis) Stop(ctx context.Context) error {
	return r.proc.stop(ctx, syscall.SIGTERM)
}

// waitReady polls until the server answers PING. It fails early if the
// server exits.
//
// Each round first dials plain TCP and only then PINGs with a fresh client:
// a go-redis pool whose dials fail switches to retrying in the background
// once a second, which would make start-up slower, not faster.
func (r *Redis) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := r.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-r.proc.done:
			return r.proc.startError(r.proc.exitError())
		case <-ctx.Done():
			return r.proc.startError(fmt.Errorf("not answering PING on port %d (%v): %w", r.port, err, ctx.Err()))
		case <-tick.C:
		}
	}
}

func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.addr())
	if err != nil {
		return err
	}
	conn.Close()
	client := redis.NewClient(&redis.Options{
		Addr:            r.addr(),
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     time.Second,
		ReadTimeout:     time.Second,
		MaxRetries:      -1,
		PoolSize:        1,
	})
	defer client.Close()
	return client.Ping(ctx).Err()
}
