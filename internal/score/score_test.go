package score

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// TestSingleSignal: one fresh signal of each kind, for a user seen long
// before (not new), gives 100·(1 − e^(−weight/50)).
func TestSingleSignal(t *testing.T) {
	tests := []struct {
		name      string
		give      ev
		wantScore float64
		wantLevel string
		wantExpl  string
	}{
		{"leaked credentials", ev{cat: event.CategoryLeakedCredentials}, 55.07, LevelHigh, "leaked_credentials 100%"},
		{"ITP HIGH", ev{cat: event.CategoryUserRisk, level: "HIGH"}, 55.07, LevelHigh, "user_risk:HIGH 100%"},
		{"ITP MEDIUM", ev{cat: event.CategoryUserRisk, level: "MEDIUM"}, 25.92, LevelMedium, "user_risk:MEDIUM 100%"},
		{"ITP LOW", ev{cat: event.CategoryUserRisk, level: "LOW"}, 0, "", ""},
		{"user report without level", ev{cat: event.CategoryUserRisk, typ: "user.account.report_suspicious_activity_by_enduser"}, 45.12, LevelHigh, "user_risk 100%"},
		{"ThreatInsight", ev{cat: event.CategoryThreatInsight}, 39.35, LevelMedium, "threat_insight 100%"},
		{"entity risk action", ev{cat: event.CategoryEntityRisk}, 32.97, LevelMedium, "entity_risk 100%"},
		{"entity risk evaluation", ev{cat: event.CategoryEntityRisk, typ: "policy.entity_risk.evaluate"}, 9.52, LevelLow, "entity_risk:evaluate 100%"},
		{"HIGH-risk sign-in", ev{cat: event.CategoryHighRisk, reasons: "Anomalous Location, Anomalous Device"}, 18.13, LevelLow, "high_risk 100%"},
		{"HIGH-risk sign-in, reasons only new", ev{cat: event.CategoryHighRisk, reasons: "New Device, New IP"}, 3.92, LevelLow, "high_risk:first_sign_in 100%"},
		{"HIGH-risk sign-in, new geo-location", ev{cat: event.CategoryHighRisk, reasons: " new geo-location "}, 3.92, LevelLow, "high_risk:first_sign_in 100%"},
		{"extra is not scored", ev{cat: event.CategoryExtra}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			e.ObservePage(seen(now.Add(-10*day), "u1", "u2"), nil, now)
			tt.give.id, tt.give.user, tt.give.at = "e1", "u1", now
			out := e.ObservePage(nil, events(tt.give), now)
			if tt.wantScore == 0 {
				require.Empty(t, out.Updates)
				require.Empty(t, e.Top(0, now))
				return
			}
			require.Len(t, out.Updates, 1)
			u := out.Updates[0]
			require.Equal(t, Update{
				Tenant: tenant, UpdatedAt: now,
				Factor: Factor{
					UserID: "u1", UserLogin: "u1@acme.example", Score: tt.wantScore, Percentile: 50,
					Level: tt.wantLevel, Signals: 1, Explanation: tt.wantExpl,
				},
				CauseEventID: "e1", CauseCategory: string(tt.give.cat),
			}, u)
		})
	}
}

func TestLevelBands(t *testing.T) {
	tests := []struct {
		give float64
		want string
	}{
		{0, LevelLow}, {19.99, LevelLow}, {20, LevelMedium}, {39.99, LevelMedium},
		{40, LevelHigh}, {64.99, LevelHigh}, {65, LevelCritical}, {100, LevelCritical},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, DefaultBands().Level(tt.give), "score %v", tt.give)
	}
}

