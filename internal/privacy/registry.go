package privacy

import (
	"fmt"
	"slices"
)

// Table declares how a person is found, deleted and redacted in one table.
// Add one to the Registry for every table holding personal data, e.g. in
// the package that owns the table:
//
//	privacy.DefaultRegistry().Add(privacy.Table{Name: "notifications",
//		Key: []string{"tenant", "notification_id"}, LoginColumns: []string{"recipient"}})
type Table struct {
	// Name is the table name in the riskpipe database.
	Name string
	// Key are String columns that identify a row, all its versions, for
	// ALTER TABLE ... DELETE WHERE (Key) IN (SELECT ...): the person's rows
	// are deleted through it.
	Key []string
	// LoginColumns hold a login or an email: a row whose value equals the
	// request's email (case-insensitively) is the person's.
	LoginColumns []string
	// IDColumns hold an Okta user id: a row whose value is one of the
	// person's ids is the person's.
	IDColumns []string
	// IDSources are (login column, id column) pairs that map the email to
	// user ids (org_users); every id found is searched in every table.
	IDSources [][2]string
	// MentionIDColumns hold user ids of people a row is not about (actor,
	// target). With IDColumns they are where an interrupted deletion's
	// ids are found again by their hashes (see resolveIDs).
	MentionIDColumns []string
	// Version is the ReplacingMergeTree version column. When set, a row
	// that only mentions the person is redacted by inserting the redacted
	// row with a higher version and merging (OPTIMIZE ... FINAL) its
	// partition; the sorting key must not hold personal data. Empty: such
	// rows are deleted through Key instead (RedactByDelete) or, without
	// it, the deletion reports them as remaining.
	Version string
	// Replacing: a ReplacingMergeTree without a version column (the newest
	// part wins at a merge); redaction as with Version.
	Replacing bool
	// RedactByDelete deletes rows that only mention the person, for tables
	// whose rows cannot be rewritten.
	RedactByDelete bool
	// Final reads the table with FINAL for access (ReplacingMergeTree).
	Final bool
	// Index is a side table listing, per identifier, the Key of the rows
	// that name it (risk_event_subjects for risk_events, filled by a
	// materialized view): a request reads only those rows instead of
	// scanning the table. The proof scan never uses it, and a deletion
	// whose first round leaves something scans the whole table.
	Index *Index
	// LookupColumn is the first column of the sorting key, holding
	// lower-cased identifiers: the table's rows are found by the
	// request's email and ids in it (a key lookup) instead of a scan.
	LookupColumn string
	// DeleteLast deletes the person's rows with the IDSources tables,
	// after every other table (an index: a deletion interrupted before
	// then still finds the rows through it).
	DeleteLast bool
}

// Index names a side table of identifiers (see Table.Index): Column holds
// the lower-cased identifier, and the side table has the indexed table's
// Key columns under the same names.
type Index struct {
	Table  string
	Column string
}

func (t Table) redactable() bool { return t.Version != "" || t.Replacing }

// last: the table's rows are deleted in the last phase (see pass).
func (t Table) last() bool { return len(t.IDSources) > 0 || t.DeleteLast }

func (t Table) validate() error {
	if !identRE.MatchString(t.Name) {
		return fmt.Errorf("privacy: table name %q: want an identifier", t.Name)
	}
	if len(t.Key) == 0 {
		return fmt.Errorf("privacy: table %s: no key columns", t.Name)
	}
	extra := []string{t.Version, t.LookupColumn}
	if t.Index != nil {
		extra = append(extra, t.Index.Table, t.Index.Column)
	}
	for _, c := range slices.Concat(t.Key, t.LoginColumns, t.IDColumns, t.MentionIDColumns, extra) {
		if c != "" && !identRE.MatchString(c) {
			return fmt.Errorf("privacy: table %s: column %q: want an identifier", t.Name, c)
		}
	}
	return nil
}

// Registry is the set of tables holding personal data.
type Registry struct {
	tables []Table
}

