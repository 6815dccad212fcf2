package scenario

import (
	"fmt"
	"math"
)

// kind is what an event of the plan is.
type kind uint8

const (
	kNormal kind = iota
	kAttackStart
	kAttackEnd
	kThreat
	kSprayFail
	kSprayUnknown
	kSprayVictimStart
	kSprayVictimSSO
	kBreached
	kBreachedClear
	kRiskDetect
	kEntityEval
	kEntityAction
	kRiskSessionEnd
	kHighPolicy
	kHighStart
	kHighMFA
	kHireCreate
	kHireActivate
	kHireGroup
	kFirstSignIn
)

// category is the category riskpipe must keep the event under ("" = drop).
func (k kind) category() string {
	switch k {
	case kAttackStart, kAttackEnd, kThreat:
		return CategoryThreatInsight
	case kBreached:
		return CategoryLeakedCredentials
	case kRiskDetect:
		return CategoryUserRisk
	case kEntityEval, kEntityAction:
		return CategoryEntityRisk
	case kHighPolicy, kHighStart, kFirstSignIn:
		return CategoryHighRisk
	}
	return ""
}

// Risk levels of ITP steps.
const (
	lvNone uint8 = iota
	lvLow
	lvMedium
	lvHigh
)

var levelNames = [...]string{"", "LOW", "MEDIUM", "HIGH"}

// Outcomes of ThreatInsight events.
const (
	outDeny uint8 = iota
	outRateLimit
	outAllow
)

var outcomeNames = [...]string{"DENY", "RATE_LIMIT", "ALLOW"}

// desc is one planned (attack-related) event.
type desc struct {
	kind    kind
	who     int32 // index into people; new-hire number for kHire*/kFirstSignIn; -1 none
	n       int16 // ordinal inside the scenario (spray IP, victim number, ...)
	outcome uint8
	step    uint8 // ITP step: 0 → MEDIUM, 1 → HIGH, 2 → LOW
	variant uint8
	pair    uint32 // shared transaction/trace key (0 = none)
}

// Sizes of the demo scenarios.
const (
	minDemoUsers   = 40
	numAdmins      = 3
	numSprayIPs    = 4
	numThreat      = 36
	numSprayVict   = 4
	maxSprayTarget = 80
	numUnknown     = len(guessedLogins)
	numLeaked      = 4
	numITP         = 6
	numITPSticky   = 4
	numHigh        = 6
	numHires       = 6
	hireSalt       = 0x4e657748697265 // "NewHire"
)

