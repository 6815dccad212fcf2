package scenario

import "encoding/json"

// render writes event g.i into b.
func (s *Stream) render(b []byte, g *gen) []byte {
	d, ok := s.attackAt(g.i)
	if !ok {
		return s.normal(b, g)
	}
	if s.opt.Scenario == ScenarioDemo {
		g.cycle = g.i / DemoPeriod
	}
	switch d.kind {
	case kAttackStart, kAttackEnd:
		return s.aAttack(b, g, d)
	case kThreat:
		return s.aThreat(b, g, d)
	case kSprayFail, kSprayUnknown:
		return s.aSprayFail(b, g, d)
	case kSprayVictimStart:
		return s.aSprayVictim(b, g, d)
	case kSprayVictimSSO:
		return s.aSprayVictimSSO(b, g, d)
	case kBreached:
		return s.aBreached(b, g, d)
	case kBreachedClear:
		return s.aBreachedClear(b, g, d)
	case kRiskDetect:
		return s.aRiskDetect(b, g, d)
	case kEntityEval, kEntityAction:
		return s.aEntity(b, g, d)
	case kRiskSessionEnd:
		return s.aRiskSessionEnd(b, g, d)
	case kHighPolicy, kHighStart, kHighMFA:
		return s.aHigh(b, g, d)
	case kHireCreate, kHireActivate, kHireGroup:
		return s.aHire(b, g, d)
	case kFirstSignIn:
		return s.aFirstSignIn(b, g, d)
	}
	return s.normal(b, g)
}

var sysActorJSON = []byte(sysActor)

// pairKey is the transaction (or trace) key shared by the events of one
// attack step in one cycle.
func (s *Stream) pairKey(g *gen, d desc) uint64 {
	return hash3(s.key, uint64(g.cycle), uint64(d.pair)+0x5061697273)
}

// ThreatInsight detections as Okta writes them: a JSON object in a string.
var threatDetections = [...]struct{ lit, reason string }{
	{quote(`{"Password Spray":"HIGH","Login failures with high unknown users count":"HIGH"}`),
		"Password Spray, Login failures with high unknown users count"},
	{quote(`{"Login failures with high unknown users count":"HIGH","Password Spray":"HIGH","Login Failures":"MEDIUM"}`),
		"Password Spray, Login failures with high unknown users count, Login Failures"},
	{quote(`{"Password Spray":"HIGH"}`), "Password Spray"},
}

func quote(s string) string {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(q)
}

// aAttack writes security.attack.start/end: fired from Okta's internal
// context, so no user, no client and no request. The debugData (the
// detections that raised the attack) is this simulator's choice: Okta does
// not document it.
func (s *Stream) aAttack(b []byte, g *gen, d desc) []byte {
	h := head{et: &etAttackStart, actor: sysActorJSON, ac: acNull, sessKind: sessNone, result: "SUCCESS",
		txType: "JOB", tx: hash3(s.key, uint64(g.cycle), 0x61747461636b+uint64(d.kind))}
	if d.kind == kAttackEnd {
		h.et = &etAttackEnd
	}
	b = s.writeHead(b, g, &h)
	b = append(b, `"threatDetections":`...)
	b = append(b, threatDetections[0].lit...)
	b = s.writeTail(b, g, &h)
	return finish(b)
}

func (s *Stream) sprayLoc(d desc) loc { return s.sprayLocs[int(d.n)%len(s.sprayLocs)] }

func (s *Stream) aThreat(b []byte, g *gen, d desc) []byte {
	td := &threatDetections[int(d.variant)%len(threatDetections)]
	h := head{et: &etThreat, actorIP: true, client: s.sprayClients[int(d.n)%len(s.sprayClients)],
		at: s.sprayLoc(d), ac: acNull, sessKind: sessUnknown, result: outcomeNames[d.outcome],
		reason: td.reason, tx: g.r.next()}
	if d.pair != 0 && s.opt.Scenario == ScenarioDemo {
		h.tx = s.pairKey(g, d)
	}
	b = s.writeHead(b, g, &h)
	b = dHex64(b, "dtHash", g.r.next())
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/identify")
	b = append(b, `"threatDetections":`...)
	b = append(b, td.lit...)
	b = append(b, ',')
	b = dThreat(b, true)
	b = dURL(b, "/idp/idx/identify?")
	b = s.writeTail(b, g, &h)
	return finish(b)
}

