package scenario

import (
	"encoding/json"
	"strings"
	"time"
)

// etype is an event type with the fields that come with it.
type etype struct {
	name, legacy, msg, severity string
}

var (
	etSessionStart     = etype{"user.session.start", "core.user_auth.login_success", "User login to Okta", "INFO"}
	etSessionStartFail = etype{"user.session.start", "core.user_auth.login_failed", "User login to Okta", "WARN"}
	etSessionEnd       = etype{"user.session.end", "core.user_auth.logout_success", "User logout from Okta", "INFO"}
	etSessionClear     = etype{"user.session.clear", "core.user_auth.session_clear", "Clear user session", "INFO"}
	etSSO              = etype{"user.authentication.sso", "app.auth.sso", "User single sign on to app", "INFO"}
	etMFA              = etype{"user.authentication.auth_via_mfa", "core.user.factor.attempt_success", "Authentication of user via MFA", "INFO"}
	etMFAFail          = etype{"user.authentication.auth_via_mfa", "core.user.factor.attempt_fail", "Authentication of user via MFA", "INFO"}
	etPolicy           = etype{"policy.evaluate_sign_on", "", "Evaluation of sign-on policy", "INFO"}
	etTokenAccess      = etype{"app.oauth2.as.token.grant.access_token", "app.oauth2.as.token.grant.access_token_success", "OAuth2 access token is granted", "INFO"}
	etTokenID          = etype{"app.oauth2.as.token.grant.id_token", "app.oauth2.as.token.grant.id_token_success", "OAuth2 id token is granted", "INFO"}
	etTokenRefresh     = etype{"app.oauth2.as.token.grant.refresh_token", "app.oauth2.as.token.grant.refresh_token_success", "OAuth2 refresh token is granted", "INFO"}
	etOrgToken         = etype{"app.oauth2.token.grant.access_token", "app.oauth2.token.grant.access_token_success", "OAuth2 access token is granted", "INFO"}
	etUserCreate       = etype{"user.lifecycle.create", "core.user.config.user_creation.success", "Create okta user", "INFO"}
	etUserActivate     = etype{"user.lifecycle.activate", "core.user.config.user_activated", "Activate Okta user", "INFO"}
	etUserSuspend      = etype{"user.lifecycle.suspend", "core.user.config.user_status.suspended", "Suspend Okta user", "INFO"}
	etUserUnsuspend    = etype{"user.lifecycle.unsuspend", "core.user.config.user_status.unsuspended", "Unsuspend Okta user", "INFO"}
	etProfileUpdate    = etype{"user.account.update_profile", "core.user.config.profile_update.success", "Update user profile for Okta", "INFO"}
	etGroupAdd         = etype{"group.user_membership.add", "core.user_group_member.user_add", "Add user to group membership", "INFO"}
	etAppAssign        = etype{"application.user_membership.add", "app.generic.provision.assign_user_to_app", "Add user to application membership", "INFO"}
	etRateWarn         = etype{"system.org.rate_limit.warning", "core.framework.ratelimit.warning", "Rate limit warning", "WARN"}
	etNewDeviceMail    = etype{"system.email.new_device_notification.sent_message", "", "Send user new device notification email", "INFO"}
	etThreat           = etype{"security.threat.detected", "security.threat.detected", "Request from suspicious actor", "WARN"}
	etAttackStart      = etype{"security.attack.start", "security.attack.start", "Okta ThreatInsight detected an attack on the org", "WARN"}
	etAttackEnd        = etype{"security.attack.end", "security.attack.end", "Okta ThreatInsight no longer detects an attack on the org", "INFO"}
	etBreached         = etype{"security.breached_credential.detected", "", "Credential set matches to known compromised credentials.", "WARN"}
	etRiskDetect       = etype{"user.risk.detect", "", "User risk detected", "WARN"}
	etRiskChange       = etype{"user.risk.change", "", "User risk changed", "WARN"}
	etEntityEval       = etype{"policy.entity_risk.evaluate", "", "Evaluate entity risk policy", "INFO"}
	etEntityAction     = etype{"policy.entity_risk.action", "", "Entity risk policy action invoked", "WARN"}
)

// riskSet is how a risk assessment appears in one event: debugData.risk,
// debugData.behaviors, debugData.logOnlySecurityData (already a JSON string
// literal, quotes included) and securityContext.risk (a JSON object).
// Empty members are left out.
type riskSet struct {
	risk, behaviors string
	logOnly         string
	sec             string
}

