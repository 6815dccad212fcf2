package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/store"
)

// Marker replaces the person's email, login, user ids and display name in
// rows that belong to others.
const Marker = "[redacted]"

// maxRounds bounds the search-delete-prove rounds of one deletion: events
// about the person written meanwhile (privacy.suppress_deleted off) are
// found and deleted by the next round.
const maxRounds = 4

// Delete deletes everything about the person with this email and returns
// once the proof scan finds nothing left (Status done), or the deletion
// found what it cannot delete (incomplete), or ctx ends / an error occurs
// (failed: run it again; it finishes the job). The request's progress is
// in privacy_requests under the returned RequestID in every case.
func (s *Service) Delete(ctx context.Context, email, requestedBy string) (*DeletionResult, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	return s.deleteID(ctx, newRequestID(), email, requestedBy)
}

func (s *Service) deleteID(ctx context.Context, id, email, requestedBy string) (*DeletionResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.o.Now()
	d := &deletion{s: s, res: &DeletionResult{RequestID: id, Status: StatusRunning, Deleted: map[string]int{}, Redacted: map[string]int{}},
		aud: audit{RequestID: id, Kind: KindDeletion, EmailHash: s.h.Email(email), RequestedBy: requestedBy, StartedAt: start},
		n:   s.newNeedles(id, email)}
	d.aud.SubjectHashes = []string{d.aud.EmailHash}
	if err := s.writeAudit(ctx, d.aud, StatusRunning, ""); err != nil {
		return nil, err
	}
	s.cleanupTemp(ctx, id)
	err := d.run(ctx)
	d.res.DurationMS = s.o.Now().Sub(start).Milliseconds()
	wctx := context.WithoutCancel(ctx)
	switch {
	case err != nil:
		d.res.Status = StatusFailed
		if d.res.Detail == "" {
			d.res.Detail = "stopped by an error before the proof; run the deletion again"
		}
	case d.res.Remaining > 0:
		d.res.Status = StatusIncomplete
	default:
		d.res.Status = StatusDone
	}
	d.aud.Counts = mustJSON(map[string]any{"deleted": d.res.Deleted, "redacted": d.res.Redacted})
	d.aud.Remaining = d.res.Remaining
	if d.res.Status == StatusFailed && d.aud.Remaining == 0 {
		d.aud.Remaining = 1 // unknown: never recorded as nothing left
	}
	if aerr := s.writeAudit(wctx, d.aud, d.res.Status, d.res.Detail); aerr != nil && err == nil {
		err = aerr
	}
	if d.res.Status != StatusFailed || !d.mutationsPending(wctx) {
		s.dropRequestTemps(wctx, id)
	}
	if d.res.Status == StatusDone {
		s.closeInterrupted(wctx, d.aud.EmailHash, id)
		s.cleanupTemp(wctx, id) // what the interrupted requests left
	}
	s.m.requests.WithLabelValues(KindDeletion, d.res.Status).Inc()
	s.log.Info("privacy deletion finished", "request_id", id, "requested_by", requestedBy, "status", d.res.Status,
		"remaining", d.res.Remaining, "duration_ms", d.res.DurationMS)
	if err != nil {
		s.log.Warn("privacy deletion failed", "request_id", id, "err", err)
		return d.res, err
	}
	return d.res, nil
}

// deletion is one deletion request in progress.
type deletion struct {
	s     *Service
	res   *DeletionResult
	aud   audit
	n     *needles
	names []string // display names found
}

