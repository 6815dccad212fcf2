package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// PollerStatus is one poller's health as its process last saw it: a row of
// poller_status (schema/003_poller_status.sql). Zero times mean "never".
type PollerStatus struct {
	Tenant              string
	State               string
	IntegratedAt        time.Time
	LastPoll            time.Time
	LastSuccess         time.Time
	LastCursorAdvance   time.Time
	NewestPublished     time.Time
	LastError           string
	ConsecutiveFailures int
	EventsPolled        uint64 // since StartedAt
	EventsKept          uint64 // since StartedAt
	// StartedAt is when the writing process started (the stall rule
	// counts from it too).
	StartedAt time.Time
	// UpdatedAt is when the row was written; WriteStatuses sets it when
	// zero.
	UpdatedAt time.Time
}

var pollerStatusColumns = []string{
	"tenant", "state", "integrated_at", "last_poll", "last_success", "last_cursor_advance", "newest_published",
	"last_error", "consecutive_failures", "events_polled", "events_kept", "started_at", "updated_at", "version",
}

// statusVersion is the last poller_status version written by this process:
// versions are the write time in nanoseconds, made strictly increasing, so
// a later write of the same tenant always wins.
var statusVersion atomic.Uint64

func nextStatusVersion(now time.Time) uint64 {
	for {
		last := statusVersion.Load()
		v := max(uint64(now.UnixNano()), last+1)
		if statusVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// WriteStatuses inserts one poller_status row per status, in one batch. It
// is independent of the Writer (the heartbeat must not queue behind the
// pollers' batches, nor they behind it). Errors are *RetryableError or
// *PermanentError.
func (s *Store) WriteStatuses(ctx context.Context, statuses []PollerStatus) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if len(statuses) == 0 {
		return nil
	}
	sc, err := sendContext(ctx, s.cfg.WriteTimeout)
	if err != nil {
		return classify(fmt.Errorf("write poller status: %w", err))
	}
	now := time.Now().UTC()
	_, err = s.sendBatch(sc, "INSERT INTO "+s.table("poller_status")+" ("+strings.Join(pollerStatusColumns, ", ")+")",
		func(add func(...any) error) error {
			for _, st := range statuses {
				updated := st.UpdatedAt
				if updated.IsZero() {
					updated = now
				}
				if err := add(st.Tenant, st.State, dateTime(st.IntegratedAt), dateTime(st.LastPoll), dateTime(st.LastSuccess),
					dateTime(st.LastCursorAdvance), dateTime(st.NewestPublished), st.LastError,
					uint32(max(0, st.ConsecutiveFailures)), st.EventsPolled, st.EventsKept, dateTime(st.StartedAt),
					dateTime(updated), nextStatusVersion(now)); err != nil {
					return fmt.Errorf("of %s: %w", st.Tenant, err)
				}
			}
			return nil
		})
	if err != nil {
		return classify(fmt.Errorf("write poller status: %w", err))
	}
	return nil
}

// PollersAlive counts the tenants whose poller status says a riskpipe
// run polls them now: not stopped, written within the last minute.
func (s *Store) PollersAlive(ctx context.Context) (uint64, error) {
	var alive uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.table("poller_status")+" FINAL WHERE state != 'stopped' AND updated_at > now() - 60").Scan(&alive)
	return alive, err
}

// LoadPollerStatuses returns every tenant's latest poller_status row, by
// tenant name.
func (s *Store) LoadPollerStatuses(ctx context.Context) ([]PollerStatus, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	// argMax by version works on 18.16 and current versions, merged or not.
	var sel strings.Builder
	sel.WriteString("SELECT tenant")
	for _, c := range pollerStatusColumns[1 : len(pollerStatusColumns)-1] {
		fmt.Fprintf(&sel, ", argMax(%s, version)", c)
	}
	sel.WriteString(" FROM " + s.table("poller_status") + " GROUP BY tenant ORDER BY tenant")
	rows, err := s.conn.Query(ctx, sel.String())
	if err != nil {
		return nil, classify(fmt.Errorf("load poller status: %w", err))
	}
	defer rows.Close()
	var out []PollerStatus
	for rows.Next() {
		var (
			st       PollerStatus
			failures uint32
		)
		times := []*time.Time{&st.IntegratedAt, &st.LastPoll, &st.LastSuccess, &st.LastCursorAdvance, &st.NewestPublished}
		if err := rows.Scan(&st.Tenant, &st.State, times[0], times[1], times[2], times[3], times[4], &st.LastError,
			&failures, &st.EventsPolled, &st.EventsKept, &st.StartedAt, &st.UpdatedAt); err != nil {
			return nil, classify(fmt.Errorf("load poller status: %w", err))
		}
		st.ConsecutiveFailures = int(failures)
		for _, t := range append(times, &st.StartedAt, &st.UpdatedAt) {
			*t = fromDateTime(*t)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("load poller status: %w", err))
	}
	return out, nil
}

// fromDateTime is the inverse of dateTime for "never": 1970-01-01 becomes
// the zero time; other times are returned in UTC.
func fromDateTime(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}