// TestCombinations: repeats and mixes, hand-computed.
func TestCombinations(t *testing.T) {
	tests := []struct {
		name string
		give []ev
		want float64 // score
		expl string
	}{
		{"leaked + ITP HIGH is critical", []ev{
			{cat: event.CategoryLeakedCredentials}, {cat: event.CategoryUserRisk, level: "HIGH"},
		}, 69.88, "leaked_credentials 67%; user_risk:HIGH 33%"},
		{"two ThreatInsight: 25 + 12.5", []ev{
			{cat: event.CategoryThreatInsight, tx: "t1"}, {cat: event.CategoryThreatInsight, tx: "t2"},
		}, scoreOfX(37.5), "threat_insight x2 100%"},
		{"leaked + two ThreatInsight", []ev{
			{cat: event.CategoryLeakedCredentials}, {cat: event.CategoryThreatInsight}, {cat: event.CategoryThreatInsight},
		}, 69.12, "leaked_credentials 68%; threat_insight x2 32%"},
		{"one transaction counts once, at its strongest", []ev{
			{cat: event.CategoryHighRisk, tx: "t1"}, {cat: event.CategoryHighRisk, tx: "t1"},
			{cat: event.CategoryThreatInsight, tx: "t1"},
		}, 39.35, "threat_insight x3 100%"},
		{"different transactions add up", []ev{
			{cat: event.CategoryHighRisk, tx: "t1"}, {cat: event.CategoryHighRisk, tx: "t2"},
		}, scoreOfX(15), "high_risk x2 100%"},
		{"ITP level is not grouped with its transaction", []ev{
			{cat: event.CategoryUserRisk, level: "HIGH", tx: "t1"}, {cat: event.CategoryEntityRisk, tx: "t1"},
			{cat: event.CategoryEntityRisk, typ: "policy.entity_risk.evaluate", tx: "t1"},
		}, 63.21, "user_risk:HIGH 80%; entity_risk x2 20%"},
		{"ten HIGH-risk sign-ins stay below one leaked credential", func() []ev {
			var xs []ev
			for i := range 10 {
				xs = append(xs, ev{cat: event.CategoryHighRisk, tx: fmt.Sprint("t", i)})
			}
			return xs
		}(), scoreOfX(10 * (2 - 1.0/512)), "high_risk x10 100%"},
		{"four explained, one more", []ev{
			{cat: event.CategoryLeakedCredentials}, {cat: event.CategoryThreatInsight},
			{cat: event.CategoryEntityRisk}, {cat: event.CategoryHighRisk},
		}, scoreOfX(40 + 12.5 + 5 + 1.25), "leaked_credentials 68%; threat_insight 21%; entity_risk 9%; +1 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			e.ObservePage(seen(now.Add(-10*day), "u1"), nil, now)
			for i := range tt.give {
				tt.give[i].id, tt.give[i].user, tt.give[i].at = fmt.Sprint("e", i), "u1", now
			}
			e.ObservePage(nil, events(tt.give...), now)
			f := factors(e, now)["u1"]
			require.Equal(t, tt.want, f.Score)
			require.Equal(t, tt.expl, f.Explanation)
			require.Equal(t, uint32(len(tt.give)), f.Signals)
		})
	}
	require.Less(t, scoreOfX(10*(2-1.0/512)), 55.07)
}

// TestDecay: the weight halves every half-life; a score never grows
// without new signals.
func TestDecay(t *testing.T) {
	e := newEngine(t, Config{})
	e.ObservePage(seen(now.Add(-10*day), "u1"), events(ev{id: "e1", user: "u1", cat: event.CategoryLeakedCredentials, at: now}), now)
	tests := []struct {
		give time.Duration
		want float64
	}{
		{0, 55.07},
		{2 * day, 51.55},
		{4 * day, 48.12},
		{14 * day, 32.97},
		{28 * day, 18.13},
		{139 * day, scoreOfX(decayed(40, 139*day))},
		{140 * day, 0}, // beyond the horizon (10 half-lives)
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, scoreAt(e, "u1", now.Add(tt.give)), "after %s", tt.give)
	}
	prev := 101.0
	for d := time.Duration(0); d < 150*day; d += 7 * time.Hour {
		s := scoreAt(e, "u1", now.Add(d))
		require.LessOrEqual(t, s, prev, "after %s", d)
		prev = s
	}
	// Before it was published, the signal does not count.
	require.Equal(t, 0.0, scoreAt(e, "u1", now.Add(-time.Second)))
}