func (d *deletion) run(ctx context.Context) error {
	s := d.s
	if err := d.n.create(ctx); err != nil {
		return err
	}
	for round := 1; ; round++ {
		// The first round reads through the indexes (Table.Index); a
		// round after a proof that found something scans every row.
		d.n.full = round > 1 || !indexable(d.n.email)
		schema, order, err := readSchema(ctx, s.o.Conn, s.o.Database)
		if err != nil {
			return err
		}
		if err := s.resolveIDs(ctx, d.n, schema); err != nil {
			return err
		}
		d.aud.SubjectHashes = d.subjectHashes()
		// The audit row carries the subject hashes before anything is
		// deleted, so other processes forget the person too.
		if err := s.writeAudit(ctx, d.aud, StatusRunning, fmt.Sprintf("round %d", round)); err != nil {
			return err
		}
		announced := time.Now()
		d.forget()
		if err := d.pass(ctx, schema, order); err != nil {
			return err
		}
		d.forget()
		// The proof (of the active parts) runs while ClickHouse removes
		// the parts the mutations replaced (old_parts_lifetime): the
		// round ends when both are done.
		pctx, cancel := context.WithCancel(ctx)
		gone := make(chan error, 1)
		go func() { gone <- d.waitOldParts(pctx, templess(order)) }()
		remaining, where, err := d.settleAndProve(ctx, announced)
		if err != nil {
			cancel()
			if werr := <-gone; werr != nil { // the proof's error is the one returned
				d.s.log.Debug("privacy: old-parts wait stopped", "request_id", d.res.RequestID, "err", werr)
			}
			return err
		}
		d.step("proved")
		err = <-gone
		cancel()
		if err != nil {
			return err
		}
		d.step("old-parts-gone")
		d.res.Remaining = remaining
		if remaining == 0 {
			d.res.Detail = ""
			return nil
		}
		undeclared := false
		for _, w := range where {
			if s.o.Registry.Lookup(w) == nil {
				undeclared = true
			}
		}
		d.res.Detail = "still found in: " + strings.Join(where, ", ")
		if undeclared || round >= maxRounds {
			return nil
		}
	}
}

// settleAndProve waits until SettleFor has passed since the subject
// hashes were announced, then runs the proof.
func (d *deletion) settleAndProve(ctx context.Context, announced time.Time) (uint64, []string, error) {
	if wait := d.s.o.SettleFor - time.Since(announced); wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return 0, nil, err
		}
	}
	return d.prove(ctx)
}

// templess is the table names but the requests' temporary tables.
func templess(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !isTemp(n) {
			out = append(out, n)
		}
	}
	return out
}

func (d *deletion) subjectHashes() []string {
	out := []string{d.d().h.Email(d.n.email)}
	for _, id := range d.n.ids {
		out = append(out, d.d().h.ID(id))
	}
	return out
}

func (d *deletion) d() *Service { return d.s }

func (d *deletion) step(name string) { d.s.step(name) }

func (d *deletion) forget() {
	if d.s.o.Forgetter != nil {
		d.s.o.Forgetter.Forget(Subject{IDs: slices.Clone(d.n.ids), Logins: []string{d.n.email}})
	}
}

// pass finds the person's rows in the declared tables, deletes them,
// redacts the others' rows mentioning them and waits for the mutations
// and merges (run waits for the old parts to be gone, every table's:
// those of a run interrupted earlier too).
//
// A table with a Version column gets one mutation: it deletes the
// person's rows by Key and, of the rows it redacts, exactly the versions
// that mention the person (Key and version), after the redacted versions
// were written. No merge of whole partitions is needed. A Replacing table
// without a version column gets the redacted rows and a merge (OPTIMIZE
// ... FINAL) of the partitions that held the person.
func (d *deletion) pass(ctx context.Context, schema map[string][]column, order []string) error {
	s := d.s
	var plans []*plan
	for _, name := range order {
		t := s.o.Registry.Lookup(name)
		if t == nil || isTemp(name) {
			continue
		}
		rows, err := d.n.findRows(ctx, t, schema[name], t.Final)
		if err != nil {
			return err
		}
		p := &plan{t: t}
		if t.Version != "" {
			if p.versions, err = d.n.versions(ctx, t, schema[name]); err != nil {
				return err
			}
		} else if t.Replacing {
			if p.parts, err = d.n.partitions(ctx, t, schema[name]); err != nil {
				return err
			}
		}
		if len(rows) == 0 && len(p.parts) == 0 && len(p.versions) == 0 {
			continue
		}
		for _, r := range rows {
			switch {
			case r.owned:
				p.del = append(p.del, r)
			case t.redactable():
				p.red = append(p.red, r)
			case t.RedactByDelete:
				p.del = append(p.del, r)
			}
		}
		d.collectNames(rows)
		plans = append(plans, p)
	}
	d.step("searched")
	// Two phases; the tables that map the email to user ids (IDSources)
	// and the index go last, after every other deletion and redaction is
	// done: a deletion interrupted before then finds the ids and rows
	// again when it is run again. The mutations of one phase run
	// concurrently (ClickHouse runs them in its background pool).
	redactor := d.redactor()
	phase := func(last bool) error {
		var sent []*plan
		for _, p := range plans {
			if p.t.last() != last {
				continue
			}
			if err := d.redact(ctx, p, redactor); err != nil {
				return err
			}
			if err := d.sendDelete(ctx, p); err != nil {
				return err
			}
			if p.mutation != "" {
				sent = append(sent, p)
			}
		}
		if last {
			d.step("mapping-deletes-sent")
		} else {
			d.step("deletes-sent")
		}
		for _, p := range sent {
			if err := d.waitMutations(ctx, p.t.Name, p.mutation); err != nil {
				return err
			}
			d.res.Deleted[p.t.Name] += len(p.del)
			s.m.rows.WithLabelValues(p.t.Name, "deleted").Add(float64(len(p.del)))
		}
		return nil
	}
	if err := phase(false); err != nil {
		return err
	}
	d.step("redacted")
	if err := phase(true); err != nil {
		return err
	}
	d.step("mutations-done")
	return nil
}

