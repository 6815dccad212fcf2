package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// `riskpipe action` is a client of the running riskpipe's API (the one
// process that executes actions): it finds it at the config's http.listen
// (or --url) and authenticates with an API token holding the respond role,
// read from an environment variable so it never shows in a process list.
// proposed_by and decided_by are that token's name.

const actionUsage = `Usage: riskpipe action <list|propose|approve|reject|revert> --config FILE [flags]

  list     [--org O] [--state S] [--user-id U] [--json]
  propose  --org O --action A (--user-id U | --identity I) [--reason R] [--group-id G]
  approve  --id ID [--user-id U]       (U: the chosen candidate of a needs_identity action)
  reject   --id ID [--reason R]
  revert   --id ID

The token (role respond) is read from $RISKPIPE_API_TOKEN (--token-env to change).`

func cmdAction(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			return usageError{errors.New("missing subcommand\n" + actionUsage)}
		}
		fmt.Fprintln(stdout, actionUsage)
		return errHelp
	}
	sub := args[0]
	if strings.HasPrefix(sub, "-") { // flags before any subcommand
		fs := newFlagSet("action", "<subcommand> --config FILE [flags]", stdout)
		fs.String("config", "", "path to the YAML config")
		if err := parse(fs, args); err != nil {
			return err
		}
		return usageError{errors.New("missing subcommand\n" + actionUsage)}
	}
	fs := newFlagSet("action "+sub, "--config FILE [flags]", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required unless --url): its http.listen is the riskpipe to talk to")
	base := fs.String("url", "", "riskpipe's base URL (default http://<http.listen>)")
	tokenEnv := fs.String("token-env", "RISKPIPE_API_TOKEN", "environment variable holding an API token with the respond role")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for the request")
	asJSON := fs.Bool("json", false, "print JSON")
	var (
		id, org, act, userID, identity, reason, groupID, state *string
	)
	str := func(name, usage string) *string { return fs.String(name, "", usage) }
	switch sub {
	case "list":
		org, state, userID = str("org", "only this org"), str("state", "only this state"), str("user-id", "only this Okta user")
	case "propose":
		org, act = str("org", "the org (required)"), str("action", "clear_sessions | suspend | unsuspend | add_to_group | remove_from_group")
		userID, identity = str("user-id", "the Okta user id"), str("identity", `an external identity instead (CORP\joren, an email alias)`)
		reason, groupID = str("reason", "why"), str("group-id", "add/remove_from_group: the group (default restricted_group_id)")
	case "approve":
		id, userID = str("id", "the action id (required)"), str("user-id", "needs_identity: the chosen candidate")
	case "reject":
		id, reason = str("id", "the action id (required)"), str("reason", "why")
	case "revert":
		id = str("id", "the action id (required)")
	default:
		return usageError{fmt.Errorf("unknown subcommand %q\n%s", sub, actionUsage)}
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	listen := ""
	if *base == "" || *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		listen = cfg.HTTP.Listen
	}
	token := os.Getenv(*tokenEnv)
	if token == "" {
		return usageError{fmt.Errorf("$%s is empty: set it to an API token with the respond role", *tokenEnv)}
	}
	u := *base
	if u == "" {
		if listen == "" {
			return usageError{errors.New("http.listen is empty: pass --url")}
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return usageError{fmt.Errorf("http.listen: %w", err)}
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		u = "http://" + net.JoinHostPort(host, port)
	}
	c := &actionClient{base: strings.TrimRight(u, "/"), token: token, http: &http.Client{Timeout: *timeout}}
	need := func(v *string, name string) error {
		if v == nil || *v == "" {
			return usageError{fmt.Errorf("--%s is required", name)}
		}
		return nil
	}
	var (
		body []byte
		err  error
	)
	switch sub {
	case "list":
		q := url.Values{}
		for k, v := range map[string]*string{"org": org, "state": state, "user_id": userID} {
			if *v != "" {
				q.Set(k, *v)
			}
		}
		body, err = c.do(ctx, "GET", "/api/v1/actions?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err = stdout.Write(body)
			return err
		}
		var list struct {
			Actions []actionView `json:"actions"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORG\tACTION\tUSER\tSTATE\tPROPOSED BY\tCREATED\tNOTE")
		for _, a := range list.Actions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Tenant, a.Action, a.who(), a.State, a.ProposedBy,
				a.CreatedAt.Format(time.RFC3339), a.Error+a.Note)
		}
		return tw.Flush()
	case "propose":
		if err := need(org, "org"); err != nil {
			return err
		}
		if err := need(act, "action"); err != nil {
			return err
		}
		if (*userID == "") == (*identity == "") {
			return usageError{errors.New("pass exactly one of --user-id and --identity")}
		}
		body, err = c.do(ctx, "POST", "/api/v1/actions", map[string]string{"org": *org, "action": *act, "user_id": *userID,
			"identity": *identity, "reason": *reason, "group_id": *groupID})
	case "approve":
		if err := need(id, "id"); err != nil {
			return err
		}
		body, err = c.do(ctx, "POST", "/api/v1/actions/"+url.PathEscape(*id)+"/approve", map[string]string{"user_id": *userID})
	case "reject":
		if err := need(id, "id"); err != nil {
			return err
		}
		body, err = c.do(ctx, "POST", "/api/v1/actions/"+url.PathEscape(*id)+"/reject", map[string]string{"reason": *reason})
	case "revert":
		if err := need(id, "id"); err != nil {
			return err
		}
		body, err = c.do(ctx, "POST", "/api/v1/actions/"+url.PathEscape(*id)+"/revert", nil)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = stdout.Write(body)
		return err
	}
	var a actionView
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s %s on %s: %s", a.ID, a.Tenant, a.Action, a.who(), a.State)
	if a.Error != "" {
		fmt.Fprintf(stdout, " (%s)", a.Error)
	}
	fmt.Fprintln(stdout)
	for _, c := range a.Candidates {
		fmt.Fprintf(stdout, "  candidate %s %s confidence %.2f: %s\n", c.UserID, c.UserLogin, c.Confidence, strings.Join(c.Reasons, ", "))
	}
	return nil
}

// actionView is the part of an API action the CLI prints.
type actionView struct {
	ID         string    `json:"id"`
	Tenant     string    `json:"tenant"`
	Action     string    `json:"action"`
	UserID     string    `json:"user_id"`
	UserLogin  string    `json:"user_login"`
	Identity   string    `json:"identity"`
	State      string    `json:"state"`
	ProposedBy string    `json:"proposed_by"`
	CreatedAt  time.Time `json:"created_at"`
	Error      string    `json:"error"`
	Note       string    `json:"note"`
	Candidates []struct {
		UserID     string   `json:"user_id"`
		UserLogin  string   `json:"user_login"`
		Confidence float64  `json:"confidence"`
		Reasons    []string `json:"reasons"`
	} `json:"candidates"`
}

func (a actionView) who() string {
	switch {
	case a.UserLogin != "":
		return a.UserLogin
	case a.UserID != "":
		return a.UserID
	}
	return a.Identity + " (identity)"
}

type actionClient struct {
	base, token string
	http        *http.Client
}

// do sends one API request; a non-2xx answer is an error with the API's
// message (and the action's current state for a 409).
func (c *actionClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, usageError{err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("riskpipe at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
			State string `json:"state"`
		}
		_ = json.Unmarshal(b, &e)
		msg := fmt.Sprintf("%s %s: %d %s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, cmpStr(e.Error, strings.TrimSpace(string(b))))
		if e.State != "" {
			msg += " (current state " + e.State + ")"
		}
		return nil, errors.New(msg)
	}
	return b, nil
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
