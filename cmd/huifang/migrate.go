package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/redact"
	"github.com/huifang/huifang/migrations"
)

func migrateCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "migrate", "migrate [up|status|down] [flags]")
	var cfg config
	cfg.addFlags(c, fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	action := "up"
	if len(pos) > 0 {
		action = pos[0]
	}
	if len(pos) > 1 || (action != "up" && action != "status" && action != "down") {
		fs.Usage()
		return fmt.Errorf("migrate: want up, status or down")
	}
	log := cfg.logger(c)
	// openRuntime migrates up by itself; status and down must see the
	// database as it is, so they connect without it.
	if action == "up" {
		rt, err := openRuntime(ctx, cfg, log, false)
		if err != nil {
			return err
		}
		defer rt.close()
		return printStatus(ctx, c, rt.pool)
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("migrate %s needs DATABASE_URL", action)
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %s", redact.Password(err.Error(), cfg.DatabaseURL))
	}
	defer pool.Close()
	if action == "down" {
		v, err := migrations.Down(ctx, pool, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "rolled back migration %d\n", v)
	}
	return printStatus(ctx, c, pool)
}

func printStatus(ctx context.Context, c *cli, pool *pgxpool.Pool) error {
	st, err := migrations.List(ctx, pool)
	if err != nil {
		return err
	}
	for _, s := range st {
		fmt.Fprintf(c.stdout, "%05d  %-28s %s\n", s.Version, s.File, s.AppliedAt)
	}
	return nil
}