// plan is what a deletion does to one table.
type plan struct {
	t        *Table
	del      []record   // the person's rows (current versions): deleted by Key
	red      []record   // others' rows mentioning them: redacted
	versions [][]string // Key and version of every version mentioning them (Version tables)
	parts    []string   // partitions to merge (Replacing tables without a version)
	mutation string     // a key table the mutation names, once sent
}

// redact writes the redacted versions of p's rows, then, for a table
// without a version column, merges the partitions that held the person.
func (d *deletion) redact(ctx context.Context, p *plan, redactor func(string) string) error {
	s := d.s
	if len(p.red) > 0 {
		if err := d.reinsert(ctx, p.t, p.red, redactor); err != nil {
			return err
		}
		d.res.Redacted[p.t.Name] += len(p.red)
		s.m.rows.WithLabelValues(p.t.Name, "redacted").Add(float64(len(p.red)))
	}
	if p.t.Version != "" {
		return nil
	}
	if len(p.red) > 0 || (len(p.parts) > 0 && p.t.redactable()) {
		for _, part := range p.parts {
			q := fmt.Sprintf("OPTIMIZE TABLE %s.%s PARTITION ID '%s' FINAL", s.db, quoteIdent(p.t.Name), strings.ReplaceAll(part, "'", ""))
			if err := s.o.Conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("merge %s: %w", p.t.Name, err)
			}
		}
	}
	return nil
}

// sendDelete sends p's mutation: the person's rows by Key, and the
// versions mentioning them by Key and version. The statement names the
// request's key tables, never a value.
func (d *deletion) sendDelete(ctx context.Context, p *plan) error {
	s := d.s
	if len(p.del) == 0 && len(p.versions) == 0 {
		return nil
	}
	cols := make([]string, len(p.t.Key))
	for i, c := range p.t.Key {
		cols[i] = quoteIdent(c)
	}
	ks := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("k%d", i+1)
		}
		return strings.Join(out, ", ")
	}
	var or []string
	if len(p.del) > 0 {
		kt, err := d.n.keyTable(ctx, p.t, p.del)
		if err != nil {
			return err
		}
		p.mutation = kt
		or = append(or, fmt.Sprintf("(%s) IN (SELECT %s FROM %s.`%s`)", strings.Join(cols, ", "), ks(len(cols)), s.db, kt))
	}
	if len(p.versions) > 0 {
		kt, err := d.n.valuesTable(ctx, len(cols)+1, p.versions)
		if err != nil {
			return err
		}
		if p.mutation == "" {
			p.mutation = kt
		}
		or = append(or, fmt.Sprintf("(%s, toString(%s)) IN (SELECT %s FROM %s.`%s`)", strings.Join(cols, ", "), quoteIdent(p.t.Version),
			ks(len(cols)+1), s.db, kt))
	}
	q := fmt.Sprintf("ALTER TABLE %s.%s DELETE WHERE %s", s.db, quoteIdent(p.t.Name), strings.Join(or, " OR "))
	if err := s.o.Conn.Exec(ctx, q); err != nil {
		p.mutation = ""
		return fmt.Errorf("delete from %s: %w", p.t.Name, err)
	}
	return nil
}

