// Package chcurrent checks riskpipe's SQL against a current ClickHouse.
//
// The tests can only start Debian's ClickHouse 18.16; users run 24.x–26.x.
// While the store, api, app and other tests run, the 18.16 servers that
// internal/chtest starts log every statement (system.query_log) when
// RISKPIPE_SQL_CAPTURE names a directory; chtest writes each test
// database's tables and rows there before dropping it, and each server's
// statements when it stops (Capture*). The replay test of this package
// (build tag chdb, `make test`) then runs every distinct statement, with the
// captured rows loaded, on a fresh 18.16 server and on libchdb (ClickHouse
// 26.5 in-process, through github.com/chdb-io/chdb-go) and fails on any
// statement the current engine rejects and any read whose result differs.
//
// Nothing lists the queries: a query added to riskpipe is captured the first
// time a test sends it.
package chcurrent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnvCapture names the capture directory. When it is set, internal/chtest
// starts its servers with the query log on and writes the capture there.
const EnvCapture = "RISKPIPE_SQL_CAPTURE"

// MaxDumpRows bounds the rows kept per table: the replay needs realistic
// rows, not every row of a scale test.
const MaxDumpRows = 300

// Statement is one row of a server's query log: a statement a client sent
// over the native protocol, after it finished or failed.
type Statement struct {
	Query     string `json:"query"`
	Exception string `json:"exception,omitempty"` // empty: it succeeded on 18.16
}

// Table is a dumped table: how 18.16 shows its definition, and its rows.
type Table struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	Create string `json:"create"` // SHOW CREATE TABLE
	Rows   string `json:"rows"`   // TabSeparated, at most MaxDumpRows
	NRows  int    `json:"nrows"`
}

// Database is a test database as it was when its test ended.
type Database struct {
	Name   string  `json:"name"`
	Tables []Table `json:"tables"`
}

// Capture is what one test binary's server saw.
type Capture struct {
	Dir        string // the binary's subdirectory
	Statements []Statement
	Databases  map[string]Database
}

const (
	statementsFile = "statements.jsonl"
	databasesDir   = "databases"
)

// BinaryDir is the subdirectory of root for this process: the test
// binary's name and pid, as test binaries of several packages run at once.
func BinaryDir(root string) string {
	return filepath.Join(root, fmt.Sprintf("%s-%d", filepath.Base(os.Args[0]), os.Getpid()))
}

// httpClient talks to a server's HTTP interface, which gives results as
// text in any format (the native protocol does not) and works on 18.16.
type httpClient struct {
	addr string
	c    *http.Client
}

func newHTTP(addr string) *httpClient {
	// No keep-alive: an idle connection of the capture (made while a test
	// cleans up) would outlive the test and show up as a leaked goroutine
	// in the next test's goleak check.
	return &httpClient{addr: addr, c: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// query runs q with body as its data and returns the response text.
func (h *httpClient) query(ctx context.Context, q, body string) (string, error) {
	u := "http://" + h.addr + "/?query=" + url.QueryEscape(q)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

// CaptureDatabase writes db's tables (definition and up to MaxDumpRows
// rows each) under BinaryDir(root). httpAddr is the server's HTTP address.
func CaptureDatabase(ctx context.Context, root, httpAddr, db string) error {
	h := newHTTP(httpAddr)
	list, err := h.query(ctx, "SELECT name, engine FROM system.tables WHERE database = "+quoteString(db)+" ORDER BY name FORMAT JSONEachRow", "")
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", db, err)
	}
	out := Database{Name: db}
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		var t Table
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return fmt.Errorf("tables of %s: %w", db, err)
		}
		name := quoteIdent(db) + "." + quoteIdent(t.Name)
		if t.Create, err = h.query(ctx, "SHOW CREATE TABLE "+name+" FORMAT TSVRaw", ""); err != nil {
			return fmt.Errorf("show create %s: %w", name, err)
		}
		t.Create = strings.TrimSpace(t.Create)
		if !strings.Contains(t.Engine, "View") {
			cols, err := textColumns(ctx, h, name, nil)
			if err != nil {
				return err
			}
			if t.Rows, err = h.query(ctx, fmt.Sprintf("SELECT %s FROM %s LIMIT %d FORMAT TabSeparated", cols, name, MaxDumpRows), ""); err != nil {
				return fmt.Errorf("dump %s: %w", name, err)
			}
			t.NRows = strings.Count(t.Rows, "\n")
		}
		out.Tables = append(out.Tables, t)
	}
	dir := filepath.Join(BinaryDir(root), databasesDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, db+".json"), b, 0o640)
}

