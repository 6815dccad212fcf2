// Package config loads riskpipe's YAML configuration.
//
// Load (or Parse) runs these steps and reports every problem at once, each
// with its key path, as an *Error:
//
//  1. YAML parsing (gopkg.in/yaml.v3) into a node tree; one document only.
//  2. ${VAR} expansion in scalar values (never in keys, never in raw text,
//     so a value containing ": " or a newline cannot change the document's
//     structure). $${ is a literal ${; any other $ is kept. An unset
//     variable is a problem naming it; a variable set to "" is allowed.
//  3. Strict decoding over Default: unknown or duplicate keys and values of
//     the wrong kind are problems. A key that is null or left empty keeps
//     its default. Anchors and aliases work; merge keys (<<) do not.
//  4. Per-tenant overrides: each tenant's poll block is decoded over the
//     top-level poll block, so it overrides only the keys it sets. A
//     tenant's extra_event_types are appended to the top-level list. After
//     Load, Tenant.Poll is the tenant's effective configuration.
//  5. Validation of ranges, enumerations and cross-field rules; base_url
//     loses trailing slashes; private_key_jwt keys are parsed into
//     Auth.Signer; scopes default to [okta.logs.read] and dpop to auto for
//     both OAuth methods.
//
// Zero tenants is valid (enough for `riskpipe migrate`); commands that
// poll call (*Config).RequireTenants.
//
// Secrets (type Secret) print as [redacted] through fmt, slog, JSON and
// YAML, and so do parsed private keys when an Auth is formatted. Problem
// messages never include secrets, key material or any value that came from
// the environment: where a message quotes a value it quotes the text as
// written in the file.
//
// configs/example.yaml documents every key with its default.
package config
