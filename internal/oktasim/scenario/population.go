package scenario

import (
	"strconv"
	"strings"
)

// place is a network location with its JSON fragments precomputed:
// geographicalContext (an object) and the securityContext members.
type place struct {
	geo   []byte // {"city":...,"geolocation":{...}}
	sec   []byte // "asNumber":...,"isProxy":false (no braces)
	net   *network
	proxy bool
}

func newPlace(c city, n *network) *place {
	geo := `{"city":"` + c.name + `","state":"` + c.state + `","country":"` + c.country +
		`","postalCode":"` + c.postal + `","geolocation":{"lat":` + c.lat + `,"lon":` + c.lon + `}}`
	sec := `"asNumber":` + strconv.Itoa(n.asn) + `,"asOrg":"` + n.asOrg + `","isp":"` + n.isp +
		`","domain":"` + n.domain + `","isProxy":` + strconv.FormatBool(n.proxy)
	return &place{geo: []byte(geo), sec: []byte(sec), net: n, proxy: n.proxy}
}

// loc is where one request comes from.
type loc struct {
	ip string
	pl *place
}

// ipFor returns a stable public-looking IPv4 address of network n.
func ipFor(n *network, h uint64) string {
	h = mix64(h)
	return strconv.Itoa(n.ipA) + "." + strconv.Itoa(n.ipB) + "." +
		strconv.Itoa(int(h&0xFF)) + "." + strconv.Itoa(1+int((h>>8)%253))
}

// clientHead precomputes the start of a client object for an agent, up to
// and including `"id":`.
func clientHead(a *agent) []byte {
	return []byte(`{"userAgent":{"rawUserAgent":"` + a.raw + `","os":"` + a.os + `","browser":"` + a.browser +
		`"},"zone":"null","device":"` + a.device + `","id":`)
}

// deviceJSON is the top-level device object of a registered device
// (Okta Verify / FastPass), or nil when the agent has none.
func deviceJSON(a *agent, h uint64) []byte {
	if a.platform == "" {
		return nil
	}
	managed := h&1 == 0
	return []byte(`{"id":"` + oktaID("guo", h) + `","name":"` + a.model + `","os_platform":"` + a.platform +
		`","os_version":"` + a.version + `","managed":` + strconv.FormatBool(managed) +
		`,"registered":true,"device_integrator":null,"disk_encryption_type":"` + a.disk +
		`","screen_lock_type":"` + a.lock + `","jailbreak":false,"secure_hardware_present":true}`)
}

// person is one user with everything the events need precomputed.
type person struct {
	User
	actor []byte // {"id":"00u...","type":"User",...}: actor and target User alike
	home  loc
	phone loc
	// desk and mobile are the clientHead fragments of the user's computer and
	// phone; deskDev/mobileDev their device objects (nil when unregistered).
	desk, mobile       []byte
	deskDev, mobileDev []byte
	pwdID, ovID        string // AuthenticatorEnrollment ids (Password, Okta Verify)
	key                uint64 // per-user hash key
}

func userActor(id, login, name string) []byte {
	return []byte(`{"id":"` + id + `","type":"User","alternateId":"` + login + `","displayName":"` + name + `","detailEntry":null}`)
}

// newPerson derives a user from key k. Logins in taken or shared are
// avoided; the new login is added to taken.
func (s *Stream) newPerson(k uint64, taken, shared map[string]bool) *person {
	r := newRng(k)
	first := firstNames[r.intn(len(firstNames))]
	last := lastNames[r.intn(len(lastNames))]
	base := strings.ToLower(first) + "." + strings.ToLower(last)
	login := base + "@" + s.domain
	for n := 2; taken[login] || shared[login]; n++ {
		login = base + strconv.Itoa(n) + "@" + s.domain
	}
	taken[login] = true
	p := &person{key: k}
	p.ID = oktaID("00u", hash2(k, 1))
	p.Login = login
	p.Name = first + " " + last
	p.actor = userActor(p.ID, p.Login, p.Name)

	st := &sites[r.intn(len(sites))]
	if r.pct(75) { // most users are in the US sites, the others abroad
		st = &sites[r.intn(14)]
	}
	p.home = loc{ipFor(&networks[st.home], hash2(k, 2)), s.placeOf(st, false)}
	p.phone = loc{ipFor(&networks[st.mobile], hash2(k, 3)), s.placeOf(st, true)}

	dk, mk := r.intn(len(agents)), r.intn(len(mobileAgents))
	da, ma := &agents[dk], &mobileAgents[mk]
	p.desk, p.mobile = s.deskHeads[dk], s.mobileHeads[mk]
	if r.pct(70) {
		p.deskDev = deviceJSON(da, hash2(k, 4))
	}
	if r.pct(60) {
		p.mobileDev = deviceJSON(ma, hash2(k, 5))
	}
	p.pwdID = oktaID("lae", hash2(k, 6))
	p.ovID = oktaID("pfd", hash2(k, 7))
	return p
}

// placeOf returns the shared place of a site's home or mobile network.
func (s *Stream) placeOf(st *site, mobile bool) *place {
	n := st.home
	if mobile {
		n = st.mobile
	}
	key := st.city.name + "|" + strconv.Itoa(n)
	if pl, ok := s.places[key]; ok {
		return pl
	}
	// Only reached while New builds the Stream: every site's places are
	// created there, so later calls (new hires built on demand) only read.
	pl := newPlace(st.city, &networks[n])
	s.places[key] = pl
	return pl
}
