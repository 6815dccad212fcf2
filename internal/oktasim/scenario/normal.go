package scenario

import "strconv"

const (
	oktaUAX    = "okta-auth-js/7.7.0 okta-signin-widget-7.21.0"
	ovPushInfo = `{"methodTypeUsed":"Get a push notification","methodUsedVerifiedProperties":"[DEVICE_BOUND, HARDWARE_PROTECTED, USER_PRESENCE]"}`
	ovFPInfo   = `{"methodTypeUsed":"Use Okta FastPass","methodUsedVerifiedProperties":"[DEVICE_BOUND, PHISHING_RESISTANT, USER_VERIFYING]"}`
	pwdInfo    = `{"methodTypeUsed":"Password","methodUsedVerifiedProperties":"[KNOWLEDGE]"}`
)

// signInURIs are the Identity Engine endpoints a sign-in ends on.
var signInURIs = [...][2]string{
	{"/idp/idx/identify", "/idp/idx/identify?"},
	{"/idp/idx/challenge/answer", "/idp/idx/challenge/answer?"},
	{"/idp/idx/authenticators/poll", "/idp/idx/authenticators/poll?"},
}

// normal renders the normal-traffic event i.
func (s *Stream) normal(b []byte, g *gen) []byte {
	u := s.people[g.r.intn(len(s.people))]
	x := g.r.intn(1000)
	switch {
	case x < 170:
		return s.nSessionStart(b, g, u, false)
	case x < 195:
		return s.nSessionStart(b, g, u, true)
	case x < 345:
		return s.nPolicy(b, g, u)
	case x < 585:
		return s.nSSO(b, g, u)
	case x < 705:
		return s.nMFA(b, g, u)
	case x < 765:
		return s.nSessionEnd(b, g, u)
	case x < 905:
		return s.nToken(b, g, u)
	case x < 965:
		return s.nAdmin(b, g, u)
	case x < 975:
		return s.nRateWarning(b, g)
	default:
		return s.nNewDeviceMail(b, g, u)
	}
}

// userSession fills the client part of h for a user's own request: mostly
// from the computer at home, sometimes from the phone.
func (s *Stream) userSession(g *gen, u *person, h *head) {
	if g.r.pct(20) {
		h.client, h.at, h.fp = u.mobile, u.phone, 1
		if g.r.pct(80) {
			h.device = u.mobileDev
		}
	} else {
		h.client, h.at = u.desk, u.home
		if g.r.pct(80) {
			h.device = u.deskDev
		}
	}
	h.sessKind = sessIdx
	h.sess = hash3(s.key, u.key, uint64(g.i/3000))
}

// normalRisk picks how risk shows on a normal sign-in: absent, LOW or
// MEDIUM, never HIGH.
func normalRisk(r *rng) *riskSet {
	switch x := r.intn(100); {
	case x < 35:
		return nil
	case x < 68:
		return &rsLogOnlyLow
	case x < 72:
		return &rsLogOnlyNil
	case x < 88:
		return &rsLow
	case x < 93:
		return &rsMedDevice
	case x < 96:
		return &rsMedLogOnly
	default:
		return &rsMedLoc
	}
}