// buildDemo lays out one cycle of the demo scenario and fills Truth.
func (s *Stream) buildDemo() error {
	s.plan = make([]int32, DemoPeriod)
	for k := range s.plan {
		s.plan[k] = -1
	}
	var err error
	add := func(off int, d desc) int {
		for off < DemoPeriod && s.plan[off] >= 0 {
			off++
		}
		if off >= DemoPeriod {
			err = fmt.Errorf("scenario: demo plan overflows the cycle (kind %d)", d.kind)
			return off
		}
		s.plan[off] = int32(len(s.descs))
		s.descs = append(s.descs, d)
		return off
	}

	// Victims: a seeded shuffle of the non-admin users, cut into disjoint roles.
	pool := append([]int(nil), s.nonAdmin...)
	r := newRng(hash2(s.key, 0x76696374696d73))
	for k := len(pool) - 1; k > 0; k-- {
		j := r.intn(k + 1)
		pool[k], pool[j] = pool[j], pool[k]
	}
	take := func(n int) []int {
		out := pool[:n:n]
		pool = pool[n:]
		return out
	}
	s.sprayVictims = take(numSprayVict)
	s.leaked = take(numLeaked)
	s.itp = take(numITP)
	s.high = take(numHigh)
	s.sprayTargets = take(min(maxSprayTarget, len(pool)))

	// 1. Password spray.
	add(100, desc{kind: kAttackStart, who: -1})
	for k := 0; k < numThreat; k++ {
		d := desc{kind: kThreat, who: -1, n: int16(k % numSprayIPs), outcome: outDeny, variant: uint8(k % 3)}
		if k%2 == 1 {
			d.outcome = outRateLimit
		}
		if k%8 == 7 {
			v := k / 8
			d.outcome, d.pair = outAllow, uint32(1000+v)
			off := add(150+33*k, d)
			vs := add(off+1, desc{kind: kSprayVictimStart, who: int32(s.sprayVictims[v]), n: d.n, pair: d.pair})
			add(vs+3, desc{kind: kSprayVictimSSO, who: int32(s.sprayVictims[v]), n: d.n, pair: d.pair})
			continue
		}
		add(150+33*k, d)
	}
	for k, u := range s.sprayTargets {
		add(160+14*k, desc{kind: kSprayFail, who: int32(u), n: int16(k % numSprayIPs), variant: uint8(k % 7)})
	}
	for k := 0; k < numUnknown; k++ {
		add(167+55*k, desc{kind: kSprayUnknown, who: -1, n: int16(k)})
	}
	add(1400, desc{kind: kAttackEnd, who: -1})

	// 2. Breached credentials.
	for j, u := range s.leaked {
		off := add(1500+450*j, desc{kind: kBreached, who: int32(u), n: int16(j), pair: uint32(2000 + j)})
		add(off+2, desc{kind: kBreachedClear, who: int32(u), n: int16(j), pair: uint32(2000 + j)})
	}

	// 5. New hires and their first sign-in (rated HIGH by Okta).
	for j := 0; j < numHires; j++ {
		off := add(600+700*j, desc{kind: kHireCreate, who: int32(j)})
		add(off+3, desc{kind: kHireActivate, who: int32(j)})
		add(off+6, desc{kind: kHireGroup, who: int32(j), variant: uint8(j)})
		add(off+60, desc{kind: kFirstSignIn, who: int32(j)})
	}

	// 4. HIGH-risk sign-ins from abroad on a new device.
	for j, u := range s.high {
		off := add(1700+480*j, desc{kind: kHighPolicy, who: int32(u), n: int16(j), variant: uint8(j % 3), pair: uint32(3000 + j)})
		off = add(off+1, desc{kind: kHighStart, who: int32(u), n: int16(j), pair: uint32(3000 + j)})
		add(off+1, desc{kind: kHighMFA, who: int32(u), n: int16(j), pair: uint32(3000 + j)})
	}

	// 3. ITP: LOW → MEDIUM → HIGH (entity risk policy terminates sessions),
	// and for the last two victims back to LOW.
	for j, u := range s.itp {
		add(2600+40*j, desc{kind: kRiskDetect, who: int32(u), n: int16(j), step: 0, pair: uint32(4000 + 10*j)})
		pair := uint32(4000 + 10*j + 1)
		off := add(3300+40*j, desc{kind: kRiskDetect, who: int32(u), n: int16(j), step: 1, pair: pair})
		off = add(off+2, desc{kind: kEntityEval, who: int32(u), n: int16(j), step: 1, pair: pair})
		off = add(off+1, desc{kind: kEntityAction, who: int32(u), n: int16(j), step: 1, pair: pair})
		add(off+3, desc{kind: kRiskSessionEnd, who: int32(u), n: int16(j), pair: pair})
		if j >= numITPSticky {
			add(4200+40*j, desc{kind: kRiskDetect, who: int32(u), n: int16(j), step: 2, pair: uint32(4000 + 10*j + 2)})
		}
	}
	if err != nil {
		return err
	}

	users := func(idx []int) []User {
		out := make([]User, len(idx))
		for k, u := range idx {
			out[k] = s.people[u].User
		}
		return out
	}
	s.truth = Truth{
		SprayVictims:          users(s.sprayVictims),
		SprayTargets:          users(s.sprayTargets),
		LeakedCredentialUsers: users(s.leaked),
		ITPHighUsers:          users(s.itp[:numITPSticky]),
		ITPRecoveredUsers:     users(s.itp[numITPSticky:]),
		HighRiskSignInUsers:   users(s.high),
		FirstSignInHighUsers:  s.NewHires(0),
		Period:                DemoPeriod,
	}
	for _, a := range s.admins {
		s.truth.Admins = append(s.truth.Admins, a.User)
	}
	for _, l := range s.sprayLocs {
		s.truth.SprayIPs = append(s.truth.SprayIPs, l.ip)
	}
	return nil
}

// benchKinds rotate through the risk events of "bench".
var benchKinds = [...]desc{
	{kind: kThreat, outcome: outDeny},
	{kind: kBreached},
	{kind: kRiskDetect, step: 1},
	{kind: kEntityEval, step: 1},
	{kind: kHighStart},
	{kind: kThreat, outcome: outRateLimit, variant: 1},
	{kind: kRiskDetect, step: 0},
	{kind: kEntityAction, step: 1},
	{kind: kHighPolicy, variant: 1},
}

// attackAt returns the planned event at index i (i ≥ 0), if any.
func (s *Stream) attackAt(i int64) (desc, bool) {
	switch s.opt.Scenario {
	case ScenarioDemo:
		k := s.plan[i%DemoPeriod]
		if k < 0 {
			return desc{}, false
		}
		return s.descs[k], true
	case ScenarioBench:
		// Event i is the k-th risk event when floor((i+1)·share) steps up:
		// exactly ⌊n·share⌋ risk events among the first n, evenly spaced.
		lo := math.Floor(float64(i) * s.riskShare)
		if math.Floor(float64(i+1)*s.riskShare) == lo {
			return desc{}, false
		}
		k := uint64(lo)
		d := benchKinds[k%uint64(len(benchKinds))]
		h := hash2(s.key, k)
		d.who = int32(s.nonAdmin[h%uint64(len(s.nonAdmin))])
		d.n = int16((h >> 32) % 4)
		d.pair = uint32(k)
		d.variant = uint8((h >> 40) % 3)
		return d, true
	}
	return desc{}, false
}

// hires returns the new hires of a demo cycle, built on first use.
func (s *Stream) hires(c int64) []*person {
	s.hireMu.Lock()
	defer s.hireMu.Unlock()
	if h, ok := s.hireCache[c]; ok {
		return h
	}
	if len(s.hireCache) >= 64 {
		clear(s.hireCache)
	}
	taken := map[string]bool{}
	h := make([]*person, numHires)
	for j := range h {
		h[j] = s.newPerson(hash3(s.key, hireSalt+uint64(c), uint64(j)), taken, s.logins)
	}
	s.hireCache[c] = h
	return h
}
