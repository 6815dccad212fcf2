package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// secretConfig parses a Config holding recognisable secrets in every
// Secret field and parsed RSA and EC keys, and returns it with the strings
// that must never be printed.
func secretConfig(t *testing.T) (*Config, []string) {
	t.Helper()
	k := keys()
	rsaPEM, ecPEM := pkcs1PEM(t, k.rsa), sec1PEM(t, k.ec)
	env := map[string]string{
		"CH_PASSWORD":   "SECRET-clickhouse-password",
		"TOKEN":         "SECRET-okta-api-token",
		"CLIENT_SECRET": "SECRET-okta-client-secret",
		"EC_KEY":        string(ecPEM),
	}
	dir := t.TempDir()
	writeFile(t, dir, "rsa.pem", rsaPEM)
	path := writeFile(t, dir, "riskpipe.yaml", []byte(`
clickhouse:
  password: ${CH_PASSWORD}
tenants:
  - name: token
    base_url: https://token.okta.com
    auth: {method: api_token, token: "${TOKEN}"}
  - name: secret
    base_url: https://secret.okta.com
    auth: {method: client_secret, client_id: c, client_secret: "${CLIENT_SECRET}"}
  - name: rsa
    base_url: https://rsa.okta.com
    auth: {method: private_key_jwt, client_id: c, private_key_file: rsa.pem}
  - name: ec
    base_url: https://ec.okta.com
    auth: {method: private_key_jwt, client_id: c, private_key: "${EC_KEY}"}
`))
	cfg, err := Load(path, MapEnv(env))
	require.NoError(t, err)

	var forbidden []string
	for _, s := range []string{env["CH_PASSWORD"], env["TOKEN"], env["CLIENT_SECRET"]} {
		forbidden = append(forbidden, s, hex.EncodeToString([]byte(s))) // %x hex-encodes strings
	}
	for _, p := range [][]byte{rsaPEM, ecPEM} {
		for _, line := range strings.Split(string(p), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				forbidden = append(forbidden, line)
			}
		}
	}
	// What fmt would print of the private keys' fields.
	ecD, err := k.ec.Bytes()
	if err != nil {
		panic(err)
	}
	for _, n := range []interface{ Text(int) string }{k.rsa.D, k.rsa.Primes[0], k.rsa.Primes[1], new(big.Int).SetBytes(ecD)} {
		forbidden = append(forbidden, n.Text(10), n.Text(16))
	}
	return cfg, forbidden
}

func requireNoSecrets(t *testing.T, what, out string, forbidden []string) {
	t.Helper()
	if !strings.Contains(out, redacted) && !strings.Contains(out, hex.EncodeToString([]byte(redacted))) {
		t.Fatalf("%s: expected [redacted] in %q", what, out)
	}
	for _, s := range forbidden {
		if strings.Contains(out, s) {
			t.Fatalf("%s leaks a secret %q in:\n%s", what, s, out)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg, forbidden := secretConfig(t)
	values := map[string]any{
		"Config":         *cfg,
		"*Config":        cfg,
		"Tenants":        cfg.Tenants,
		"Tenant(rsa)":    cfg.Tenants[2],
		"*Tenant(ec)":    &cfg.Tenants[3],
		"Auth(token)":    cfg.Tenants[0].Auth,
		"Auth(secret)":   cfg.Tenants[1].Auth,
		"Auth(rsa)":      cfg.Tenants[2].Auth,
		"*Auth(ec)":      &cfg.Tenants[3].Auth,
		"ClickHouse":     cfg.ClickHouse,
		"Secret":         cfg.Tenants[0].Auth.Token,
		"[]any{Secret}":  []any{cfg.ClickHouse.Password},
		"map[str]Secret": map[string]Secret{"k": cfg.Tenants[1].Auth.ClientSecret},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3v"} {
			requireNoSecrets(t, name+" "+verb, fmt.Sprintf(verb, v), forbidden)
		}
		requireNoSecrets(t, name+" Sprint", fmt.Sprint(v), forbidden)

		js, err := json.Marshal(v)
		require.NoError(t, err)
		requireNoSecrets(t, name+" json", string(js), forbidden)

		ym, err := yaml.Marshal(v)
		require.NoError(t, err)
		requireNoSecrets(t, name+" yaml", string(ym), forbidden)

		for _, handler := range []string{"text", "json"} {
			var buf bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&buf, nil)
			if handler == "json" {
				h = slog.NewJSONHandler(&buf, nil)
			}
			slog.New(h).Info("config", "value", v, slog.Any("any", v), slog.Group("g", "nested", v))
			requireNoSecrets(t, name+" slog "+handler, buf.String(), forbidden)
		}
	}
}

func TestAuthFormat(t *testing.T) {
	cfg, _ := secretConfig(t)
	require.Equal(t, "{api_token [redacted]  [redacted]  [redacted]  []  <nil>}", fmt.Sprintf("%v", cfg.Tenants[0].Auth))
	// fmt prints a pointer nested in a struct as an address, so the parsed
	// key's fields never show.
	require.Regexp(t, `Signer:0x[0-9a-f]+}$`, fmt.Sprintf("%+v", cfg.Tenants[2].Auth))
}

func TestSecretReveal(t *testing.T) {
	s := Secret("hunter2")
	require.Equal(t, "hunter2", s.Reveal())
	require.False(t, s.IsZero())
	require.True(t, Secret("").IsZero())
	require.Equal(t, redacted, s.LogValue().String())
}
