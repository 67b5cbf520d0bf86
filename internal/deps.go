//go:build tools

// Package internal holds small shared helpers. This file pins the project's
// fixed dependencies until every one is imported by real code.
package internal

import (
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/robfig/cron/v3"
	_ "github.com/twilio/twilio-go"
	_ "gopkg.in/yaml.v3"
)
