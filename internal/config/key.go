package config

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// maxKeyFileSize bounds how much of a private_key_file is read.
const maxKeyFileSize = 1 << 20

// minRSABits is the smallest RSA key Okta accepts for private_key_jwt.
const minRSABits = 2048

// readKeyFile reads a private_key_file. It refuses anything but a regular
// file of reasonable size, so a mistyped /dev/zero or a FIFO cannot hang.
func readKeyFile(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > maxKeyFileSize {
		return nil, errors.New("file too large for a private key")
	}
	return os.ReadFile(name)
}

// readErrText is err without the *fs.PathError prefix (the caller decides
// whether the path may be shown).
func readErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// parsePrivateKey parses the first private key in PEM data: PKCS#8 (RSA or
// EC), PKCS#1 RSA or SEC1 EC, whatever the block's label says. Other blocks
// (certificates, EC PARAMETERS) are skipped. When data holds no PEM block
// but literal "\n" sequences (a key squeezed into one environment variable
// line), they are read as newlines. Errors never contain key material.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, others := findKeyBlock(data)
	if block == nil && bytes.Contains(data, []byte(`\n`)) {
		block, others = findKeyBlock(bytes.ReplaceAll(data, []byte(`\n`), []byte("\n")))
	}
	if block == nil {
		if len(others) > 0 {
			return nil, fmt.Errorf("no private key in PEM data (found %s)", strings.Join(others, ", "))
		}
		return nil, errors.New("no PEM private key found (want -----BEGIN PRIVATE KEY-----)")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("encrypted private keys are not supported")
	}
	key, err := parseKeyDER(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("invalid %s (not PKCS#8, PKCS#1 or SEC1)", block.Type)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("RSA key has %d bits; at least %d are required", bits, minRSABits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, fmt.Errorf("unsupported EC curve %s (want P-256, P-384 or P-521)", k.Curve.Params().Name)
	default:
		return nil, fmt.Errorf("unsupported key type %T (want RSA or EC)", key)
	}
}

// findKeyBlock returns the first PEM block whose label names a private
// key, and the labels of the blocks skipped before it.
func findKeyBlock(data []byte) (*pem.Block, []string) {
	var others []string
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, others
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return block, others
		}
		others = append(others, block.Type)
	}
}

// parseKeyDER tries PKCS#8, PKCS#1 and SEC1 in turn.
func parseKeyDER(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return x509.ParseECPrivateKey(der)
}