// waitMutations polls system.mutations until every mutation of table
// whose command names the key table is done (mutations_sync does not
// exist on 18.16).
func (d *deletion) waitMutations(ctx context.Context, table, keyTable string) error {
	s := d.s
	for {
		var total, done uint64
		err := s.o.Conn.QueryRow(ctx, "SELECT count(), sum(is_done) FROM system.mutations WHERE database = ? AND table = ? AND position(command, ?) > 0",
			s.o.Database, table, keyTable).Scan(&total, &done)
		if err != nil {
			return fmt.Errorf("wait for mutation of %s: %w", table, err)
		}
		if total == 0 {
			return fmt.Errorf("mutation of %s not found in system.mutations", table)
		}
		if done == total {
			return nil
		}
		if err := sleep(ctx, s.o.PollInterval); err != nil {
			return fmt.Errorf("wait for mutation of %s: %w", table, err)
		}
	}
}

// mutationsPending reports whether a mutation naming one of the request's
// tables is not done (its key tables must then stay).
func (d *deletion) mutationsPending(ctx context.Context) bool {
	var n uint64
	err := d.s.o.Conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0 AND position(command, ?) > 0",
		d.s.o.Database, tmpPrefix+d.res.RequestID).Scan(&n)
	return err != nil || n > 0
}

// waitOldParts waits until the inactive parts the tables have now are
// removed from disk (old_parts_lifetime after the merge or mutation that
// replaced them).
func (d *deletion) waitOldParts(ctx context.Context, tables []string) error {
	if len(tables) == 0 {
		return nil
	}
	s := d.s
	list := func(q string) (map[string]bool, error) {
		rows, err := s.o.Conn.Query(ctx, q, s.o.Database, tables)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var t, n string
			if err := rows.Scan(&t, &n); err != nil {
				return nil, err
			}
			out[t+"/"+n] = true
		}
		return out, rows.Err()
	}
	old, err := list("SELECT table, name FROM system.parts WHERE database = ? AND active = 0 AND has(?, table)")
	if err != nil {
		return fmt.Errorf("list old parts: %w", err)
	}
	nudge, err := s.needsNudge(ctx)
	if err != nil {
		return err
	}
	start, nudged := time.Now(), time.Time{}
	for len(old) > 0 {
		if err := sleep(ctx, s.o.PollInterval); err != nil {
			return fmt.Errorf("wait for old parts to be removed (%d left): %w", len(old), err)
		}
		if nudge && time.Since(start) > nudgeAfter && time.Since(nudged) >= time.Second {
			if err := d.nudge(ctx, old); err != nil {
				return err
			}
			nudged = time.Now()
		}
		// One query a poll: the parts (active or not) still on disk.
		now, err := list("SELECT table, name FROM system.parts WHERE database = ? AND has(?, table)")
		if err != nil {
			return fmt.Errorf("wait for old parts: %w", err)
		}
		for p := range old {
			if !now[p] {
				delete(old, p)
			}
		}
	}
	return nil
}

// nudgeAfter is how long after the mutations waitOldParts starts nudging:
// ClickHouse removes a part replaced at second t once the clock passed
// t + store.OldPartsLifetime + 1 (whole seconds).
const nudgeAfter = (store.OldPartsLifetime + 1) * time.Second

// noPartition is a partition ID no riskpipe table can have: partition
// IDs are numbers (months, 0), "all" (no partition key) or hexadecimal
// hashes.
const noPartition = "riskpipenone"

// cleansEverySecond is the first ClickHouse major version considered to
// remove expired old parts by itself every second or so (a cleanup
// interval of its own; the users' servers are 24.x-26.x). Older servers
// are nudged.
const cleansEverySecond = 20