// TestPercentile: hand-computed small orgs. percentile = 100 · users with a
// strictly lower score / population.
func TestPercentile(t *testing.T) {
	type give struct {
		seen []SeenUser
		evs  []ev
	}
	recent := now.Add(-5 * day)
	tests := []struct {
		name string
		give give
		want map[string]float64 // user → percentile (absent: not ranked, score 0)
	}{
		{
			name: "six users, a tie, two without signal, one outside the window",
			give: give{
				seen: append(seen(recent, "a", "b", "c", "d", "e", "f"), seen(now.Add(-40*day), "ghost")...),
				evs: []ev{
					{user: "a", cat: event.CategoryLeakedCredentials},
					{user: "b", cat: event.CategoryThreatInsight},
					{user: "c", cat: event.CategoryThreatInsight},
					{user: "d", cat: event.CategoryHighRisk},
				},
			},
			want: map[string]float64{"a": 83.33, "b": 50, "c": 50, "d": 33.33},
		},
		{
			name: "a single user is above nobody",
			give: give{evs: []ev{{user: "a", cat: event.CategoryLeakedCredentials}}},
			want: map[string]float64{"a": 0},
		},
		{
			name: "all tied",
			give: give{evs: []ev{
				{user: "a", cat: event.CategoryThreatInsight}, {user: "b", cat: event.CategoryThreatInsight},
				{user: "c", cat: event.CategoryThreatInsight},
			}},
			want: map[string]float64{"a": 0, "b": 0, "c": 0},
		},
		{
			name: "a user not seen in the window but with a score is in the population",
			give: give{
				seen: seen(recent, "a", "e"),
				evs: []ev{
					{user: "a", cat: event.CategoryLeakedCredentials},
					{user: "g", cat: event.CategoryLeakedCredentials, at: now.Add(-42 * day)},
				},
			},
			want: map[string]float64{"a": 66.67, "g": 33.33},
		},
		{
			name: "ten users, three with signals",
			give: give{
				seen: seen(recent, "u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"),
				evs: []ev{
					{user: "u3", cat: event.CategoryHighRisk},
					{user: "u7", cat: event.CategoryHighRisk},
					{user: "u7", cat: event.CategoryUserRisk, level: "MEDIUM"},
					{user: "u9", cat: event.CategoryLeakedCredentials},
				},
			},
			want: map[string]float64{"u3": 70, "u7": 80, "u9": 90},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			for i := range tt.give.evs {
				tt.give.evs[i].id = fmt.Sprint("e", i)
				if tt.give.evs[i].at.IsZero() {
					tt.give.evs[i].at = now
				}
			}
			e.ObservePage(tt.give.seen, events(tt.give.evs...), now)
			got := map[string]float64{}
			for _, f := range e.Top(0, now) {
				got[f.UserID] = f.Percentile
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestFirstSignIn: a HIGH-risk sign-in is damped when the user is new (first
// seen at most 24 h before, and not merely first seen right after the
// integration), or when its only reasons are New Device/IP/Geo-Location.
func TestFirstSignIn(t *testing.T) {
	high := func(reasons string, at time.Time) ev {
		return ev{id: "s1", user: "u1", cat: event.CategoryHighRisk, reasons: reasons, at: at}
	}
	const damped, full = 3.92, 18.13
	tests := []struct {
		name       string
		integrated time.Time
		seen       []SeenUser // observed in a first page
		late       []SeenUser // observed after the sign-in
		give       ev
		reasons    []string // Config.FirstSignInReasons
		want       float64
	}{
		{"new hire: created 2 h before", integrated, seen(now.Add(-2*time.Hour), "u1"), nil,
			high("Anomalous Location", now), nil, damped},
		{"new hire, creation observed after the sign-in", integrated, nil, seen(now.Add(-2*time.Hour), "u1"),
			high("Anomalous Location", now), nil, damped},
		{"first seen by the sign-in itself", integrated, nil, nil,
			high("Anomalous Location", now), nil, damped},
		{"first seen exactly 24 h before", integrated, seen(now.Add(-24*time.Hour), "u1"), nil,
			high("Anomalous Location", now), nil, damped},
		{"first seen 25 h before", integrated, seen(now.Add(-25*time.Hour), "u1"), nil,
			high("Anomalous Location", now), nil, full},
		{"earlier sighting observed later undamps", integrated, seen(now.Add(-2*time.Hour), "u1"), seen(now.Add(-3*day), "u1"),
			high("Anomalous Location", now), nil, full},
		{"first seen within 24 h of the integration: not known to be new", now.Add(-30 * time.Hour), seen(now.Add(-20*time.Hour), "u1"), nil,
			high("Anomalous Location", now), nil, full},
		{"old user, reasons only new", integrated, seen(now.Add(-10*day), "u1"), nil,
			high("New Device, New IP", now), nil, damped},
		{"old user, a new and an anomalous reason", integrated, seen(now.Add(-10*day), "u1"), nil,
			high("New Device, Anomalous Device", now), nil, full},
		{"old user, no reasons", integrated, seen(now.Add(-10*day), "u1"), nil,
			high("", now), nil, full},
		{"reason rule off", integrated, seen(now.Add(-10*day), "u1"), nil,
			high("New Device, New IP", now), []string{}, full},
		{"custom reasons", integrated, seen(now.Add(-10*day), "u1"), nil,
			high("Impossible Travel", now), []string{"impossible travel"}, damped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(tenant, tt.integrated, Config{FirstSignInReasons: tt.reasons})
			require.NoError(t, err)
			e.ObservePage(tt.seen, nil, now)
			e.ObservePage(nil, events(tt.give), now)
			e.ObservePage(tt.late, nil, now)
			require.Equal(t, tt.want, scoreAt(e, "u1", now))
		})
	}
}

// TestITPLevel: the newest user_risk level (by published) is a state.
func TestITPLevel(t *testing.T) {
	lv := func(id, level string, ago time.Duration) ev {
		return ev{id: id, user: "u1", cat: event.CategoryUserRisk, level: level, at: now.Add(-ago)}
	}
	tests := []struct {
		name  string
		pages [][]ev
		want  float64
	}{
		{"MEDIUM", [][]ev{{lv("1", "MEDIUM", 0)}}, 25.92},
		{"MEDIUM then HIGH", [][]ev{{lv("1", "MEDIUM", 2*time.Hour)}, {lv("2", "HIGH", time.Hour)}}, scoreOfX(decayed(40, time.Hour))},
		{"HIGH then LOW clears", [][]ev{{lv("1", "HIGH", 2*time.Hour)}, {lv("2", "LOW", time.Hour)}}, 0},
		{"LOW arrives before an older HIGH", [][]ev{{lv("2", "LOW", time.Hour)}, {lv("1", "HIGH", 2*time.Hour)}}, 0},
		{"HIGH, LOW, MEDIUM", [][]ev{{lv("1", "HIGH", 3*time.Hour), lv("2", "LOW", 2*time.Hour), lv("3", "MEDIUM", time.Hour)}}, scoreOfX(decayed(15, time.Hour))},
		{"repeated HIGH is not a count", [][]ev{{lv("1", "HIGH", 0), lv("2", "HIGH", 0), lv("3", "HIGH", 0)}}, 55.07},
		{"HIGH re-asserted restarts the decay", [][]ev{{lv("1", "HIGH", 20*day), lv("2", "HIGH", 0)}}, 55.07},
		{"cleared level keeps the other signals", [][]ev{{lv("1", "HIGH", 2*time.Hour),
			{id: "x", user: "u1", cat: event.CategoryEntityRisk, at: now.Add(-2 * time.Hour)}}, {lv("2", "LOW", time.Hour)}},
			scoreOfX(decayed(20, 2*time.Hour))},
		{"many level events keep the newest", [][]ev{func() []ev {
			var xs []ev
			for i := range 20 {
				xs = append(xs, lv(fmt.Sprint("m", i), "MEDIUM", time.Duration(20+i)*time.Hour))
			}
			return append(xs, lv("h", "HIGH", 0))
		}()}, 55.07},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			e.ObservePage(seen(now.Add(-10*day), "u1"), nil, now)
			for _, p := range tt.pages {
				e.ObservePage(nil, events(p...), now)
			}
			require.Equal(t, tt.want, scoreAt(e, "u1", now))
			require.LessOrEqual(t, len(e.users["u1"].itp), maxITPEvents)
		})
	}
}

func TestIntegrationTime(t *testing.T) {
	e := newEngine(t, Config{})
	out := e.ObservePage(nil, events(
		ev{id: "old", user: "u1", cat: event.CategoryLeakedCredentials, at: integrated.Add(-time.Millisecond)},
		ev{id: "new", user: "u2", cat: event.CategoryLeakedCredentials, at: integrated},
	), integrated.Add(time.Minute))
	require.Len(t, out.Updates, 1)
	require.Equal(t, "u2", out.Updates[0].UserID)
	require.Equal(t, "new", out.Updates[0].CauseEventID)
	require.Equal(t, []Factor{out.Updates[0].Factor}, e.Top(0, integrated.Add(time.Minute)))
}

// TestUnusable: events that cannot be scored are skipped.
func TestUnusable(t *testing.T) {
	e := newEngine(t, Config{})
	bad := ev{id: "e1", user: "u1", cat: event.CategoryLeakedCredentials, at: now}.event()
	bad.PublishedNote = "unparseable published"
	noID := ev{user: "u1", cat: event.CategoryLeakedCredentials, at: now}.event()
	unknown := ev{id: "e2", user: "unknown", cat: event.CategoryLeakedCredentials, at: now}.event()
	other := ev{id: "e3", user: "u1", cat: "something_else", at: now}.event()
	out := e.ObservePage(nil, []event.Event{bad, noID, unknown, other}, now)
	require.Empty(t, out.Updates)
	require.Empty(t, out.Users)
	require.Equal(t, []OrgActivity{{Tenant: tenant, Bucket: now.Truncate(time.Hour), Category: "leaked_credentials", Signals: 1, Unattributed: 1}}, out.Activity)
}

// TestCause: a page's update names the event of the page worth most now.
func TestCause(t *testing.T) {
	e := newEngine(t, Config{})
	out := e.ObservePage(seen(now.Add(-10*day), "u1"), events(
		ev{id: "a", user: "u1", cat: event.CategoryHighRisk, at: now},
		ev{id: "b", user: "u1", cat: event.CategoryLeakedCredentials, at: now.Add(-day)},
		ev{id: "c", user: "u1", cat: event.CategoryThreatInsight, at: now},
	), now)
	require.Len(t, out.Updates, 1)
	require.Equal(t, "b", out.Updates[0].CauseEventID)
	require.Equal(t, "leaked_credentials", out.Updates[0].CauseCategory)
	// A LOW level that lowers the score is the cause of the drop.
	e.ObservePage(nil, events(ev{id: "h", user: "u1", cat: event.CategoryUserRisk, level: "HIGH", at: now}), now)
	out = e.ObservePage(nil, events(ev{id: "l", user: "u1", cat: event.CategoryUserRisk, level: "LOW", at: now.Add(time.Second)}), now.Add(time.Second))
	require.Len(t, out.Updates, 1)
	require.Equal(t, "l", out.Updates[0].CauseEventID)
	require.Equal(t, "user_risk", out.Updates[0].CauseCategory)
}

func TestAppendSeen(t *testing.T) {
	at := now
	tests := []struct {
		name string
		give event.Event
		want []SeenUser
	}{
		{"actor user", event.Event{Published: at, ActorType: "User", ActorID: "00u1", ActorLogin: "a@x"},
			[]SeenUser{{ID: "00u1", Login: "a@x", At: at}}},
		{"admin creates a user", event.Event{Published: at, ActorType: "User", ActorID: "00uA", ActorLogin: "admin@x",
			TargetUserID: "00uN", TargetUserLogin: "new@x"},
			[]SeenUser{{ID: "00uA", Login: "admin@x", At: at}, {ID: "00uN", Login: "new@x", At: at}}},
		{"system principal", event.Event{Published: at, ActorType: "SystemPrincipal", ActorID: "0oa1", TargetUserID: "00u1"},
			[]SeenUser{{ID: "00u1", At: at}}},
		{"unknown username", event.Event{Published: at, ActorType: "User", ActorID: "unknown", ActorLogin: "guess@x"}, nil},
		{"unparseable published", event.Event{Published: at, PublishedNote: "bad", ActorType: "User", ActorID: "00u1"}, nil},
		{"no user", event.Event{Published: at}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, AppendSeen(nil, &tt.give))
		})
	}
}

