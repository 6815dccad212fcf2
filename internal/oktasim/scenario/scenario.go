// Package scenario generates the System Log stream of one simulated Okta org:
// normal sign-in, SSO, MFA, OAuth and admin traffic, plus (in the "demo"
// scenario) password spray, breached credentials, ITP user-risk, HIGH-risk
// sign-in and first-sign-in attacks placed at fixed positions.
//
// Nothing is stored per event. Event(i, persisted) derives event i from the
// Stream's seed and i alone, so the server can serve any index at any time,
// in any order, from many goroutines, and always get the same bytes. Truth
// and Expect are the oracle for end-to-end tests.
//
// # Layout of the "demo" scenario
//
// The stream repeats with period [DemoPeriod] (5,000 events). Within each
// cycle, at offsets (an offset already taken moves to the next free one):
//
//	100          security.attack.start
//	150 + 33k    security.threat.detected, k < 36, from the 4 spray IPs in turn;
//	             k = 7, 15, 23, 31 are ALLOW and are followed (next offset) by
//	             the user.session.start SUCCESS of spray victim k/8 sharing the
//	             threat event's transaction.id, and 3 later by its SSO; other
//	             k are DENY (even) or RATE_LIMIT (odd)
//	160 + 14k    failed user.session.start of spray target k (k < 80)
//	167 + 55k    failed user.session.start of an unknown username (k < 20)
//	1400         security.attack.end
//	1500 + 450j  security.breached_credential.detected of leaked user j (j < 4),
//	             user.session.clear with the same requestId 2 later
//	600 + 700j   new hire j (j < 6): user.lifecycle.create, activate (+3),
//	             group.user_membership.add (+6), first user.session.start
//	             rated HIGH (+60)
//	1700 + 480j  HIGH-risk sign-in of user j (j < 6): policy.evaluate_sign_on
//	             (HIGH), user.session.start (HIGH) +1, auth_via_mfa +2
//	2600 + 40j   ITP victim j (j < 6): user.risk.detect → MEDIUM
//	3300 + 40j   user.risk.detect → HIGH, policy.entity_risk.evaluate (+2) and
//	             .action TERMINATE_ALL_SESSIONS (+3), user.session.end (+6)
//	4200 + 40j   j = 4, 5 only: user.risk.change HIGH → LOW (an admin)
//
// Victims are the same users in every cycle (Truth); new hires are new users
// in every cycle ([Stream.NewHires]).
package scenario

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// Event is one System Log event as the API returns it.
//
// It is the simulator's event type, so a *Stream is an oktasim.Source.
type Event = oktasim.Event

// Options configure a Stream.
type Options struct {
	Org       string  // org name, used in domains/ids
	Seed      int64   // seeds the population and every event
	Users     int     // population size, default 500, at most 200,000
	Scenario  string  // "quiet" (normal traffic only), "demo" (normal + all attack scenarios), "bench" (normal + ~2% risk events spread evenly, for throughput tests)
	RiskShare float64 // for "bench": fraction of risk events (default 0.02)
	Domain    string  // e.g. acme.example.com (default <org>.example.com)
}

// Scenario names.
const (
	ScenarioQuiet = "quiet"
	ScenarioDemo  = "demo"
	ScenarioBench = "bench"
)

// maxUsers bounds the population (about 1 KB of precomputed JSON per user).
const maxUsers = 200_000

// DemoPeriod is the length of one cycle of the "demo" scenario.
const DemoPeriod = 5000

// The categories Expect reports (the values of event.Category).
const (
	CategoryUserRisk          = "user_risk"
	CategoryEntityRisk        = "entity_risk"
	CategoryThreatInsight     = "threat_insight"
	CategoryLeakedCredentials = "leaked_credentials"
	CategoryHighRisk          = "high_risk"
)

// User is one user of the org.
type User struct{ ID, Login, Name string }

