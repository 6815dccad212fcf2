package store

import (
	"context"
	"fmt"
)

// The read queries over event_type_counts (schema/001): polled events per
// day, type and verdict. The writer's side is tables.go (typeCountColumns,
// typeCountRows).

// Polled is how many events of tenant were polled, kept and dropped.
func (r *Reader) Polled(ctx context.Context, tenant string) (uint64, error) {
	var n uint64
	err := r.conn.QueryRow(ctx, "SELECT sum(events) FROM "+r.table("event_type_counts")+" WHERE tenant = ?", tenant).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count polled events: %w", err)
	}
	return n, nil
}
