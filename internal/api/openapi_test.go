package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json")

const openAPIGolden = "testdata/openapi.golden.json"

func TestOpenAPIGolden(t *testing.T) {
	e := newEnv(t)
	status, got := e.get("/api/v1/openapi.json", "")
	require.Equal(t, 200, status)
	if *update {
		require.NoError(t, os.WriteFile(openAPIGolden, got, 0o644))
	}
	want, err := os.ReadFile(openAPIGolden)
	require.NoError(t, err, "run go test ./internal/api -run OpenAPI -update")
	require.Equal(t, string(want), string(got), "the API changed: review, then go test ./internal/api -run OpenAPI -update")
	abs, _ := filepath.Abs(openAPIGolden)
	t.Logf("OpenAPI document: %s", abs)
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Security   []any                       `json:"security"`
		} `json:"paths"`
	}
	e.getJSON("/api/v1/openapi.json", "", &doc)
	for _, rt := range e.api.routes() {
		op, ok := doc.Paths[rt.pattern][strings.ToLower(rt.method)]
		require.True(t, ok, "%s %s", rt.method, rt.pattern)
		for _, seg := range strings.Split(rt.pattern, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				require.True(t, slices.ContainsFunc(op.Parameters, func(p struct{ Name, In string }) bool {
					return p.Name == name && p.In == "path"
				}), "%s documents path parameter %s", rt.pattern, name)
			}
		}
		require.Equal(t, rt.auth, len(op.Security) > 0, rt.pattern)
	}
}

// TestAnswersMatchOpenAPI checks real answers against the document's
// schemas: no undocumented field, every required field, the right types.
func TestAnswersMatchOpenAPI(t *testing.T) {
	e := fixtureEnv(t)
	var doc map[string]any
	e.getJSON("/api/v1/openapi.json", "", &doc)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	paths := doc["paths"].(map[string]any)
	schemaOf := func(pattern string) any {
		op := paths[pattern].(map[string]any)["get"].(map[string]any)
		return op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	}
	since := "since=2000-01-01T00:00:00Z"
	tests := []struct{ pattern, path string }{
		{"/api/v1/orgs", "/api/v1/orgs"},
		{"/api/v1/users", "/api/v1/users?history=5"},
		{"/api/v1/orgs/{org}/users/{user_id}", "/api/v1/orgs/acme/users/" + alice.id},
		{"/api/v1/factor-updates", "/api/v1/factor-updates?" + since},
		{"/api/v1/activity", "/api/v1/activity"},
		{"/api/v1/orgs/{org}/events", "/api/v1/orgs/acme/events?raw=true&from=2026-03-01T00:00:00Z"},
		{"/api/v1/orgs/{org}/events/{event_id}", "/api/v1/orgs/acme/events/evt-acme-000"},
	}
	for _, tt := range tests {
		var body any
		e.getJSON(tt.path, tokenAll, &body)
		require.NoError(t, conforms(body, schemaOf(tt.pattern), schemas, "$"), tt.path)
	}
	var feed FactorFeed
	e.getJSON("/api/v1/factor-updates?"+since, tokenAll, &feed)
	require.NotEmpty(t, feed.Updates, "the check above saw updates")
}

// conforms checks v against a JSON Schema subset: $ref, type (also a list
// with null), properties, required, additionalProperties, items, enum.
func conforms(v, schema any, defs map[string]any, at string) error {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return conforms(v, defs[strings.TrimPrefix(ref, "#/components/schemas/")], defs, at)
	}
	if types, ok := s["type"]; ok {
		var allowed []string
		switch tt := types.(type) {
		case string:
			allowed = []string{tt}
		case []any:
			for _, x := range tt {
				allowed = append(allowed, x.(string))
			}
		}
		if !slices.Contains(allowed, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(allowed, "number")) {
			return fmt.Errorf("%s: %s, want %v", at, jsonType(v), allowed)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if s["additionalProperties"] == false {
			for k := range x {
				if _, ok := props[k]; !ok {
					return fmt.Errorf("%s.%s: not documented", at, k)
				}
			}
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s.%s: required but missing", at, r)
			}
		}
		for k, val := range x {
			sub := props[k]
			if ap, ok := s["additionalProperties"].(map[string]any); ok {
				sub = ap
			}
			if err := conforms(val, sub, defs, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range x {
			if err := conforms(item, s["items"], defs, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestOpenAPIIsValidJSON(t *testing.T) {
	var v map[string]any
	require.NoError(t, json.Unmarshal((&API{}).openAPI(), &v))
	require.Equal(t, "3.1.0", v["openapi"])
}
