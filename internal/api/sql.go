package api

import "strings"

// in returns "(?, ?, ...)" for the values and appends them to args:
// clickhouse-go binds a slice as an array literal, which IN (...) rejects,
// and has(array, x) would not use the primary key. values must not be
// empty.
func in(args *[]any, values []string) string {
	for _, v := range values {
		*args = append(*args, v)
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")"
}
