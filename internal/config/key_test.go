package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// jwtYAML is a private_key_jwt tenant whose key comes from keyLine.
func jwtYAML(keyLine string) string {
	return "tenants:\n  - name: acme\n    base_url: https://acme.okta.com\n    auth:\n" +
		"      method: private_key_jwt\n      client_id: 0oaacme\n      " + keyLine + "\n"
}

func TestPrivateKeys(t *testing.T) {
	k := keys()
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	ec224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	require.NoError(t, err)
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})

	tests := []struct {
		name       string
		give       []byte
		wantSigner crypto.PrivateKey // nil: wantErr
		wantErr    string
	}{
		{name: "RSA PKCS#1", give: pkcs1PEM(t, k.rsa), wantSigner: k.rsa},
		{name: "RSA PKCS#8", give: pkcs8PEM(t, k.rsa), wantSigner: k.rsa},
		{name: "EC P-256 PKCS#8", give: pkcs8PEM(t, k.ec), wantSigner: k.ec},
		{name: "EC P-256 SEC1", give: sec1PEM(t, k.ec), wantSigner: k.ec},
		{name: "EC P-384 SEC1 after EC PARAMETERS", give: append(ecParams, sec1PEM(t, ec384)...), wantSigner: ec384},
		{name: "PKCS#1 labelled PRIVATE KEY", give: pemBytes(t, "PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa)), wantSigner: k.rsa},
		{
			name:    "garbage PEM",
			give:    pemBytes(t, "PRIVATE KEY", []byte("this is not DER, just some garbage bytes")),
			wantErr: "invalid PRIVATE KEY (not PKCS#8, PKCS#1 or SEC1)",
		},
		{
			name:    "truncated key",
			give:    pemBytes(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa)[:300]),
			wantErr: "invalid RSA PRIVATE KEY (not PKCS#8, PKCS#1 or SEC1)",
		},
		{name: "not PEM", give: []byte("hello"), wantErr: "no PEM private key found (want -----BEGIN PRIVATE KEY-----)"},
		{name: "public key", give: pemBytes(t, "PUBLIC KEY", pub), wantErr: "no private key in PEM data (found PUBLIC KEY)"},
		{
			name:    "encrypted",
			give:    pemBytes(t, "ENCRYPTED PRIVATE KEY", []byte("opaque")),
			wantErr: "encrypted private keys are not supported",
		},
		{
			name:    "legacy encrypted",
			give:    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte("opaque")}),
			wantErr: "encrypted private keys are not supported",
		},
		{name: "RSA too small", give: pkcs1PEM(t, rsa1024), wantErr: "RSA key has 1024 bits; at least 2048 are required"},
		{name: "EC P-224", give: sec1PEM(t, ec224), wantErr: "unsupported EC curve P-224 (want P-256, P-384 or P-521)"},
		{name: "Ed25519", give: pkcs8PEM(t, ed), wantErr: "unsupported key type ed25519.PrivateKey (want RSA or EC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/file", func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "keys/k.pem", tt.give)
			path := writeFile(t, dir, "riskpipe.yaml", []byte(jwtYAML("private_key_file: keys/k.pem")))
			cfg, err := Load(path, MapEnv(nil))
			if tt.wantErr != "" {
				require.Equal(t, []string{"tenants[0].auth.private_key_file: " + tt.wantErr}, problemLines(t, err))
				requireNoKeyMaterial(t, err.Error(), tt.give)
				return
			}
			require.NoError(t, err)
			a := cfg.Tenants[0].Auth
			require.Equal(t, filepath.Join(dir, "keys", "k.pem"), a.PrivateKeyFile)
			require.True(t, a.Signer.(interface{ Equal(crypto.PrivateKey) bool }).Equal(tt.wantSigner))
		})
		t.Run(tt.name+"/inline", func(t *testing.T) {
			cfg, err := Parse([]byte(jwtYAML("private_key: ${KEY}")), MapEnv(map[string]string{"KEY": string(tt.give)}))
			if tt.wantErr != "" {
				require.Equal(t, []string{"tenants[0].auth.private_key: " + tt.wantErr}, problemLines(t, err))
				requireNoKeyMaterial(t, err.Error(), tt.give)
				return
			}
			require.NoError(t, err)
			require.True(t, cfg.Tenants[0].Auth.Signer.(interface{ Equal(crypto.PrivateKey) bool }).Equal(tt.wantSigner))
		})
	}
}

// requireNoKeyMaterial fails if s contains any base64 line of a PEM block.
func requireNoKeyMaterial(t *testing.T, s string, pemData []byte) {
	t.Helper()
	for _, line := range strings.Split(string(pemData), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			require.NotContains(t, s, line)
		}
	}
}

func TestPrivateKeyInlineYAMLBlock(t *testing.T) {
	indented := strings.ReplaceAll(strings.TrimSpace(string(pkcs8PEM(t, keys().ec))), "\n", "\n        ")
	cfg, err := Parse([]byte(jwtYAML("private_key: |\n        "+indented)), MapEnv(nil))
	require.NoError(t, err)
	require.True(t, keys().ec.Equal(cfg.Tenants[0].Auth.Signer))
}

func TestPrivateKeyEscapedNewlines(t *testing.T) {
	// A key squeezed into one line of an env file, newlines written as \n.
	oneLine := strings.ReplaceAll(string(pkcs1PEM(t, keys().rsa)), "\n", `\n`)
	cfg, err := Parse([]byte(jwtYAML("private_key: ${KEY}")), MapEnv(map[string]string{"KEY": oneLine}))
	require.NoError(t, err)
	require.True(t, keys().rsa.Equal(cfg.Tenants[0].Auth.Signer))
}

func TestPrivateKeyFilePaths(t *testing.T) {
	pemData := pkcs8PEM(t, keys().ec)

	t.Run("Parse resolves against the working directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "keys/k.pem", pemData)
		t.Chdir(dir)
		cfg, err := Parse([]byte(jwtYAML("private_key_file: keys/k.pem")), MapEnv(nil))
		require.NoError(t, err)
		require.Equal(t, "keys/k.pem", cfg.Tenants[0].Auth.PrivateKeyFile)
		require.True(t, keys().ec.Equal(cfg.Tenants[0].Auth.Signer))
	})
	t.Run("absolute path is kept", func(t *testing.T) {
		abs := writeFile(t, t.TempDir(), "k.pem", pemData)
		path := writeFile(t, t.TempDir(), "riskpipe.yaml", []byte(jwtYAML("private_key_file: "+abs)))
		cfg, err := Load(path, MapEnv(nil))
		require.NoError(t, err)
		require.Equal(t, abs, cfg.Tenants[0].Auth.PrivateKeyFile)
	})
	t.Run("a directory is refused", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Parse([]byte(jwtYAML("private_key_file: "+dir)), MapEnv(nil))
		require.Equal(t, []string{`tenants[0].auth.private_key_file: cannot read "` + dir + `": not a regular file`}, problemLines(t, err))
	})
	t.Run("a path from the environment is not shown", func(t *testing.T) {
		_, err := Parse([]byte(jwtYAML("private_key_file: ${KEY_FILE}")), MapEnv(map[string]string{"KEY_FILE": "/nonexistent/secret-path.pem"}))
		require.Equal(t, []string{"tenants[0].auth.private_key_file: cannot read file: no such file or directory"}, problemLines(t, err))
	})
}