// Truth says which users the attack scenarios of "demo" target. It is empty
// for "quiet" and "bench". The sets are disjoint and never hold an admin.
type Truth struct {
	// SprayVictims signed in successfully from a spray IP: each has a
	// user.session.start sharing transaction.id with an ALLOW
	// security.threat.detected (attribution by transaction).
	SprayVictims []User
	// SprayTargets only had failed sign-ins from the spray IPs (no
	// ThreatInsight event names them).
	SprayTargets []User
	// LeakedCredentialUsers have a security.breached_credential.detected.
	LeakedCredentialUsers []User
	// ITPHighUsers end every cycle at user risk HIGH.
	ITPHighUsers []User
	// ITPRecoveredUsers reach HIGH, then an admin lowers them to LOW.
	ITPRecoveredUsers []User
	// HighRiskSignInUsers sign in from abroad on a new device, rated HIGH.
	HighRiskSignInUsers []User
	// FirstSignInHighUsers are the new hires of the first cycle, whose first
	// sign-in Okta rates HIGH (a known false positive the attack factor must
	// damp). Later cycles hire other users: see Stream.NewHires.
	FirstSignInHighUsers []User
	// Admins act in the admin events.
	Admins []User
	// SprayIPs are the anonymizing-proxy addresses of the spray.
	SprayIPs []string
	// Period is the cycle length (DemoPeriod), 0 when nothing repeats.
	Period int64
}

// Stream is one org's event stream. It is immutable after New and safe for
// concurrent use.
type Stream struct {
	opt    Options
	key    uint64
	domain string
	origin string

	places map[string]*place
	logins map[string]bool
	people []*person
	users  []User
	admins []*person

	appTargets   [][]byte // AppInstance targets
	appURIs      []string // SSO requestUri per app
	appURLs      []string // SSO url per app
	appClientIDs []string
	appActors    [][]byte // the OIDC apps as PublicClientApp actors
	dashboard    []byte   // AppInstance target of the Okta Dashboard
	adminConsole []byte
	groupTargets [][]byte
	svcActors    [][]byte
	svcClients   [][]byte
	svcClientIDs []string
	svcTxDetail  []string // transaction.detail of their API-token calls
	svcLoc       loc
	orgASID      string
	asTarget     []byte // AuthorizationServer target (default custom AS)
	asURI        string
	signoutURL   string
	signOnPolicy []byte // PolicyEntity + PolicyRule targets (comma-joined)
	entityPolicy []byte // entity risk Policy target
	entityRule   []byte // entity risk Rule target (RuleAction TERMINATE_ALL_SESSIONS)

	sprayLocs     []loc
	sprayClients  [][]byte
	foreignLocs   []loc
	foreignClient [][]byte
	unknownActors [][]byte
	deskHeads     [][]byte // clientHead per desktop agent, shared by the users
	mobileHeads   [][]byte // clientHead per mobile agent

	plan  []int32 // demo: offset in cycle → index into descs, -1 = normal
	descs []desc
	// demo victims, by role (indexes into people)
	sprayVictims, sprayTargets, leaked, itp, high []int
	truth                                         Truth

	riskShare float64
	nonAdmin  []int

	hireMu    sync.Mutex
	hireCache map[int64][]*person

	bufs sync.Pool
}

// New builds the Stream for o: the population, the per-template fragments
// and (for "demo") the attack plan.
func New(o Options) (*Stream, error) {
	if o.Org == "" {
		return nil, errors.New("scenario: org is required")
	}
	if !safeName(o.Org) {
		return nil, fmt.Errorf("scenario: org %q: only letters, digits, '.', '-' and '_' allowed", o.Org)
	}
	if o.Domain == "" {
		o.Domain = o.Org + ".example.com"
	}
	if !safeName(o.Domain) {
		return nil, fmt.Errorf("scenario: domain %q: only letters, digits, '.', '-' and '_' allowed", o.Domain)
	}
	switch {
	case o.Users == 0:
		o.Users = 500
	case o.Users < 0:
		return nil, fmt.Errorf("scenario: users %d: must be positive", o.Users)
	case o.Users > maxUsers:
		return nil, fmt.Errorf("scenario: users %d: at most %d", o.Users, maxUsers)
	}
	if o.Scenario == "" {
		o.Scenario = ScenarioDemo
	}
	s := &Stream{
		opt:       o,
		key:       mix64(uint64(o.Seed)) ^ hashString(o.Org),
		domain:    o.Domain,
		origin:    "https://" + o.Org + ".okta.com",
		places:    map[string]*place{},
		logins:    map[string]bool{},
		hireCache: map[int64][]*person{},
	}
	switch o.Scenario {
	case ScenarioQuiet:
	case ScenarioDemo:
		if o.Users < minDemoUsers {
			return nil, fmt.Errorf("scenario: demo needs at least %d users, got %d", minDemoUsers, o.Users)
		}
	case ScenarioBench:
		if o.RiskShare == 0 {
			o.RiskShare = 0.02
		}
		if math.IsNaN(o.RiskShare) || o.RiskShare < 0 || o.RiskShare > 0.5 {
			return nil, fmt.Errorf("scenario: risk share %v: must be in [0, 0.5]", o.RiskShare)
		}
		if o.Users < 4 {
			return nil, fmt.Errorf("scenario: bench needs at least 4 users, got %d", o.Users)
		}
		s.riskShare = o.RiskShare
		s.opt.RiskShare = o.RiskShare
	default:
		return nil, fmt.Errorf("scenario: unknown scenario %q (want quiet, demo or bench)", o.Scenario)
	}
	s.build()
	if o.Scenario == ScenarioDemo {
		if err := s.buildDemo(); err != nil {
			return nil, err
		}
	}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return s, nil
}

func safeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// Users returns the population (the new hires of "demo" are not part of it).
func (s *Stream) Users() []User { return append([]User(nil), s.users...) }

// Truth returns the users the attack scenarios target.
func (s *Stream) Truth() Truth {
	t := s.truth
	c := func(u []User) []User { return append([]User(nil), u...) }
	t.SprayVictims, t.SprayTargets = c(t.SprayVictims), c(t.SprayTargets)
	t.LeakedCredentialUsers, t.ITPHighUsers = c(t.LeakedCredentialUsers), c(t.ITPHighUsers)
	t.ITPRecoveredUsers, t.HighRiskSignInUsers = c(t.ITPRecoveredUsers), c(t.HighRiskSignInUsers)
	t.FirstSignInHighUsers, t.Admins = c(t.FirstSignInHighUsers), c(t.Admins)
	t.SprayIPs = append([]string(nil), t.SprayIPs...)
	return t
}

// NewHires returns the users "demo" creates in the given cycle (event
// indexes [cycle*DemoPeriod, (cycle+1)*DemoPeriod)); nil for other scenarios.
func (s *Stream) NewHires(cycle int64) []User {
	if s.opt.Scenario != ScenarioDemo || cycle < 0 {
		return nil
	}
	var out []User
	for _, p := range s.hires(cycle) {
		out = append(out, p.User)
	}
	return out
}

// Event returns the i-th event (0-based) of the org's stream, persisted at
// persisted: `published` is persisted minus a small lag (0-2 s, sometimes
// 5-30 s), truncated to the millisecond. The same (Options, i, persisted)
// always give the same bytes. Negative i are treated as -i.
func (s *Stream) Event(i int64, persisted time.Time) Event {
	if i < 0 {
		i = -i
	}
	g := gen{i: i, r: newRng(hash2(s.key, uint64(i))), uuidKey: mix64(uint64(i) ^ s.key)}
	g.pub = published(&g.r, persisted)

	bp := s.bufs.Get().(*[]byte)
	b := s.render((*bp)[:0], &g)
	raw := make([]byte, len(b))
	copy(raw, b)
	*bp = b
	s.bufs.Put(bp)
	return Event{ID: string(raw[g.uuidOff : g.uuidOff+36]), Raw: raw, Published: g.pub}
}

// Published returns Event(i, persisted).Published without building the
// event (for servers that order by published).
func (s *Stream) Published(i int64, persisted time.Time) time.Time {
	if i < 0 {
		i = -i
	}
	r := newRng(hash2(s.key, uint64(i)))
	return published(&r, persisted)
}

// published draws the lag first from the event's generator, so Published
// and Event agree.
func published(r *rng, persisted time.Time) time.Time {
	return persisted.Add(-lag(r)).UTC().Truncate(time.Millisecond)
}

// lag is how long before being persisted an event was published: usually
// 0-2 s, for 3% of events 5-30 s (late events).
func lag(r *rng) time.Duration {
	if r.intn(100) < 3 {
		return 5*time.Second + time.Duration(r.intn(25000))*time.Millisecond
	}
	return time.Duration(r.intn(2000)) * time.Millisecond
}

// Expect reports what riskpipe should do with event i: the category it must
// be kept under, or "" if it must be dropped. The rule it encodes: the event
// types user.risk.detect/user.risk.change (user_risk),
// policy.entity_risk.* (entity_risk), security.threat.detected and
// security.attack.* (threat_insight), security.breached_credential.detected
// (leaked_credentials) are kept whatever their level; any other event is kept
// as high_risk when a risk level HIGH appears in debugData.risk,
// debugData.logOnlySecurityData or securityContext.risk. threatSuspected
// "true" alone does not keep an event.
func (s *Stream) Expect(i int64) string {
	if i < 0 {
		i = -i
	}
	d, ok := s.attackAt(i)
	if !ok {
		return ""
	}
	return d.kind.category()
}

// A Stream is what the simulator serves.
var _ oktasim.PublishedSource = (*Stream)(nil)