// NewRegistry returns a registry of tables; it panics on an invalid or
// duplicate declaration (a programming error).
func NewRegistry(tables ...Table) *Registry {
	r := &Registry{}
	for _, t := range tables {
		r.Add(t)
	}
	return r
}

// Add declares a table; it panics on an invalid or duplicate declaration.
func (r *Registry) Add(t Table) {
	if err := t.validate(); err != nil {
		panic(err)
	}
	if r.Lookup(t.Name) != nil {
		panic(fmt.Sprintf("privacy: table %s declared twice", t.Name))
	}
	r.tables = append(r.tables, t)
}

// Lookup returns the declaration of table name, or nil.
func (r *Registry) Lookup(name string) *Table {
	for i := range r.tables {
		if r.tables[i].Name == name {
			return &r.tables[i]
		}
	}
	return nil
}

// Tables returns the declared tables in declaration order.
func (r *Registry) Tables() []Table { return slices.Clone(r.tables) }

// CoreTables are riskpipe's tables holding personal data (schema/001,
// 002). Tables of later migrations add their declaration here.
func CoreTables() []Table {
	return []Table{
		// org_users maps logins to user ids: the person's ids come from it.
		{Name: "org_users", Key: []string{"tenant", "user_id"}, LoginColumns: []string{"user_login"},
			IDColumns: []string{"user_id"}, IDSources: [][2]string{{"user_login", "user_id"}}, Version: "version", Final: true},
		{Name: "attack_factor_latest", Key: []string{"tenant", "user_id"}, LoginColumns: []string{"user_login"},
			IDColumns: []string{"user_id"}, IDSources: [][2]string{{"user_login", "user_id"}}, Version: "version", Final: true},
		{Name: "attack_factor_updates", Key: []string{"tenant", "user_id"}, LoginColumns: []string{"user_login"},
			IDColumns: []string{"user_id"}, Version: "version", Final: true},
		// A risk event is the person's when it is attributed to them
		// (user_id, user_login); an event of someone else that has them as
		// actor or target, or mentions them in raw, is redacted.
		{Name: "risk_events", Key: []string{"tenant", "event_id"}, LoginColumns: []string{"user_login"},
			IDColumns: []string{"user_id"}, MentionIDColumns: []string{"actor_id", "target_user_id"},
			IDSources: [][2]string{{"user_login", "user_id"}, {"actor_login", "actor_id"}, {"target_user_login", "target_user_id"}},
			Version:   "version", Final: true, Index: &Index{Table: "risk_event_subjects", Column: "identifier"}},
		// The index of the identifiers each risk event names (schema/007):
		// every row naming the person is deleted (it holds nothing else).
		{Name: "risk_event_subjects", Key: []string{"identifier", "tenant", "event_id"}, LoginColumns: []string{"identifier"},
			LookupColumn: "identifier", RedactByDelete: true, DeleteLast: true},
		// Dead letters could not be decoded, so they belong to no one:
		// mentions are redacted (the newest part wins at a merge).
		{Name: "dead_letters", Key: []string{"tenant", "fingerprint"}, Replacing: true, Final: true},
		// Notifications (schema/004): a message to the person (a contact)
		// is theirs; a message that names them (a critical user in its
		// subject or body) is redacted.
		{Name: "notifications", Key: []string{"tenant", "notification_id", "recipient"}, LoginColumns: []string{"recipient"},
			Version: "version", Final: true},
		// The contacts last applied (schema/004): a contact who is the
		// person is redacted from the org's row.
		{Name: "org_contacts", Key: []string{"tenant"}, Version: "version", Final: true},
		// Response actions (schema/005) keep one row per step (version is
		// in the sorting key): the person's actions are deleted; another
		// user's action that names them (an identity candidate, evidence)
		// is deleted too, as its steps cannot be rewritten in place.
		{Name: "response_actions", Key: []string{"tenant", "action_id"}, LoginColumns: []string{"user_login", "identity"},
			IDColumns: []string{"user_id"}, RedactByDelete: true},
	}
}

// DefaultRegistry is CoreTables.
func DefaultRegistry() *Registry { return NewRegistry(CoreTables()...) }