// Behavior strings in Okta's Java-map format.
const (
	behNone     = "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}"
	behDevice   = "{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}"
	behLocation = "{New Geo-Location=POSITIVE, New Device=NEGATIVE, New IP=POSITIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=POSITIVE}"
	behAbroad   = "{New Geo-Location=POSITIVE, New Device=NEGATIVE, New IP=POSITIVE, New State=POSITIVE, New Country=POSITIVE, Velocity=POSITIVE, New City=POSITIVE}"
	behHigh     = "{New Geo-Location=POSITIVE, New Device=POSITIVE, New IP=POSITIVE, New State=POSITIVE, New Country=POSITIVE, Velocity=POSITIVE, New City=POSITIVE}"
	behFirst    = "{New Geo-Location=POSITIVE, New Device=POSITIVE, New IP=POSITIVE, New State=POSITIVE, New Country=POSITIVE, Velocity=NEGATIVE, New City=POSITIVE}"
	behUnknown  = "{New Geo-Location=UNKNOWN, New Device=UNKNOWN, New IP=UNKNOWN, New State=BAD_REQUEST, New Country=BAD_REQUEST, Velocity=UNKNOWN, New City=BAD_REQUEST}"
)

// logOnly renders a logOnlySecurityData JSON string literal from a risk
// object and a behaviors map in Java-map format.
func logOnly(riskObj, beh string) string {
	var sb strings.Builder
	sb.WriteString(`{"risk":`)
	sb.WriteString(riskObj)
	sb.WriteString(`,"behaviors":{`)
	for k, kv := range strings.Split(strings.Trim(beh, "{}"), ", ") {
		name, val, _ := strings.Cut(kv, "=")
		if k > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + name + `":"` + val + `"`)
	}
	sb.WriteString("}}")
	q, err := json.Marshal(sb.String())
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(q)
}

var (
	rsLogOnlyLow = riskSet{logOnly: logOnly(`{"level":"LOW"}`, behNone)}
	rsLogOnlyNil = riskSet{logOnly: logOnly(`{}`, "{}")}
	rsLow        = riskSet{risk: "{level=LOW}", behaviors: behNone, sec: `{"level":"LOW"}`}
	rsMedDevice  = riskSet{risk: "{reasons=Anomalous Device, level=MEDIUM}", behaviors: behDevice,
		sec: `{"level":"MEDIUM","reasons":["Anomalous Device"]}`}
	rsMedLoc = riskSet{risk: "{reasons=Anomalous Location, level=MEDIUM}", behaviors: behLocation,
		sec: `{"level":"MEDIUM","reasons":["Anomalous Location"]}`}
	rsMedLogOnly = riskSet{logOnly: logOnly(`{"reasons":"Anomalous Device","level":"MEDIUM"}`, behDevice)}

	// A spray victim signing in from the proxy: new location, MEDIUM.
	rsSprayVictim = riskSet{risk: "{reasons=Anomalous Location, level=MEDIUM}", behaviors: behAbroad,
		sec: `{"level":"MEDIUM","reasons":["Anomalous Location"]}`}
	// HIGH-risk sign-in: every representation at once.
	rsHigh = riskSet{risk: "{reasons=Anomalous Location, Anomalous Device, level=HIGH}", behaviors: behHigh,
		logOnly: logOnly(`{"reasons":"Anomalous Location, Anomalous Device","level":"HIGH"}`, behHigh),
		sec:     `{"level":"HIGH","reasons":["Anomalous Location","Anomalous Device"]}`}
	// policy.evaluate_sign_on variants that carry HIGH in one place only.
	rsHighLogOnly = riskSet{behaviors: behHigh,
		logOnly: logOnly(`{"reasons":"Anomalous Location, Anomalous Device","level":"HIGH"}`, behHigh)}
	rsHighDebug = riskSet{risk: "{reasons=Anomalous Location, Anomalous Device, level=HIGH}", behaviors: behHigh}
	rsHighSec   = riskSet{behaviors: behHigh, sec: `{"level":"HIGH","reasons":["Anomalous Location","Anomalous Device"]}`}
	// Okta rates every new user's first sign-in HIGH.
	rsFirst = riskSet{risk: "{reasons=New Device, New IP, level=HIGH}", behaviors: behFirst,
		sec: `{"level":"HIGH","reasons":["New Device","New IP"]}`}
	// security.breached_credential.detected, as in Okta's workflow sample.
	rsBreached = riskSet{risk: "{reasons=Anomalous Location, Anomalous Device, level=HIGH}", behaviors: behUnknown}
)

