package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKeys are generated once per test binary: RSA key generation is slow.
type testKeys struct {
	rsa *rsa.PrivateKey   // 2048 bits
	ec  *ecdsa.PrivateKey // P-256
}

var keys = sync.OnceValue(func() testKeys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return testKeys{rsa: r, ec: e}
})

func pemBytes(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs1PEM(t testing.TB, k *rsa.PrivateKey) []byte {
	return pemBytes(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
}

func pkcs8PEM(t testing.TB, k crypto.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pemBytes(t, "PRIVATE KEY", der)
}

func sec1PEM(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	return pemBytes(t, "EC PRIVATE KEY", der)
}

// writeFile writes data to dir/name, creating directories.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// problemLines returns err's problems as "path: msg" strings, requiring
// err to be an *Error whose Error() lists exactly those lines.
func problemLines(t testing.TB, err error) []string {
	t.Helper()
	var cfgErr *Error
	require.ErrorAs(t, err, &cfgErr)
	var lines []string
	for _, p := range cfgErr.Problems {
		lines = append(lines, p.String())
	}
	require.Equal(t, strings.Join(lines, "\n"), err.Error())
	return lines
}

// tenantYAML is a minimal valid config with one tenant, for tests that vary
// one value.
func tenantYAML(baseURL string) string {
	return "tenants:\n  - name: acme\n    base_url: " + baseURL + "\n    auth: {method: api_token, token: t}\n"
}

func ptr[T any](v T) *T { return &v }