// needsNudge reports whether the server removes replaced parts only when
// a table's background task wakes up (18.16: every 10 s or so when the
// table is idle), rather than every second. Asked once.
func (s *Service) needsNudge(ctx context.Context) (bool, error) {
	s.majorMu.Lock()
	defer s.majorMu.Unlock()
	if s.major == 0 {
		m, err := store.ServerMajor(ctx, s.o.Conn)
		if err != nil {
			return false, err
		}
		s.major = m
	}
	return s.major < cleansEverySecond, nil
}

// nudge makes ClickHouse 18.16 remove the tables' expired old parts now:
// dropping a partition (here one that does not exist: nothing is dropped)
// ends with a removal of expired old parts
// (StorageMergeTree::dropPartition). It also interrupts the table's
// running merges, which ClickHouse starts again.
func (d *deletion) nudge(ctx context.Context, old map[string]bool) error {
	tables := map[string]bool{}
	for p := range old {
		t, _, _ := strings.Cut(p, "/")
		tables[t] = true
	}
	for _, t := range slices.Sorted(maps.Keys(tables)) {
		q := fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION ID '%s'", d.s.db, quoteIdent(t), noPartition)
		if err := d.s.o.Conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("clear old parts of %s: %w", t, err)
		}
	}
	return nil
}

// prove scans every text column of every table (declared or not, every
// version and part) and ClickHouse's record of mutations for the email and
// the user ids. It returns the count and the tables holding them.
func (d *deletion) prove(ctx context.Context) (uint64, []string, error) {
	s := d.s
	schema, order, err := readSchema(ctx, s.o.Conn, s.o.Database)
	if err != nil {
		return 0, nil, err
	}
	var total uint64
	var where []string
	for _, name := range order {
		if isTemp(name) {
			continue
		}
		t := s.o.Registry.Lookup(name)
		if t == nil {
			t = &Table{Name: name}
		}
		c, err := d.n.countMentions(ctx, t, schema[name])
		if err != nil {
			return 0, nil, err
		}
		if c > 0 {
			total += c
			where = append(where, name)
		}
	}
	var c uint64
	q := "SELECT count() FROM system.mutations WHERE database = '" + s.o.Database + "' AND " + d.n.mentionExpr([]column{{"command", "String"}})
	if err := s.o.Conn.QueryRow(ctx, q).Scan(&c); err != nil {
		return 0, nil, fmt.Errorf("scan system.mutations: %w", err)
	}
	if c > 0 {
		total += c
		where = append(where, "system.mutations")
	}
	return total, where, nil
}

// collectNames remembers the display names JSON columns give the person
// (objects whose id is one of theirs or whose alternateId is the email).
func (d *deletion) collectNames(rows []record) {
	for _, r := range rows {
		for _, v := range r.vals {
			str, ok := v.(string)
			if !ok || len(str) < 2 || str[0] != '{' {
				continue
			}
			var doc any
			if json.Unmarshal([]byte(str), &doc) != nil {
				continue
			}
			d.walk(doc)
		}
	}
}

func (d *deletion) walk(v any) {
	switch x := v.(type) {
	case map[string]any:
		id, _ := x["id"].(string)
		alt, _ := x["alternateId"].(string)
		if name, ok := x["displayName"].(string); ok && name != "" && (id != "" && contains(d.n.ids, id) || strings.EqualFold(alt, d.n.email)) {
			if !contains(d.names, name) {
				d.names = append(d.names, name)
			}
		}
		for _, c := range x {
			d.walk(c)
		}
	case []any:
		for _, c := range x {
			d.walk(c)
		}
	}
}

