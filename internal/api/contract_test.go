package api

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDataContractQueries runs every ```sql block of docs/data-contract.md
// against the fixture, on the test's database instead of okta_risk.
func TestDataContractQueries(t *testing.T) {
	doc, err := os.ReadFile("../../docs/data-contract.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	require.GreaterOrEqual(t, len(blocks), 10)

	e := fixtureEnv(t)
	db := "`" + e.store.Database() + "`."
	withRows := 0
	for _, b := range blocks {
		query := strings.TrimSuffix(strings.TrimSpace(strings.ReplaceAll(b[1], "okta_risk.", db)), ";")
		require.NotContains(t, query, "okta_risk", "qualify tables as okta_risk.<table>")
		rows, err := e.store.Conn().Query(context.Background(), query)
		require.NoError(t, err, query)
		n := 0
		for rows.Next() {
			n++
		}
		require.NoError(t, rows.Err(), query)
		rows.Close()
		if n > 0 {
			withRows++
		}
	}
	require.GreaterOrEqual(t, withRows, 6, "most examples find the fixture's rows")
}