// aSprayFail writes a failed sign-in from a spray IP, for a real user or an
// unknown username.
func (s *Stream) aSprayFail(b []byte, g *gen, d desc) []byte {
	h := head{et: &etSessionStartFail, client: s.sprayClients[int(d.n)%len(s.sprayClients)],
		at: s.sprayLoc(d), ac: acPwd, sessKind: sessUnknown, result: "FAILURE", reason: "INVALID_CREDENTIALS", tx: g.r.next()}
	var u *person
	if d.kind == kSprayUnknown {
		h.actor = s.unknownActors[int(d.n)%len(s.unknownActors)]
		h.reason = "VERIFICATION_ERROR"
	} else {
		u = s.people[d.who]
		h.actor = u.actor
	}
	b = s.writeHead(b, g, &h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dHex32(b, "deviceFingerprint", hash2(s.key, uint64(d.n)%uint64(len(s.sprayClients))))
	b = dHex64(b, "dtHash", g.r.next())
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/identify")
	b = dThreat(b, true)
	b = dURL(b, "/idp/idx/identify?")
	b = s.writeTail(b, g, &h)
	if u != nil {
		b = tEnroll(b, u.pwdID, "Password", pwdInfo)
		b = tSep(b)
	}
	b = append(b, s.dashboard...)
	return finish(b)
}

// victimSession is the session a spray victim gets from the proxy.
func (s *Stream) victimSession(g *gen, u *person) uint64 {
	return hash3(s.key, u.key, uint64(g.cycle)+0x7370726179)
}

// aSprayVictim writes the spray victim's successful sign-in, in the same
// transaction as the ALLOW security.threat.detected.
func (s *Stream) aSprayVictim(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := head{et: &etSessionStart, actor: u.actor, client: s.sprayClients[1], at: s.sprayLoc(d), ac: acNull,
		sessKind: sessIdx, sess: s.victimSession(g, u), result: "SUCCESS", risk: &rsSprayVictim, tx: s.pairKey(g, d), fp: 7}
	return s.signIn(b, g, u, &h, &signInURIs[1], true)
}

func (s *Stream) aSprayVictimSSO(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := head{et: &etSSO, actor: u.actor, client: s.sprayClients[1], at: s.sprayLoc(d), ac: acNull,
		sessKind: sessIdx, sess: s.victimSession(g, u), result: "SUCCESS", tx: g.r.next()}
	return s.ssoBody(b, g, u, &h, 0, true)
}

// aBreached writes security.breached_credential.detected: the actor is the
// user whose password is in a breach, the target that password.
func (s *Stream) aBreached(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := head{et: &etBreached, actor: u.actor, client: u.desk, at: u.home, ac: acNull, sessKind: sessIdx,
		sess: hash3(s.key, u.key, uint64(g.i/3000)), result: "SUCCESS", msgWho: u.Login, risk: &rsBreached, tx: s.pairKey(g, d)}
	b = s.writeHead(b, g, &h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dRiskA(b, h.risk)
	b = dHex32(b, "deviceFingerprint", hash2(u.key, 0))
	b = dHex64(b, "dtHash", g.r.next())
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/challenge/answer")
	b = dRiskB(b, h.risk)
	b = dThreat(b, false)
	b = dURL(b, "/idp/idx/challenge/answer?")
	b = s.writeTail(b, g, &h)
	b = tEnroll(b, u.pwdID, "Password", "")
	return finish(b)
}

// aBreachedClear writes the user.session.clear breached credential
// protection fires; it shares the requestId of the detection.
func (s *Stream) aBreachedClear(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := head{et: &etSessionClear, actor: u.actor, client: u.desk, at: u.home, ac: acNull, sessKind: sessIdx,
		sess: hash3(s.key, u.key, uint64(g.i/3000)), result: "SUCCESS", tx: s.pairKey(g, d)}
	b = s.writeHead(b, g, &h)
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "origin", s.origin)
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/challenge/answer")
	b = dThreat(b, false)
	b = dURL(b, "/idp/idx/challenge/answer?")
	b = s.writeTail(b, g, &h)
	b = append(b, u.actor...)
	return finish(b)
}

// ITP detections per step.
var itpSteps = [...]struct {
	level              uint8
	detection, reasons string
}{
	{lvMedium, "Session Influenced User Risk", "Associated sessionId is suspected to be hijacked"},
	{lvHigh, "Suspicious login from an IP flagged in a credential based attack", "Sign-in from an IP address flagged by Okta ThreatInsight in a credential based attack"},
	{lvLow, "Admin Reported User Risk", "Admin set user risk to LOW after investigation"},
}

// itpRisk renders the risk of an ITP step for each previous level.
func itpRisk(prev uint8, step int) riskSet {
	st := &itpSteps[step]
	lv, pv := levelNames[st.level], levelNames[prev]
	return riskSet{
		risk: "{previousLevel=" + pv + ", level=" + lv + ", detectionName=" + st.detection +
			", reasons=" + st.reasons + ", issuer=OKTA}",
		sec: `{"level":"` + lv + `","previousLevel":"` + pv + `","detectionName":"` + st.detection +
			`","reasons":["` + st.reasons + `"],"issuer":"OKTA"}`,
	}
}

// itpRisks[step][prev] is precomputed for every combination.
var itpRisks = func() (t [3][4]riskSet) {
	for step := range t {
		for prev := lvLow; prev <= lvHigh; prev++ {
			t[step][prev] = itpRisk(prev, step)
		}
	}
	return t
}()

// itpPrev is the level before step of ITP victim n: victims that stay HIGH
// start later cycles from HIGH.
func (s *Stream) itpPrev(g *gen, d desc) uint8 {
	switch d.step {
	case 1:
		if g.cycle > 0 && int(d.n) < numITPSticky {
			return lvHigh
		}
		return lvMedium
	case 2:
		return lvHigh
	}
	if g.cycle > 0 && int(d.n) < numITPSticky {
		return lvHigh
	}
	return lvLow
}

// itpRiskSet is the risk an ITP event of step d.step reports.
func (s *Stream) itpRiskSet(g *gen, d desc) *riskSet {
	prev := s.itpPrev(g, d)
	if s.opt.Scenario == ScenarioBench && d.step == 1 {
		prev = lvLow + d.variant%2 // LOW or MEDIUM
	}
	rs := &itpRisks[d.step][prev]
	if d.step == 0 && prev == lvHigh {
		// The user's level stays HIGH; the new detection is reported at it.
		rs = &itpStayHigh
	}
	return rs
}

var itpStayHigh = riskSet{
	risk: "{previousLevel=HIGH, level=HIGH, detectionName=" + itpSteps[0].detection + ", reasons=" + itpSteps[0].reasons + ", issuer=OKTA}",
	sec: `{"level":"HIGH","previousLevel":"HIGH","detectionName":"` + itpSteps[0].detection +
		`","reasons":["` + itpSteps[0].reasons + `"],"issuer":"OKTA"}`,
}

// itpHead fills the common part of ITP events: the request the detection
// came from (the spray proxy for the HIGH step, else the user's own).
func (s *Stream) itpHead(g *gen, d desc, u *person, et *etype) head {
	h := head{et: et, actor: sysActorJSON, ac: acNull, sessKind: sessIdx,
		sess: hash3(s.key, u.key, uint64(g.i/3000)), result: "SUCCESS", tx: s.pairKey(g, d)}
	if d.step == 1 {
		h.client, h.at = s.sprayClients[1], s.sprayLoc(d)
	} else {
		h.client, h.at, h.device = u.desk, u.home, u.deskDev
	}
	return h
}

func (s *Stream) aRiskDetect(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := s.itpHead(g, d, u, &etRiskDetect)
	h.risk = s.itpRiskSet(g, d)
	if d.step == 2 {
		// An admin lowers the risk; legacy event type.
		a := s.admins[int(d.n)%len(s.admins)]
		h.et, h.actor, h.client, h.at, h.device = &etRiskChange, a.actor, a.desk, a.home, a.deskDev
		h.sess = hash3(s.key, a.key, uint64(g.i/3000))
		h.severity = "INFO"
	}
	b = s.writeHead(b, g, &h)
	if d.step == 1 {
		b = dStr(b, "behaviors", behAbroad)
	}
	b = dHex64(b, "dtHash", g.r.next())
	b = dHex32(b, "requestId", g.r.next())
	b = dRiskB(b, h.risk)
	b = dThreat(b, d.step == 1)
	b = append(b, `"traceId":"`...)
	b = appendUUIDFrom(b, h.tx)
	b = append(b, `"`...)
	b = s.writeTail(b, g, &h)
	b = append(b, u.actor...)
	return finish(b)
}

// aEntity writes policy.entity_risk.evaluate / .action of the HIGH step: the
// entity risk policy's rule terminates all of the user's sessions.
func (s *Stream) aEntity(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := s.itpHead(g, d, u, &etEntityEval)
	if d.kind == kEntityAction {
		h.et = &etEntityAction
	}
	h.risk = s.itpRiskSet(g, d)
	b = s.writeHead(b, g, &h)
	b = dStr(b, "behaviors", behAbroad)
	b = dHex64(b, "dtHash", g.r.next())
	if d.kind == kEntityAction {
		b = dStr(b, "policyAction", "TERMINATE_ALL_SESSIONS")
	}
	b = dHex32(b, "requestId", g.r.next())
	b = dRiskB(b, h.risk)
	b = dThreat(b, d.step == 1)
	b = append(b, `"traceId":"`...)
	b = appendUUIDFrom(b, h.tx)
	b = append(b, `"`...)
	b = s.writeTail(b, g, &h)
	b = append(b, u.actor...)
	b = tSep(b)
	b = append(b, s.entityPolicy...)
	b = tSep(b)
	b = append(b, s.entityRule...)
	return finish(b)
}

// aRiskSessionEnd writes the user.session.end of the terminated session.
func (s *Stream) aRiskSessionEnd(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	h := head{et: &etSessionEnd, actor: sysActorJSON, client: u.desk, at: u.home, ac: acNull, sessKind: sessIdx,
		sess: hash3(s.key, u.key, uint64(g.i/3000)), result: "SUCCESS", tx: s.pairKey(g, d)}
	b = s.writeHead(b, g, &h)
	b = dHex64(b, "dtHash", g.r.next())
	b = append(b, `"endedSessionId":"idx`...)
	b = appendB62(b, h.sess, 22)
	b = append(b, `",`...)
	b = dHex32(b, "requestId", g.r.next())
	b = dThreat(b, false)
	b = append(b, `"traceId":"`...)
	b = appendUUIDFrom(b, h.tx)
	b = append(b, `"`...)
	b = s.writeTail(b, g, &h)
	b = append(b, u.actor...)
	return finish(b)
}

// aHigh writes the HIGH-risk sign-in of a user from abroad on a new device:
// the sign-on policy evaluation, the session start and the MFA push the
// user approves.
func (s *Stream) aHigh(b []byte, g *gen, d desc) []byte {
	u := s.people[d.who]
	at := s.foreignLocs[int(d.n)%len(s.foreignLocs)]
	h := head{actor: u.actor, client: s.foreignClient[int(d.n)%len(s.foreignClient)], at: at, ac: acNull,
		sessKind: sessIdx, sess: hash3(s.key, u.key, uint64(g.cycle)+0x68696768), result: "SUCCESS", tx: g.r.next(), fp: 8}
	if d.pair != 0 && s.opt.Scenario == ScenarioDemo {
		h.tx = s.pairKey(g, d) // the three events are one sign-in flow
	}
	switch d.kind {
	case kHighPolicy:
		h.et, h.result, h.reason = &etPolicy, "CHALLENGE", "Sign-on policy evaluation resulted in CHALLENGE"
		h.risk = [...]*riskSet{&rsHighLogOnly, &rsHighDebug, &rsHighSec}[int(d.variant)%3]
		return s.policyBody(b, g, u, &h, false)
	case kHighStart:
		h.et, h.risk = &etSessionStart, &rsHigh
		return s.signIn(b, g, u, &h, &signInURIs[2], false)
	}
	h.et, h.ac = &etMFA, acFactor
	return s.mfaBody(b, g, u, &h)
}

// aHire writes the admin events that create a new hire.
func (s *Stream) aHire(b []byte, g *gen, d desc) []byte {
	p := s.hires(g.cycle)[d.who]
	a := s.admins[int(d.who)%len(s.admins)]
	h := s.adminHead(g, a, &etUserCreate)
	switch d.kind {
	case kHireCreate:
		b = s.adminBody(b, g, &h, "/api/v1/users", "", "")
		b = append(b, p.actor...)
	case kHireActivate:
		h.et = &etUserActivate
		b = s.adminBody(b, g, &h, "/api/v1/users/", p.ID, "/lifecycle/activate")
		b = append(b, p.actor...)
	default:
		h.et = &etGroupAdd
		b = s.adminBody(b, g, &h, "/api/v1/groups/users", "", "")
		b = append(b, p.actor...)
		b = tSep(b)
		b = append(b, s.groupTargets[int(d.variant)%len(s.groupTargets)]...)
	}
	return finish(b)
}

// aFirstSignIn writes a new hire's first sign-in, which Okta rates HIGH.
func (s *Stream) aFirstSignIn(b []byte, g *gen, d desc) []byte {
	p := s.hires(g.cycle)[d.who]
	h := head{et: &etSessionStart, actor: p.actor, client: p.desk, at: p.home, ac: acNull, sessKind: sessIdx,
		sess: hash3(s.key, p.key, 0x6669727374), result: "SUCCESS", risk: &rsFirst, tx: g.r.next()}
	return s.signIn(b, g, p, &h, &signInURIs[1], false)
}