func (s *Stream) nSessionStart(b []byte, g *gen, u *person, fail bool) []byte {
	h := head{et: &etSessionStart, actor: u.actor, ac: acNull, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
	h.risk = normalRisk(&g.r)
	uri := &signInURIs[g.r.intn(len(signInURIs))]
	if fail {
		h.et, h.ac, h.sessKind, h.result = &etSessionStartFail, acPwd, sessUnknown, "FAILURE"
		switch x := g.r.intn(100); {
		case x < 80:
			h.reason = "INVALID_CREDENTIALS"
		case x < 95:
			h.reason = "VERIFICATION_ERROR"
		default:
			h.reason = "LOCKED_OUT"
		}
		uri = &signInURIs[1]
	}
	return s.signIn(b, g, u, &h, uri, false)
}

// signIn writes a user.session.start body (debugData and targets).
func (s *Stream) signIn(b []byte, g *gen, u *person, h *head, uri *[2]string, suspected bool) []byte {
	b = s.writeHead(b, g, h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dRiskA(b, h.risk)
	b = dHex32(b, "deviceFingerprint", hash2(u.key, h.fp))
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "oktaUserAgentExtended", oktaUAX)
	b = dStr(b, "origin", s.origin)
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", uri[0])
	b = dRiskB(b, h.risk)
	b = dThreat(b, suspected)
	b = dURL(b, uri[1])
	b = s.writeTail(b, g, h)
	if uri == &signInURIs[2] && h.device != nil {
		b = tEnroll(b, u.ovID, "Okta Verify", ovFPInfo)
	} else {
		b = tEnroll(b, u.pwdID, "Password", pwdInfo)
	}
	b = tSep(b)
	b = append(b, s.dashboard...)
	return finish(b)
}

func (s *Stream) nPolicy(b []byte, g *gen, u *person) []byte {
	h := head{et: &etPolicy, actor: u.actor, ac: acNull, result: "ALLOW",
		reason: "Sign-on policy evaluation resulted in ALLOW", tx: g.r.next()}
	s.userSession(g, u, &h)
	if g.r.pct(15) {
		h.result, h.reason = "CHALLENGE", "Sign-on policy evaluation resulted in CHALLENGE"
	}
	h.risk = normalRisk(&g.r)
	if h.risk == nil {
		h.risk = &rsLogOnlyLow
	}
	return s.policyBody(b, g, u, &h, false)
}

// policyBody writes a policy.evaluate_sign_on body.
func (s *Stream) policyBody(b []byte, g *gen, u *person, h *head, suspected bool) []byte {
	b = s.writeHead(b, g, h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dRiskA(b, h.risk)
	b = dHex32(b, "deviceFingerprint", hash2(u.key, h.fp))
	b = dHex64(b, "dtHash", g.r.next())
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/identify")
	b = dRiskB(b, h.risk)
	b = dThreat(b, suspected)
	b = dURL(b, "/idp/idx/identify?")
	b = s.writeTail(b, g, h)
	b = append(b, s.signOnPolicy...)
	b = tSep(b)
	b = append(b, s.dashboard...)
	return finish(b)
}

func (s *Stream) nSSO(b []byte, g *gen, u *person) []byte {
	h := head{et: &etSSO, actor: u.actor, ac: acNull, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
	if g.r.pct(30) {
		h.risk = &rsLow
	}
	return s.ssoBody(b, g, u, &h, g.r.intn(len(apps)), false)
}

// ssoBody writes a user.authentication.sso body for app a.
func (s *Stream) ssoBody(b []byte, g *gen, u *person, h *head, a int, suspected bool) []byte {
	b = s.writeHead(b, g, h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dRiskA(b, h.risk)
	b = dHex64(b, "dtHash", g.r.next())
	if g.r.pct(60) {
		b = dStr(b, "initiationType", "IDP_INITIATED")
	} else {
		b = dStr(b, "initiationType", "SP_INITIATED")
	}
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", s.appURIs[a])
	b = dRiskB(b, h.risk)
	b = dStr(b, "signOnMode", apps[a].modeDebug)
	b = dThreat(b, suspected)
	b = dURL(b, s.appURLs[a])
	b = s.writeTail(b, g, h)
	b = append(b, s.appTargets[a]...)
	b = tSep(b)
	b = tAppUser(b, u, a)
	return finish(b)
}

func (s *Stream) nMFA(b []byte, g *gen, u *person) []byte {
	h := head{et: &etMFA, actor: u.actor, ac: acFactor, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
	if g.r.pct(5) {
		h.et, h.result, h.reason = &etMFAFail, "FAILURE", "INVALID_CREDENTIALS"
	}
	return s.mfaBody(b, g, u, &h)
}

// mfaBody writes a user.authentication.auth_via_mfa body (Okta Verify push).
func (s *Stream) mfaBody(b []byte, g *gen, u *person, h *head) []byte {
	b = s.writeHead(b, g, h)
	b = dHex32(b, "authnRequestId", g.r.next())
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "factor", "OKTA_VERIFY_PUSH")
	b = dStr(b, "factorIntent", "AUTHENTICATION")
	b = dStr(b, "oktaUserAgentExtended", oktaUAX)
	if h.result == "SUCCESS" {
		b = dStr(b, "pushOnlyResponseType", "OV_RESPONSE_APPROVE")
	} else {
		b = dStr(b, "pushOnlyResponseType", "OV_RESPONSE_REJECT")
	}
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/idp/idx/authenticators/poll")
	b = dThreat(b, false)
	b = dURL(b, "/idp/idx/authenticators/poll?")
	b = s.writeTail(b, g, h)
	b = append(b, u.actor...)
	b = tSep(b)
	b = tEnroll(b, u.ovID, "Okta Verify", ovPushInfo)
	return finish(b)
}

func (s *Stream) nSessionEnd(b []byte, g *gen, u *person) []byte {
	h := head{et: &etSessionEnd, actor: u.actor, ac: acNull, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
	b = s.writeHead(b, g, &h)
	b = dHex64(b, "dtHash", g.r.next())
	b = append(b, `"endedSessionId":"idx`...)
	b = appendB62(b, h.sess, 22)
	b = append(b, `",`...)
	b = dStr(b, "origin", s.origin)
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/login/signout")
	b = dThreat(b, false)
	b = dURL(b, s.signoutURL)
	b = s.writeTail(b, g, &h)
	b = append(b, u.actor...)
	b = tSep(b)
	b = append(b, s.dashboard...)
	return finish(b)
}

// nToken writes an OAuth 2.0 token grant: a user's app (authorization code,
// refresh) or a service app (client credentials on the org server).
func (s *Stream) nToken(b []byte, g *gen, u *person) []byte {
	x := g.r.intn(140)
	if x >= 120 {
		return s.nServiceToken(b, g)
	}
	// OIDC apps are the last ones in the apps table.
	a := len(apps) - 1 - g.r.intn(3)
	h := head{actor: s.appActors[a], clientID: s.appClientIDs[a], ac: acOAuth, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
	grant, ttype, tname, prefix := "authorization_code", "access_token", "Access Token", "AT."
	switch {
	case x < 60:
		h.et = &etTokenAccess
	case x < 100:
		h.et, ttype, tname, prefix = &etTokenID, "id_token", "ID Token", "ID."
	default:
		h.et, grant = &etTokenRefresh, "refresh_token"
		ttype, tname, prefix = "refresh_token", "Refresh Token", "rt."
	}
	b = s.writeHead(b, g, &h)
	b = dStr(b, "clientAuthType", "none")
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "grantType", grant)
	b = dStr(b, "grantedScopes", "openid, profile, email, offline_access")
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", s.asURI)
	b = dStr(b, "requestedScopes", "openid, profile, email, offline_access")
	b = dThreat(b, false)
	b = dURL(b, s.asURI+"?")
	b = s.writeTail(b, g, &h)
	b = append(b, s.asTarget...)
	b = tSep(b)
	return finish(s.tokenTarget(b, g, ttype, tname, prefix, u.ID))
}

// tokenTarget writes the token target of a grant event.
func (s *Stream) tokenTarget(b []byte, g *gen, ttype, tname, prefix, subject string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, prefix...)
	b = appendB62(b, g.r.next(), 43)
	b = append(b, `","type":"`...)
	b = append(b, ttype...)
	b = append(b, `","alternateId":"unknown","displayName":"`...)
	b = append(b, tname...)
	b = append(b, `","detailEntry":{"expires":"`...)
	b = appendTime(b, g.pub.Add(3600e9))
	b = append(b, `","subject":"`...)
	b = append(b, subject...)
	b = append(b, `","hash":"`...)
	b = appendB62(b, g.r.next(), 22)
	return append(b, `"}}`...)
}

func (s *Stream) nServiceToken(b []byte, g *gen) []byte {
	k := g.r.intn(len(s.svcActors))
	h := head{et: &etOrgToken, actor: s.svcActors[k], client: s.svcClients[k%len(s.svcClients)],
		clientID: s.svcClientIDs[k], at: s.svcLoc, ac: acOAuth, sessKind: sessUnknown,
		result: "SUCCESS", tx: g.r.next()}
	b = s.writeHead(b, g, &h)
	b = dStr(b, "clientAuthType", "private_key_jwt")
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "grantType", "client_credentials")
	b = dStr(b, "grantedScopes", "okta.users.read, okta.groups.read, okta.logs.read")
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/oauth2/v1/token")
	b = dStr(b, "requestedScopes", "okta.users.read, okta.groups.read, okta.logs.read")
	b = dThreat(b, false)
	b = dURL(b, "/oauth2/v1/token?")
	b = s.writeTail(b, g, &h)
	b = append(b, `{"id":"org","type":"AuthorizationServer","alternateId":"org","displayName":"org","detailEntry":{"authorizationServerType":"ORG"}},`...)
	return finish(s.tokenTarget(b, g, "access_token", "Access Token", "AT.", s.svcClientIDs[k]))
}

// adminHead fills h for a request of an admin from the Admin Console.
func (s *Stream) adminHead(g *gen, a *person, et *etype) head {
	h := head{et: et, actor: a.actor, client: a.desk, at: a.home, device: a.deskDev,
		ac: acNull, sessKind: sessIdx, sess: hash3(s.key, a.key, uint64(g.i/3000)), result: "SUCCESS", tx: g.r.next()}
	return h
}

// adminBody writes the debugData of an Admin Console API call, whose URI is
// uri0+id+uri1, and the tail.
func (s *Stream) adminBody(b []byte, g *gen, h *head, uri0, id, uri1 string) []byte {
	b = s.writeHead(b, g, h)
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "origin", s.origin)
	b = dStr(b, "privilegeGranted", "Super administrator")
	b = dHex32(b, "requestId", h.tx)
	b = append(b, `"requestUri":"`...)
	b = append(b, uri0...)
	b = append(b, id...)
	b = append(b, uri1...)
	b = append(b, `",`...)
	b = dThreat(b, false)
	b = append(b, `"url":"`...)
	b = append(b, uri0...)
	b = append(b, id...)
	b = append(b, uri1...)
	b = append(b, `?"`...)
	return s.writeTail(b, g, h)
}

func (s *Stream) nAdmin(b []byte, g *gen, u *person) []byte {
	a := s.admins[g.r.intn(len(s.admins))]
	h := s.adminHead(g, a, nil)
	switch x := g.r.intn(60); {
	case x < 20:
		h.et = &etProfileUpdate
		b = s.adminBody(b, g, &h, "/api/v1/users/", u.ID, "")
		b = append(b, u.actor...)
	case x < 40:
		h.et = &etGroupAdd
		gi := g.r.intn(len(s.groupTargets))
		b = s.adminBody(b, g, &h, "/api/v1/groups/users", "", "")
		b = append(b, u.actor...)
		b = tSep(b)
		b = append(b, s.groupTargets[gi]...)
	case x < 52:
		h.et = &etAppAssign
		ai := g.r.intn(len(apps))
		b = s.adminBody(b, g, &h, "/api/v1/apps/users", "", "")
		b = tAppUser(b, u, ai)
		b = tSep(b)
		b = append(b, s.appTargets[ai]...)
		b = tSep(b)
		b = append(b, u.actor...)
	case x < 56:
		h.et = &etUserSuspend
		b = s.adminBody(b, g, &h, "/api/v1/users/", u.ID, "/lifecycle/suspend")
		b = append(b, u.actor...)
	default:
		h.et = &etUserUnsuspend
		b = s.adminBody(b, g, &h, "/api/v1/users/", u.ID, "/lifecycle/unsuspend")
		b = append(b, u.actor...)
	}
	return finish(b)
}

func (s *Stream) nRateWarning(b []byte, g *gen) []byte {
	k := g.r.intn(len(s.svcActors))
	h := head{et: &etRateWarn, actor: s.svcActors[k], client: s.svcClients[k%len(s.svcClients)],
		at: s.svcLoc, ac: acNull, sessKind: sessTrs, sess: hash2(s.key, uint64(k)), result: "SUCCESS", tx: g.r.next(),
		txDetail: s.svcTxDetail[k]}
	b = s.writeHead(b, g, &h)
	b = dHex64(b, "dtHash", g.r.next())
	b = dStr(b, "rateLimitBucketUuid", "b192d91c-b242-36da-9332-d97a5579f865")
	b = dStr(b, "rateLimitScopeType", "ORG")
	b = dStr(b, "rateLimitSecondsToReset", strconv.Itoa(1+g.r.intn(59)))
	b = dHex32(b, "requestId", h.tx)
	b = dStr(b, "requestUri", "/api/v1/users")
	b = dStr(b, "threshold", "600")
	b = dStr(b, "timeSpan", "1")
	b = dStr(b, "timeUnit", "MINUTES")
	b = dStr(b, "userId", s.svcClientIDs[k])
	b = dStr(b, "warningPercent", "60")
	b = dURL(b, "/api/v1/users?limit=200&filter=status+eq+%22ACTIVE%22")
	b = s.writeTail(b, g, &h)
	b = append(b, `{"id":"/api/v1/users","type":"URL Pattern","alternateId":"unknown","displayName":"unknown","detailEntry":null},`...)
	b = append(b, `{"id":"b192d91c-b242-36da-9332-d97a5579f865","type":"Bucket Uuid","alternateId":"unknown","displayName":"unknown","detailEntry":null}`...)
	return finish(b)
}

func (s *Stream) nNewDeviceMail(b []byte, g *gen, u *person) []byte {
	h := head{et: &etNewDeviceMail, actor: u.actor, ac: acNull, result: "SUCCESS", tx: g.r.next()}
	s.userSession(g, u, &h)
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
