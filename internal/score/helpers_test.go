package score

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// integrated is the tenant's integration time in tests; now is long after.
var (
	integrated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now        = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
)

const tenant = "acme"

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(tenant, integrated, cfg)
	require.NoError(t, err)
	return e
}

// ev builds a kept event.
type ev struct {
	id, user, typ, level, reasons, tx string
	cat                               event.Category
	at                                time.Time
}

func (x ev) event() event.Event {
	e := event.Event{
		ID: x.id, Published: x.at, EventType: x.typ, Category: x.cat,
		UserID: x.user, RiskLevel: x.level, RiskReasons: x.reasons, TransactionID: x.tx,
	}
	if x.user != "" {
		e.UserLogin = x.user + "@acme.example"
	}
	if e.EventType == "" {
		e.EventType = defaultType[x.cat]
	}
	return e
}

var defaultType = map[event.Category]string{
	event.CategoryLeakedCredentials: "security.breached_credential.detected",
	event.CategoryThreatInsight:     "security.threat.detected",
	event.CategoryEntityRisk:        "policy.entity_risk.action",
	event.CategoryUserRisk:          "user.risk.detect",
	event.CategoryHighRisk:          "user.session.start",
	event.CategoryExtra:             "user.account.lock",
}

func events(xs ...ev) []event.Event {
	out := make([]event.Event, len(xs))
	for i, x := range xs {
		out[i] = x.event()
	}
	return out
}

// seen sights users at a time.
func seen(at time.Time, users ...string) []SeenUser {
	out := make([]SeenUser, len(users))
	for i, u := range users {
		out[i] = SeenUser{ID: u, Login: u + "@acme.example", At: at}
	}
	return out
}

// scoreOfX is the documented score of a weighted sum at the default scale.
func scoreOfX(x float64) float64 { return math.Round(100*(1-math.Exp(-x/50))*100) / 100 }

// decayed is weight w after age at the default half-life.
func decayed(w float64, age time.Duration) float64 {
	return w * math.Exp2(-float64(age)/float64(DefaultHalfLife))
}

// factors indexes Top's result by user.
func factors(e *Engine, at time.Time) map[string]Factor {
	out := map[string]Factor{}
	for _, f := range e.Top(0, at) {
		out[f.UserID] = f
	}
	return out
}

// scoreOf is one user's score at a time (0 when not in Top).
func scoreAt(e *Engine, user string, at time.Time) float64 {
	return factors(e, at)[user].Score
}

const day = 24 * time.Hour