// redactor replaces the email and user ids anywhere (case-insensitively)
// and display names where they are a whole JSON string or value.
func (d *deletion) redactor() func(string) string {
	var alts []string
	for _, s := range append([]string{d.n.email}, d.n.ids...) {
		alts = append(alts, regexp.QuoteMeta(s))
	}
	sort.Slice(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
	anywhere := regexp.MustCompile("(?i)" + strings.Join(alts, "|"))
	var quoted []string
	for _, n := range d.names {
		b, _ := json.Marshal(n)
		quoted = append(quoted, string(b))
	}
	names := d.names
	return func(s string) string {
		s = anywhere.ReplaceAllLiteralString(s, Marker)
		for i, q := range quoted {
			if s == names[i] {
				return Marker
			}
			s = strings.ReplaceAll(s, q, `"`+Marker+`"`)
		}
		return s
	}
}

// reinsert writes the redacted rows with a higher version.
func (d *deletion) reinsert(ctx context.Context, t *Table, rows []record, redact func(string) string) error {
	s := d.s
	cols := rows[0].cols
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	b, err := s.o.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s)", s.db, quoteIdent(t.Name), strings.Join(quoted, ", ")))
	if err != nil {
		return fmt.Errorf("redact %s: %w", t.Name, err)
	}
	ver := d.s.version()
	for _, r := range rows {
		vals := make([]any, len(r.vals))
		for i, v := range r.vals {
			c := r.cols[i]
			switch {
			case contains(t.Key, c):
				vals[i] = v
			case c == t.Version:
				old := toUint(v)
				if old >= ver {
					vals[i] = old + 1
				} else {
					vals[i] = ver
				}
			default:
				vals[i] = redactValue(v, redact)
			}
		}
		if err := b.Append(vals...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("redact %s: %w", t.Name, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("redact %s: %w", t.Name, err)
	}
	return nil
}

func redactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case *string:
		if x == nil {
			return x
		}
		r := redact(*x)
		return &r
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = redact(s)
		}
		return out
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// cleanupTemp drops temporary tables of other requests that no unfinished
// mutation needs and whose request is not running any more (left by a
// crash).
func (s *Service) cleanupTemp(ctx context.Context, current string) {
	for _, n := range s.tempTables(ctx, tmpPrefix) {
		rid := strings.TrimPrefix(n, tmpPrefix)
		rid, _, _ = strings.Cut(rid, "_")
		if rid == current {
			continue
		}
		st, err := s.Request(ctx, rid)
		if err == nil && st.Status == StatusRunning && s.o.Now().Sub(st.StartedAt) < 24*time.Hour {
			continue
		}
		var pending uint64
		if err := s.o.Conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0 AND position(command, ?) > 0",
			s.o.Database, n).Scan(&pending); err != nil || pending > 0 {
			continue
		}
		s.dropTemp(ctx, n)
	}
}

// closeInterrupted marks earlier deletions of the same email that are still
// "running" (their process died) as failed, finished by request id.
func (s *Service) closeInterrupted(ctx context.Context, emailHash, id string) {
	rows, err := s.o.Conn.Query(ctx, "SELECT request_id, argMax(status, version), argMax(started_at, version), argMax(requested_by, version) FROM "+
		s.db+".privacy_requests WHERE kind = ? AND email_hash = ? AND request_id != ? GROUP BY request_id", KindDeletion, emailHash, id)
	if err != nil {
		return
	}
	var stale []audit
	for rows.Next() {
		var a audit
		var status string
		if rows.Scan(&a.RequestID, &status, &a.StartedAt, &a.RequestedBy) == nil && status == StatusRunning {
			a.Kind, a.EmailHash, a.Remaining = KindDeletion, emailHash, 1
			stale = append(stale, a)
		}
	}
	rows.Close()
	for _, a := range stale {
		if err := s.writeAudit(ctx, a, StatusFailed, "interrupted; finished by request "+id); err != nil {
			s.log.Warn("privacy: close an interrupted request", "request_id", a.RequestID, "err", err)
		}
	}
}

// dropRequestTemps drops every temporary table of request id.
func (s *Service) dropRequestTemps(ctx context.Context, id string) {
	for _, n := range s.tempTables(ctx, tmpPrefix+id+"_") {
		s.dropTemp(ctx, n)
	}
}

// tempTables lists the tables whose name starts with prefix (none on an
// error: cleaning up is retried by the next request).
func (s *Service) tempTables(ctx context.Context, prefix string) []string {
	rows, err := s.o.Conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND startsWith(name, ?)", s.o.Database, prefix)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	return names
}
