package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/internal/embedded"
	"github.com/huifang/huifang/internal/redact"
	"github.com/huifang/huifang/migrations"
	"github.com/huifang/huifang/workorders"
)

// config is what every command that touches the services needs.
type config struct {
	DatabaseURL string
	RedisURL    string
	DataDir     string
	LogLevel    string
}

// addFlags registers the shared flags, defaulted from the environment.
func (cfg *config) addFlags(c *cli, fs *flag.FlagSet) {
	fs.StringVar(&cfg.DatabaseURL, "database-url", c.getenv("DATABASE_URL"), "Postgres URL (env DATABASE_URL); empty: the embedded Postgres")
	fs.StringVar(&cfg.RedisURL, "redis-url", c.getenv("REDIS_URL"), "Redis URL (env REDIS_URL); empty: the embedded Redis")
	fs.StringVar(&cfg.DataDir, "data-dir", c.getenv("HUIFANG_DATA_DIR"), "data directory of the embedded services (env HUIFANG_DATA_DIR; default: the user's cache dir)")
	fs.StringVar(&cfg.LogLevel, "log-level", c.envOr("HUIFANG_LOG_LEVEL", "info"), "debug, info, warn or error (env HUIFANG_LOG_LEVEL)")
	// -h prints each flag's default; a URL from the environment may hold a
	// password, which must not reach the terminal.
	for _, name := range []string{"database-url", "redis-url"} {
		if f := fs.Lookup(name); f != nil {
			f.DefValue = redact.Password(f.DefValue, f.DefValue)
		}
	}
}

func (cfg *config) logger(c *cli) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lvl}))
}

// runtime is the set of live connections a command works with — like a
// dependency-injection root, built once in cmd and handed down.
type runtime struct {
	cfg   config
	log   *slog.Logger
	pool  *pgxpool.Pool
	redis *redis.Client
	wo    *workorders.Store

	closers []func(context.Context) error // in start order; closed in reverse
}

// openRuntime connects to Postgres (and Redis if withRedis), starting the
// embedded services for what has no URL, and applies pending migrations.
func openRuntime(ctx context.Context, cfg config, log *slog.Logger, withRedis bool) (*runtime, error) {
	rt := &runtime{cfg: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			rt.close()
		}
	}()
	opts := embedded.Options{DataDir: cfg.DataDir, Logger: log}
	if (cfg.DatabaseURL == "" || (withRedis && cfg.RedisURL == "")) && opts.DataDir == "" {
		dir, err := embedded.DefaultDataDir()
		if err != nil {
			return nil, err
		}
		opts.DataDir = dir
	}
	if cfg.DatabaseURL == "" {
		pg, err := embedded.StartPostgres(ctx, opts)
		if errors.Is(err, embedded.ErrPostgresNotInstalled) {
			return nil, fmt.Errorf("%w\n(set DATABASE_URL to use an existing Postgres instead)", err)
		}
		if err != nil {
			return nil, fmt.Errorf("embedded postgres: %w", err)
		}
		rt.closers = append(rt.closers, pg.Stop)
		rt.cfg.DatabaseURL = pg.URL()
	}
	pcfg, err := pgxpool.ParseConfig(rt.cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %s", redact.Password(err.Error(), rt.cfg.DatabaseURL))
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	rt.closers = append(rt.closers, func(context.Context) error { pool.Close(); return nil })
	rt.pool = pool
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		return nil, fmt.Errorf("postgres at %s: %s", hostOf(rt.cfg.DatabaseURL), redact.Password(err.Error(), rt.cfg.DatabaseURL))
	}
	applied, err := migrations.Up(ctx, pool, nil)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	if withRedis {
		if cfg.RedisURL == "" {
			rd, err := embedded.StartRedis(ctx, opts)
			if errors.Is(err, embedded.ErrRedisNotInstalled) {
				return nil, fmt.Errorf("%w\n(set REDIS_URL to use an existing Redis instead)", err)
			}
			if err != nil {
				return nil, fmt.Errorf("embedded redis: %w", err)
			}
			rt.closers = append(rt.closers, rd.Stop)
			rt.cfg.RedisURL = rd.URL()
		}
		ropt, err := redis.ParseURL(rt.cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %s", redact.Password(err.Error(), rt.cfg.RedisURL))
		}
		rt.redis = redis.NewClient(ropt)
		rt.closers = append(rt.closers, func(context.Context) error { return rt.redis.Close() })
		if err := rt.redis.Ping(pingCtx).Err(); err != nil {
			return nil, fmt.Errorf("redis at %s: %w", ropt.Addr, err)
		}
	}
	rt.wo = &workorders.Store{Pool: pool}
	ok = true
	return rt, nil
}

// close stops everything in reverse start order, within a bounded time.
func (rt *runtime) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := len(rt.closers) - 1; i >= 0; i-- {
		if err := rt.closers[i](ctx); err != nil && rt.log != nil {
			rt.log.Warn("shutdown", "err", err)
		}
	}
	rt.closers = nil
}

// hostOf names a service by host and port only: URLs may carry passwords.
func hostOf(raw string) string {
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
}