// Precomputed authenticationContext openings, up to the session ids.
const (
	acNull   = `{"authenticationProvider":null,"credentialProvider":null,"credentialType":null,"issuer":null,"interface":null,"authenticationStep":0`
	acPwd    = `{"authenticationProvider":"OKTA_AUTHENTICATION_PROVIDER","credentialProvider":"OKTA_CREDENTIAL_PROVIDER","credentialType":"PASSWORD","issuer":null,"interface":null,"authenticationStep":0`
	acFactor = `{"authenticationProvider":"FACTOR_PROVIDER","credentialProvider":"OKTA_CREDENTIAL_PROVIDER","credentialType":null,"issuer":null,"interface":null,"authenticationStep":0`
	acOAuth  = `{"authenticationProvider":null,"credentialProvider":null,"credentialType":"OAuth 2.0","issuer":null,"interface":null,"authenticationStep":0`
)

// Session id kinds.
const (
	sessNone    = iota // "externalSessionId":null
	sessUnknown        // "externalSessionId":"unknown"
	sessIdx            // OIE session: rootSessionId and externalSessionId "idx..."
	sessTrs            // API token / service call: "trs..."
)

const (
	nullClient = `{"userAgent":null,"zone":null,"device":null,"id":null,"ipAddress":null,"geographicalContext":null}`
	nullSec    = `"asNumber":null,"asOrg":null,"isp":null,"domain":null,"isProxy":null`
	sysActor   = `{"id":"system@okta.com","type":"SystemPrincipal","alternateId":"system@okta.com","displayName":"Okta System","detailEntry":null}`
)

// head describes everything of an event before debugData.
type head struct {
	et    *etype
	actor []byte // nil with actorIP: the "IP address" actor of ThreatInsight
	// actorIP writes {"id":<ip>,"type":"IP address",...} instead of actor.
	actorIP bool
	// client is a clientHead fragment; nil writes a client of nulls (events
	// fired from Okta's internal context).
	client   []byte
	clientID string // "" → null
	at       loc
	device   []byte // nil → null
	ac       string // one of the ac* openings
	sessKind int
	sess     uint64
	result   string
	reason   string // "" → null
	severity string // "" → et.severity
	msgWho   string // written as "<msgWho> - <msg>" when set
	risk     *riskSet
	// txType is WEB unless set; txDetail is the inside of transaction.detail.
	txType, txDetail string
	tx               uint64 // transaction id and requestId
	fp               uint64 // which browser of the user: feeds debugData.deviceFingerprint
}

// writeHead writes the event up to and including `"debugData":{`.
func (s *Stream) writeHead(b []byte, g *gen, h *head) []byte {
	b = append(b, `{"actor":`...)
	if h.actorIP {
		b = append(b, `{"id":"`...)
		b = append(b, h.at.ip...)
		b = append(b, `","type":"IP address","alternateId":"unknown","displayName":"`...)
		b = append(b, h.at.ip...)
		b = append(b, `","detailEntry":null}`...)
	} else {
		b = append(b, h.actor...)
	}
	b = append(b, `,"client":`...)
	if h.client == nil {
		b = append(b, nullClient...)
	} else {
		b = append(b, h.client...)
		if h.clientID == "" {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = append(b, h.clientID...)
			b = append(b, '"')
		}
		b = append(b, `,"ipAddress":"`...)
		b = append(b, h.at.ip...)
		b = append(b, `","geographicalContext":`...)
		b = append(b, h.at.pl.geo...)
		b = append(b, '}')
	}
	b = append(b, `,"device":`...)
	if h.device == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, h.device...)
	}
	b = append(b, `,"authenticationContext":`...)
	b = append(b, h.ac...)
	switch h.sessKind {
	case sessNone:
		b = append(b, `,"externalSessionId":null}`...)
	case sessUnknown:
		b = append(b, `,"externalSessionId":"unknown"}`...)
	case sessIdx:
		b = append(b, `,"rootSessionId":"idx`...)
		b = appendB62(b, h.sess, 22)
		b = append(b, `","externalSessionId":"idx`...)
		b = appendB62(b, h.sess, 22)
		b = append(b, `"}`...)
	case sessTrs:
		b = append(b, `,"externalSessionId":"trs`...)
		b = appendB62(b, h.sess, 22)
		b = append(b, `"}`...)
	}
	b = append(b, `,"displayMessage":"`...)
	if h.msgWho != "" {
		b = append(b, h.msgWho...)
		b = append(b, " - "...)
	}
	b = append(b, h.et.msg...)
	b = append(b, `","eventType":"`...)
	b = append(b, h.et.name...)
	b = append(b, `","outcome":{"result":"`...)
	b = append(b, h.result...)
	b = append(b, `","reason":`...)
	if h.reason == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, h.reason...)
		b = append(b, '"')
	}
	b = append(b, `},"published":"`...)
	b = appendTime(b, g.pub)
	b = append(b, `","securityContext":{`...)
	if h.client == nil {
		b = append(b, nullSec...)
	} else {
		b = append(b, h.at.pl.sec...)
	}
	if h.risk != nil && h.risk.sec != "" {
		b = append(b, `,"risk":`...)
		b = append(b, h.risk.sec...)
	}
	b = append(b, `},"severity":"`...)
	if h.severity != "" {
		b = append(b, h.severity...)
	} else {
		b = append(b, h.et.severity...)
	}
	return append(b, `","debugContext":{"debugData":{`...)
}