// textColumns returns the select list that prints table's columns (only
// those in want, in that order, when want is not empty; else every column
// an INSERT takes) as text both versions read back the same. A DateTime is
// printed as its Unix time in 10 digits: ClickHouse 26.5 reads the text
// 0000-00-00 00:00:00, which 18.16 prints for the zero DateTime, as
// 2026-01-01 00:00:00 (measured), and takes a Unix time only in exactly
// 10 digits.
func textColumns(ctx context.Context, h *httpClient, table string, want []string) (string, error) {
	desc, err := h.query(ctx, "DESCRIBE TABLE "+table+" FORMAT TabSeparated", "")
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", table, err)
	}
	types := map[string]string{}
	var all []string
	for _, line := range strings.Split(strings.TrimRight(desc, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		name := f[0] // riskpipe's column names need no TSV unescaping
		types[name] = f[1]
		if len(f) < 3 || (f[2] != "MATERIALIZED" && f[2] != "ALIAS") {
			all = append(all, name)
		}
	}
	if len(want) == 0 {
		want = all
	}
	exprs := make([]string, len(want))
	for i, c := range want {
		typ := types[strings.Trim(c, "`")]
		q := quoteIdent(strings.Trim(c, "`"))
		if typ == "DateTime" || strings.HasPrefix(typ, "DateTime(") {
			exprs[i] = "substring(toString(toUInt32(" + q + ") + 10000000000), 2)"
		} else {
			exprs[i] = q
		}
	}
	return strings.Join(exprs, ", "), nil
}

// CaptureStatements writes the statements the server's native-protocol
// clients sent (its query log, in order) under BinaryDir(root). The
// capture's own HTTP queries are left out.
func CaptureStatements(ctx context.Context, root, httpAddr string) error {
	h := newHTTP(httpAddr)
	if _, err := h.query(ctx, "SYSTEM FLUSH LOGS", ""); err != nil {
		return fmt.Errorf("flush query log: %w", err)
	}
	// type: 2 QueryFinish, 3 ExceptionBeforeStart, 4 ExceptionWhileProcessing;
	// interface 1 is the native protocol. One thread reads the parts in
	// the order they were written; event_time has whole seconds only, so
	// the order within a second is approximate (NewPlan copes).
	log, err := h.query(ctx, "SELECT query, exception FROM system.query_log WHERE interface = 1 AND type >= 2 "+
		"SETTINGS max_threads = 1 FORMAT JSONEachRow", "")
	if err != nil {
		return fmt.Errorf("read query log: %w", err)
	}
	dir := BinaryDir(root)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	// Appended: a test binary may stop its server and start another.
	f, err := os.OpenFile(filepath.Join(dir, statementsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(log); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// ReadCaptures reads every test binary's capture under root.
func ReadCaptures(root string) ([]Capture, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []Capture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := Capture{Dir: filepath.Join(root, e.Name()), Databases: map[string]Database{}}
		b, err := os.ReadFile(filepath.Join(c.Dir, statementsFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s: did its test binary stop its server (chtest.Main)?", c.Dir, statementsFile)
		}
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		for {
			var s Statement
			if err := dec.Decode(&s); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Dir, err)
			}
			c.Statements = append(c.Statements, s)
		}
		dbs, err := filepath.Glob(filepath.Join(c.Dir, databasesDir, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range dbs {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var d Database
			if err := json.Unmarshal(b, &d); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			c.Databases[d.Name] = d
		}
		out = append(out, c)
	}
	return out, nil
}
