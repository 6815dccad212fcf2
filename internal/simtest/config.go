package simtest

import (
	"fmt"
	"strings"
)

// Config is a riskpipe configuration for a test's run of the binary
// against the simulator: what its tests vary. An empty field is left out
// of the YAML (riskpipe's default), except LogLevel (default info); the
// HTTP server is off.
type Config struct {
	Addr, Database, Password string
	// ClickHouse timeouts and the writer's batch_max_wait ("2s").
	DialTimeout, WriteTimeout, BatchMaxWait string
	// poll: interval, page_limit and request_timeout.
	Interval       string
	PageLimit      int
	RequestTimeout string
	LogLevel       string
	Tenants        []Tenant
}

// Tenant is one tenant of a Config.
type Tenant struct {
	Name, BaseURL, Method         string // auth.method
	Token, ClientID, ClientSecret string
	KeyFile, KeyID                string
	// KeyInline is a PEM private key written into the file (a block
	// scalar keeps its lines).
	KeyInline string
	// Extra is YAML appended to the tenant's entry as it is.
	Extra string
}

// YAML is the configuration file's content.
func (c Config) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clickhouse:\n  addr: %q\n  database: %q\n", c.Addr, c.Database)
	if c.Password != "" {
		fmt.Fprintf(&b, "  password: %q\n", c.Password)
	}
	for _, kv := range [][2]string{{"dial_timeout", c.DialTimeout}, {"write_timeout", c.WriteTimeout}, {"batch_max_wait", c.BatchMaxWait}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "  %s: %s\n", kv[0], kv[1])
		}
	}
	b.WriteString("poll:\n")
	if c.Interval != "" {
		fmt.Fprintf(&b, "  interval: %s\n", c.Interval)
	}
	if c.PageLimit > 0 {
		fmt.Fprintf(&b, "  page_limit: %d\n", c.PageLimit)
	}
	if c.RequestTimeout != "" {
		fmt.Fprintf(&b, "  request_timeout: %s\n", c.RequestTimeout)
	}
	b.WriteString("tenants:\n")
	for _, t := range c.Tenants {
		fmt.Fprintf(&b, "  - name: %q\n    base_url: %q\n    auth:\n      method: %s\n", t.Name, t.BaseURL, t.Method)
		for _, kv := range [][2]string{{"token", t.Token}, {"client_id", t.ClientID}, {"client_secret", t.ClientSecret},
			{"private_key_file", t.KeyFile}, {"key_id", t.KeyID}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "      %s: %q\n", kv[0], kv[1])
			}
		}
		if t.KeyInline != "" {
			b.WriteString("      private_key: |\n")
			for _, l := range strings.Split(strings.TrimSpace(t.KeyInline), "\n") {
				b.WriteString("        " + l + "\n")
			}
		}
		b.WriteString(t.Extra)
	}
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	fmt.Fprintf(&b, "http:\n  listen: \"\"\nlog:\n  level: %s\n", level)
	return b.String()
}