// writeTail closes debugData and writes legacyEventType, transaction, uuid,
// version and request, up to and including `"target":[`.
func (s *Stream) writeTail(b []byte, g *gen, h *head) []byte {
	b = append(b, `}},"legacyEventType":`...)
	if h.et.legacy == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, h.et.legacy...)
		b = append(b, '"')
	}
	b = append(b, `,"transaction":{"type":"`...)
	if h.txType == "" {
		b = append(b, "WEB"...)
	} else {
		b = append(b, h.txType...)
	}
	b = append(b, `","id":"`...)
	b = appendHex32(b, h.tx)
	b = append(b, `","detail":{`...)
	b = append(b, h.txDetail...)
	b = append(b, `}},"uuid":"`...)
	g.uuidOff = len(b)
	b = appendUUID(b, g.uuidKey)
	b = append(b, `","version":"0","request":{"ipChain":[`...)
	if h.client != nil {
		b = append(b, `{"ip":"`...)
		b = append(b, h.at.ip...)
		b = append(b, `","geographicalContext":`...)
		b = append(b, h.at.pl.geo...)
		b = append(b, `,"version":"V4","source":null}`...)
	}
	return append(b, `]},"target":[`...)
}

// Debug data helpers. Each writes one member followed by a comma except
// dLast, which closes the list; the callers write members in Okta's
// (alphabetical) order.
func dStr(b []byte, k, v string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	b = append(b, `":"`...)
	b = append(b, v...)
	return append(b, `",`...)
}

func dHex32(b []byte, k string, h uint64) []byte {
	b = append(b, '"')
	b = append(b, k...)
	b = append(b, `":"`...)
	b = appendHex32(b, h)
	return append(b, `",`...)
}

func dHex64(b []byte, k string, h uint64) []byte {
	b = append(b, '"')
	b = append(b, k...)
	b = append(b, `":"`...)
	b = appendHex64(b, h)
	return append(b, `",`...)
}

// dRisk writes the debugData members of a risk set that sort before
// "requestId" (behaviors, logOnlySecurityData).
func dRiskA(b []byte, rs *riskSet) []byte {
	if rs == nil {
		return b
	}
	if rs.behaviors != "" {
		b = dStr(b, "behaviors", rs.behaviors)
	}
	if rs.logOnly != "" {
		b = append(b, `"logOnlySecurityData":`...)
		b = append(b, rs.logOnly...)
		b = append(b, ',')
	}
	return b
}

// dRiskB writes debugData.risk (sorts after "requestUri").
func dRiskB(b []byte, rs *riskSet) []byte {
	if rs == nil || rs.risk == "" {
		return b
	}
	return dStr(b, "risk", rs.risk)
}

// dThreat writes threatSuspected; it is the last member before url.
func dThreat(b []byte, suspected bool) []byte {
	if suspected {
		return append(b, `"threatSuspected":"true",`...)
	}
	return append(b, `"threatSuspected":"false",`...)
}

// dURL writes the last member, url.
func dURL(b []byte, url string) []byte {
	b = append(b, `"url":"`...)
	b = append(b, url...)
	return append(b, '"')
}

// Target helpers: each writes one target object; tSep goes between them.
func tSep(b []byte) []byte { return append(b, ',') }

func tEnroll(b []byte, id, name, detail string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"AuthenticatorEnrollment","alternateId":"unknown","displayName":"`...)
	b = append(b, name...)
	b = append(b, `","detailEntry":`...)
	if detail == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, detail...)
	}
	return append(b, '}')
}

func tAppUser(b []byte, p *person, app int) []byte {
	b = append(b, `{"id":"0ua`...)
	b = appendB62(b, hash2(p.key, uint64(100+app)), 17)
	b = append(b, `","type":"AppUser","alternateId":"`...)
	b = append(b, p.Login...)
	b = append(b, `","displayName":"`...)
	b = append(b, p.Name...)
	return append(b, `","detailEntry":null}`...)
}

// finish closes the target list and the event.
func finish(b []byte) []byte { return append(b, "]}"...) }

// gen is the per-event state.
type gen struct {
	i       int64
	r       rng
	pub     time.Time
	cycle   int64
	uuidKey uint64
	uuidOff int
}
