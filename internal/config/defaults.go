package config

import (
	"log/slog"
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
)

// ScopeLogsRead is the OAuth scope the System Log API needs, and the
// default scopes of private_key_jwt and client_secret.
const ScopeLogsRead = "okta.logs.read"

// Default returns the configuration an empty file produces: every
// documented default and no tenants. Parse decodes the file over it; each
// tenant's poll block is decoded over the resulting top-level Poll.
func Default() Config {
	return Config{
		ClickHouse: ClickHouse{
			Addr:         "127.0.0.1:9000",
			Database:     "okta_risk",
			Username:     "default",
			DataDir:      ".data/clickhouse",
			DialTimeout:  5 * time.Second,
			WriteTimeout: 30 * time.Second,
			BatchMaxRows: 10000,
			BatchMaxWait: 0, // group commit
		},
		Poll: Poll{
			Interval:       15 * time.Second,
			PageLimit:      1000,
			RateLimitShare: 0.5,
			RequestTimeout: 60 * time.Second,
		},
		HTTP:   HTTP{Listen: "127.0.0.1:8080"},
		API:    API{StallAfter: time.Hour},
		Score:  score.DefaultConfig(),
		Memory: Memory{PagesInFlight: 4, AttributionMiB: 8, GCPercent: 50},
		Log:    Log{Format: "text", Level: "info"},
		Reload: Reload{Debounce: time.Second},
		Notify: Notify{
			SMTP:                SMTP{Port: 587, TLS: SMTPStartTLS},
			GroupInterval:       5 * time.Minute,
			MaxPerHour:          20,
			CriticalIncident:    CriticalIncident{CriticalUsers: 5, Within: time.Hour},
			OperationalAfter:    30 * time.Minute,
			ContactsReviewEvery: 180 * 24 * time.Hour,
		},
		Privacy:   Privacy{SyncTimeout: 60 * time.Second},
		Retention: DefaultRetention(),
	}
}

// DefaultResponse is a tenant's response block when it sets none: off,
// proposals expire after 24h, manual revert, 10 actions per hour, four
// eyes, only clear_sessions automatic in auto mode, admins protected,
// verification within 15 minutes, no rules.
func DefaultResponse() Response {
	return Response{
		Mode:              ResponseOff,
		ApprovalTTL:       24 * time.Hour,
		MaxActionsPerHour: 10,
		FourEyes:          true,
		AutoActions:       []ResponseAction{ActionClearSessions},
		VerifyWithin:      15 * time.Minute,
		Protected:         Protected{Admins: true},
	}
}

// applyTokenDefaults gives every API token without roles the default
// roles, [read].
func (c *Config) applyTokenDefaults() {
	for i := range c.API.Tokens {
		if len(c.API.Tokens[i].Roles) == 0 {
			c.API.Tokens[i].Roles = slices.Clone(DefaultRoles)
		}
	}
}

// applyAuthDefaults fills the OAuth defaults of valid tenants: scopes
// [okta.logs.read] and dpop auto.
func (c *Config) applyAuthDefaults() {
	for i := range c.Tenants {
		a := &c.Tenants[i].Auth
		if a.Method != AuthPrivateKeyJWT && a.Method != AuthClientSecret {
			continue
		}
		if len(a.Scopes) == 0 {
			a.Scopes = []string{ScopeLogsRead}
		}
		if a.DPoP == "" {
			a.DPoP = DPoPAuto
		}
	}
}

// RequireTenants returns an *Error when no tenant is configured. Load
// accepts zero tenants (enough for `migrate`); commands that poll call
// this.
func (c *Config) RequireTenants() error {
	if len(c.Tenants) == 0 {
		return &Error{Problems: []Problem{{Path: "tenants", Msg: "no tenant configured"}}}
	}
	return nil
}

// SlogLevel returns Level as a slog.Level (info for anything unknown;
// Parse accepts only debug, info, warn and error).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