// TestOrgUsers: org_users rows for new users, earlier first sightings,
// login changes, and last_seen moved by a day (PopulationWindow/30) or more.
func TestOrgUsers(t *testing.T) {
	e := newEngine(t, Config{})
	t1 := now.Add(-5 * day)
	out := e.ObservePage(seen(t1, "b", "a"), nil, now)
	require.Equal(t, []OrgUser{
		{Tenant: tenant, UserID: "a", UserLogin: "a@acme.example", FirstSeen: t1, LastSeen: t1},
		{Tenant: tenant, UserID: "b", UserLogin: "b@acme.example", FirstSeen: t1, LastSeen: t1},
	}, out.Users)
	require.Empty(t, e.ObservePage(seen(t1.Add(23*time.Hour), "a"), nil, now).Users)
	require.Equal(t, []OrgUser{{Tenant: tenant, UserID: "a", UserLogin: "a@acme.example", FirstSeen: t1, LastSeen: t1.Add(day)}},
		e.ObservePage(seen(t1.Add(day), "a"), nil, now).Users)
	require.Equal(t, []OrgUser{{Tenant: tenant, UserID: "a", UserLogin: "a@acme.example", FirstSeen: t1.Add(-time.Minute), LastSeen: t1.Add(day)}},
		e.ObservePage(seen(t1.Add(-time.Minute), "a"), nil, now).Users)
	out = e.ObservePage([]SeenUser{{ID: "a", Login: "renamed@acme.example", At: t1.Add(day + time.Hour)}}, nil, now)
	require.Equal(t, []OrgUser{{Tenant: tenant, UserID: "a", UserLogin: "renamed@acme.example", FirstSeen: t1.Add(-time.Minute), LastSeen: t1.Add(day + time.Hour)}}, out.Users)
	// An older sighting with the old login does not rename back.
	require.Empty(t, e.ObservePage(seen(t1.Add(30*time.Minute), "a"), nil, now).Users)
	// Sightings older than the population window are ignored.
	require.Empty(t, e.ObservePage(seen(now.Add(-31*day), "c"), nil, now).Users)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	require.NoError(t, DefaultConfig().Validate())
	require.Equal(t, DefaultConfig(), Config{}.withDefaults())
	tests := []struct {
		name string
		give Config
		want []string
	}{
		{"negative durations", Config{HalfLife: -1, ActivityWindow: -time.Hour},
			[]string{"half_life: must not be negative", "activity_window: must not be negative"}},
		{"unknown and negative weights", Config{Weights: map[string]float64{"leaked": 1, KeyHighRisk: -1}},
			[]string{"weights.leaked: unknown key", "weights.high_risk: must be a finite number >= 0"}},
		{"damped above undamped", Config{Weights: map[string]float64{KeyFirstSignIn: 11}},
			[]string{"weights.high_risk:first_sign_in: must not exceed weights.high_risk"}},
		{"levels out of order", Config{Weights: map[string]float64{KeyUserRiskMedium: 50}},
			[]string{"weights.user_risk:MEDIUM: must not exceed weights.user_risk:HIGH"}},
		{"repeat factor", Config{RepeatFactor: 1.5}, []string{"repeat_factor: must be in (0, 1]"}},
		{"bands", Config{Bands: Bands{Medium: 50, High: 40, Critical: 90}}, []string{"bands: want 0 <= medium <= high"}},
		{"bucket", Config{ActivityBucket: 1500 * time.Millisecond}, []string{"activity_bucket: must be whole seconds"}},
		{"others", Config{Scale: -1, MaxSignalsPerUser: -1, MaterialChange: -1},
			[]string{"scale:", "max_signals_per_user:", "material_change:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give.Validate()
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			_, err = NewEngine(tenant, integrated, tt.give)
			require.Error(t, err)
		})
	}
	// A listed zero disables a key; unlisted keys keep their default.
	c := Config{Weights: map[string]float64{KeyHighRisk: 0, KeyFirstSignIn: 0}}.withDefaults()
	require.Equal(t, 0.0, c.Weights[KeyHighRisk])
	require.Equal(t, 40.0, c.Weights[KeyLeakedCredentials])
}

func TestRestoreSince(t *testing.T) {
	got := Config{}.RestoreSince(now)
	require.Equal(t, Since{
		Signals: now.Add(-140 * day),
		Events:  now.Add(-48 * time.Hour).Truncate(time.Hour),
		Users:   now.Add(-30 * day),
	}, got)
}
