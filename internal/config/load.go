package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path and parses it like Parse, except that a
// relative private_key_file resolves against the file's directory. A nil
// env means os.LookupEnv. Invalid content is an *Error listing every
// problem; an unreadable file is the wrapped *fs.PathError.
func Load(path string, env LookupEnv) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, env, filepath.Dir(path))
}

// Parse parses a YAML configuration: ${VAR} expansion in scalar values,
// strict decoding over Default, per-tenant poll overrides, validation, and
// parsing of private_key_jwt keys (a relative private_key_file resolves
// against the working directory). A nil env means os.LookupEnv. On invalid
// input it returns a nil Config and an *Error holding every problem found.
func Parse(data []byte, env LookupEnv) (*Config, error) {
	return parse(data, env, "")
}

// parse is Parse with dir, the directory relative key files resolve
// against ("" for the working directory).
func parse(data []byte, env LookupEnv, dir string) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	ps := &problems{}
	root, err := parseYAML(data)
	if err != nil {
		ps.add("", err.Error())
		return nil, ps.err()
	}
	x := newExpansion(env, ps)
	m := &meta{expanded: map[string]string{}}
	if root != nil {
		x.walk(root, "")
	}
	d := &decoder{ps: ps, x: x, m: m}
	c := d.decode(root)
	validate(c, m, dir, ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	c.applyAuthDefaults()
	c.applyTokenDefaults()
	c.applyResponseDefaults()
	return c, nil
}

// parseYAML returns the root node of the single YAML document in data, or
// nil for an empty document.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML parser is third-party code fed untrusted input: Parse
		// must return an error, never panic.
		if recover() != nil {
			root, err = nil, errors.New("yaml: cannot parse document")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		return nil, errors.New("yaml: more than one document (remove the ---)")
	}
	if len(doc.Content) != 1 {
		return nil, nil
	}
	return doc.Content[0], nil
}
