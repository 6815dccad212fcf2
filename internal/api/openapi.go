package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The OpenAPI document is generated from the routes and the Go types of
// their answers, so it cannot drift from what the handlers serve;
// testdata/openapi.golden.json pins it (go test -run OpenAPI -update).

func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(a.openAPI())
}

// openAPI renders the document (indented, keys sorted).
func (a *API) openAPI() []byte {
	doc := openAPIDoc(a.routes())
	b, _ := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n')
}

func openAPIDoc(routes []route) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		op := map[string]any{"operationId": rt.doc.id, "summary": rt.doc.summary}
		if rt.doc.description != "" {
			op["description"] = rt.doc.description
		}
		var params []any
		for _, p := range rt.doc.params {
			params = append(params, p.openAPI())
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.doc.request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.doc.request))}}}
		}
		ok := map[string]any{"description": "OK"}
		if rt.doc.response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.doc.response))}}
		} else {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		responses := map[string]any{"200": ok}
		errRef := g.schema(reflect.TypeOf(errorBody{}))
		errResp := func(desc string) map[string]any {
			return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
		}
		if len(rt.doc.params) > 0 || rt.doc.request != nil {
			responses["400"] = errResp("Invalid parameter.")
		}
		if rt.auth {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			responses["401"] = errResp("Missing or invalid bearer token.")
			op["x-riskpipe-role"] = string(rt.needs())
			responses["403"] = errResp("The token lacks the role " + string(rt.needs()) + ", or may not use an org the request names.")
			responses["503"] = errResp("ClickHouse did not answer.")
		}
		if strings.Contains(rt.pattern, "{event_id}") || strings.Contains(rt.pattern, "{user_id}") {
			responses["404"] = errResp("Not found in this org.")
		}
		for status, desc := range rt.doc.errors {
			responses[strconv.Itoa(status)] = errResp(desc)
		}
		for code, desc := range rt.doc.statuses {
			switch {
			case code < 300:
				r := map[string]any{"description": desc}
				if c, has := ok["content"]; has {
					r["content"] = c
				}
				responses[strconv.Itoa(code)] = r
			case code == 409:
				responses["409"] = map[string]any{"description": desc, "content": map[string]any{
					"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(conflictBody{}))}}}
			default:
				responses[strconv.Itoa(code)] = errResp(desc)
			}
		}
		for status, desc := range rt.doc.statusDocs {
			r := errResp(desc)
			if v, ok := rt.doc.statusTypes[status]; ok {
				r["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(v))}}
			}
			responses[status] = r
		}
		op["responses"] = responses
		if paths[rt.pattern] == nil {
			paths[rt.pattern] = map[string]any{}
		}
		paths[rt.pattern][strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "riskpipe API",
			"version": "1",
			"description": "Identity-risk events, attack factors and poller health of the Okta orgs riskpipe polls. " +
				"Every endpoint but this document needs Authorization: Bearer <token> (config api.tokens); a token reads " +
				"only the orgs it lists. Times are RFC 3339 in UTC. See docs/data-contract.md for the ClickHouse tables.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

func (p param) openAPI() map[string]any {
	var s map[string]any
	switch p.typ {
	case "date-time":
		s = map[string]any{"type": "string", "format": "date-time"}
	default:
		s = map[string]any{"type": p.typ}
	}
	if p.enum != nil {
		s["enum"] = p.enum
	}
	if p.def != nil {
		s["default"] = p.def
	}
	if p.repeated {
		s = map[string]any{"type": "array", "items": s}
	}
	out := map[string]any{"name": p.name, "in": p.in, "schema": s, "description": p.description}
	if p.required {
		out["required"] = true
	}
	if p.repeated {
		out["explode"] = true
		out["style"] = "form"
	}
	return out
}

// schemaGen turns Go types into JSON Schema, named structs into
// #/components/schemas references.
type schemaGen struct {
	defs map[string]any
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType, t.Kind() == reflect.Interface:
		return map[string]any{"description": "Any JSON value."}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
			return s
		}
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // recursion guard
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic("openapi: no schema for " + t.String())
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}
