package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// audit is one privacy_requests row (never the email).
type audit struct {
	RequestID     string
	Kind          string
	EmailHash     string
	SubjectHashes []string
	RequestedBy   string
	Counts        string
	Remaining     uint64
	StartedAt     time.Time
}

// version is a strictly increasing nanosecond version for this process.
func (s *Service) version() uint64 {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	v := uint64(s.o.Now().UnixNano())
	if v <= s.verMax {
		v = s.verMax + 1
	}
	s.verMax = v
	return v
}

func (s *Service) writeAudit(ctx context.Context, a audit, status, detail string) error {
	now := s.o.Now().UTC()
	finished := time.Unix(0, 0).UTC()
	if status != StatusRunning {
		finished = now
	}
	if a.Counts == "" {
		a.Counts = "{}"
	}
	if a.SubjectHashes == nil {
		a.SubjectHashes = []string{}
	}
	b, err := s.o.Conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".privacy_requests (request_id, kind, email_hash, subject_hashes, requested_by, status, detail, counts, remaining, started_at, finished_at, updated_at, version)")
	if err != nil {
		return fmt.Errorf("write privacy_requests: %w", err)
	}
	if err := b.Append(a.RequestID, a.Kind, a.EmailHash, a.SubjectHashes, a.RequestedBy, status, detail, a.Counts, a.Remaining,
		a.StartedAt.UTC(), finished, now, s.version()); err != nil {
		_ = b.Abort()
		return fmt.Errorf("write privacy_requests: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write privacy_requests: %w", err)
	}
	return nil
}

// ErrNotFound: no request has this id.
var ErrNotFound = errors.New("no such privacy request")

// RequestState is a request as privacy_requests records it.
type RequestState struct {
	RequestID   string         `json:"request_id"`
	Kind        string         `json:"kind"`
	Status      string         `json:"status"`
	RequestedBy string         `json:"requested_by"`
	Detail      string         `json:"detail,omitempty"`
	Deleted     map[string]int `json:"deleted,omitempty"`
	Redacted    map[string]int `json:"redacted,omitempty"`
	Found       map[string]int `json:"found,omitempty"`
	Remaining   uint64         `json:"remaining"`
	StartedAt   time.Time      `json:"started_at"`
	FinishedAt  *time.Time     `json:"finished_at,omitempty"`
}

// Request reads the current state of request id.
func (s *Service) Request(ctx context.Context, id string) (*RequestState, error) {
	if len(id) != 32 || !isHex(id) {
		return nil, ErrNotFound
	}
	var (
		st       RequestState
		counts   string
		finished time.Time
	)
	err := s.o.Conn.QueryRow(ctx, "SELECT request_id, kind, status, requested_by, detail, counts, remaining, started_at, finished_at FROM "+
		s.db+".privacy_requests WHERE request_id = ? ORDER BY version DESC LIMIT 1", id).
		Scan(&st.RequestID, &st.Kind, &st.Status, &st.RequestedBy, &st.Detail, &counts, &st.Remaining, &st.StartedAt, &finished)
	if err != nil {
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("read privacy_requests: %w", err)
	}
	var c struct {
		Deleted, Redacted, Found map[string]int
	}
	_ = json.Unmarshal([]byte(counts), &c)
	st.Deleted, st.Redacted, st.Found = c.Deleted, c.Redacted, c.Found
	if finished.Unix() > 0 {
		f := finished.UTC()
		st.FinishedAt = &f
	}
	st.StartedAt = st.StartedAt.UTC()
	return &st, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// DeletionHashes reads the subject hashes of every deletion request in
// privacy_requests of database (its newest version), by request id: what
// a running riskpipe forgets and, with suppress_deleted, suppresses, for
// deletions made by any process (the CLI, another riskpipe).
func DeletionHashes(ctx context.Context, conn driver.Conn, database string) (map[string][]string, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT request_id, argMax(subject_hashes, version) FROM %s.privacy_requests
WHERE kind = 'deletion' GROUP BY request_id`, "`"+database+"`"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id string
		var hashes []string
		if err := rows.Scan(&id, &hashes); err != nil {
			return nil, err
		}
		out[id] = hashes
	}
	return out, rows.Err()
}
