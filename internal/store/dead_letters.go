package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The read queries over dead_letters (schema/001). The writer's side is
// tables.go (deadLetterColumns, deadLetterRows).

// DeadLetterBucket is how many distinct payloads of a tenant were
// dead-lettered in the bucket starting at Start.
type DeadLetterBucket struct {
	Start   time.Time
	Letters uint64
}

// DeadLetterCounts counts tenant's distinct dead letters (by fingerprint)
// received in [from, to) per bucket of step.
func (r *Reader) DeadLetterCounts(ctx context.Context, tenant string, from, to time.Time, step time.Duration) ([]DeadLetterBucket, error) {
	secs := uint32(step / time.Second)
	var out []DeadLetterBucket
	err := r.eachRow(ctx, fmt.Sprintf(`SELECT toUInt64(intDiv(toUInt32(received_at), ?) * ?) AS bucket, uniqExact(fingerprint)
FROM %s
WHERE tenant = ? AND received_at >= toDateTime(?) AND received_at < toDateTime(?)
GROUP BY bucket`, r.table("dead_letters")), []any{secs, secs, tenant, from.Unix(), to.Unix()}, func(rows driver.Rows) error {
		var bucket, dead uint64
		if err := rows.Scan(&bucket, &dead); err != nil {
			return err
		}
		out = append(out, DeadLetterBucket{Start: time.Unix(int64(bucket), 0), Letters: dead})
		return nil
	})
	return out, err
}
