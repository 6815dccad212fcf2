package respond

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agnivade/levenshtein"

	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// Candidate is an Okta user an external identity may name.
type Candidate struct {
	UserID      string   `json:"user_id"`
	UserLogin   string   `json:"user_login"`
	DisplayName string   `json:"display_name"`
	Confidence  float64  `json:"confidence"` // 0..1
	Reasons     []string `json:"reasons"`
	// Exact is set for an exact login, email or secondEmail match: the only
	// kind riskpipe acts on without a person choosing.
	Exact bool `json:"exact"`
	// Sources: org_users (users riskpipe has seen), okta (users search).
	Sources []string `json:"sources"`
}

// Matches are the candidates for an identity, best first, and what the
// org's identity_domains decided, if anything.
type Matches struct {
	Candidates []Candidate
	// Note says how the identity's domain was read: this org's (listed
	// in its identity_domains), or another org's (no candidates here).
	Note string
	// Elsewhere: another org claims the identity's domain.
	Elsewhere bool
}

// Confidence of each kind of match. Only the exact ones resolve an
// identity by themselves.
const (
	confLogin       = 1.0
	confEmail       = 0.95
	confSecondEmail = 0.9
	confDomainLogin = 0.8 // DOMAIN\user = the login's local part
	confDomainEmail = 0.75
	confUPNLocal    = 0.7 // user@other-domain: same local part
	confNameMax     = 0.6 // name similarity, scaled
	// confOwnDomain is added to a DOMAIN\user or UPN match whose Okta
	// login or email is in a domain the org claims (identity_domains):
	// a better guess, still a guess.
	confOwnDomain     = 0.05
	minNameSimilarity = 0.75
	maxCandidates     = 10
	// searchMax bounds the users one search expression reads, over
	// Okta's pages: Okta returns matches in its own order, not by how well
	// they match, so the best may be on a later page.
	searchMax          = 600
	orgUsersMatchLimit = 50
)

// identity is an external identity taken apart.
type identity struct {
	raw    string
	lower  string
	domain string // CORP of CORP\joren, example.com of a UPN
	local  string // joren; lower case
	email  bool   // has an @
	form   string // "DOMAIN\\user", "UPN/email" or "username"
}

func parseIdentity(s string) (identity, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 256 {
		return identity{}, fmt.Errorf("identity must be 1 to 256 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '"' {
			return identity{}, fmt.Errorf("identity must not contain control characters or quotes")
		}
	}
	id := identity{raw: s, lower: strings.ToLower(s), form: "username"}
	switch {
	case strings.Contains(s, `\`):
		d, u, _ := strings.Cut(id.lower, `\`)
		id.domain, id.local, id.form = d, u, `DOMAIN\user`
	case strings.Contains(s, "@"):
		i := strings.LastIndex(id.lower, "@")
		id.local, id.domain, id.email, id.form = id.lower[:i], id.lower[i+1:], true, "UPN/email"
	default:
		id.local = id.lower
	}
	if id.local == "" {
		return identity{}, fmt.Errorf("identity %q has no user part", s)
	}
	return id, nil
}

func localPart(s string) string {
	s = strings.ToLower(s)
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return s[:i]
	}
	return s
}

// person is one user seen by a source.
type person struct {
	id, login, email, secondEmail, first, last, display string
	source                                              string
}

func domainOf(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return strings.ToLower(s[i+1:])
	}
	return ""
}

// score rates how well p matches id. own are the org's identity_domains
// when id's domain is one of them (lower case), else nil.
func score(id identity, p person, own []string) Candidate {
	c := Candidate{UserID: p.id, UserLogin: p.login, DisplayName: p.display, Sources: []string{p.source}}
	add := func(conf float64, exact bool, reason string) {
		c.Reasons = append(c.Reasons, reason)
		if conf > c.Confidence {
			c.Confidence = conf
		}
		c.Exact = c.Exact || exact
	}
	eq := func(a string) bool { return a != "" && strings.ToLower(a) == id.lower }
	if eq(p.login) {
		add(confLogin, true, "exact login")
	}
	if eq(p.email) {
		add(confEmail, true, "exact email")
	}
	if eq(p.secondEmail) {
		add(confSecondEmail, true, "exact secondEmail")
	}
	if !c.Exact {
		switch {
		case id.form == `DOMAIN\user` && p.login != "" && localPart(p.login) == id.local:
			add(confDomainLogin, false, `DOMAIN\user equals the login's local part`)
		case id.form == `DOMAIN\user` && p.email != "" && localPart(p.email) == id.local:
			add(confDomainEmail, false, `DOMAIN\user equals the email's local part`)
		case id.email && p.login != "" && localPart(p.login) == id.local:
			add(confUPNLocal, false, "UPN local part equals the login's local part")
		case id.email && p.email != "" && localPart(p.email) == id.local:
			add(confUPNLocal, false, "UPN local part equals the email's local part")
		case id.email && p.secondEmail != "" && localPart(p.secondEmail) == id.local:
			add(confUPNLocal, false, "UPN local part equals the secondEmail's local part")
		}
		if c.Confidence > 0 && own != nil {
			for _, d := range []string{domainOf(p.login), domainOf(p.email)} {
				if d != "" && slices.Contains(own, d) {
					add(c.Confidence+confOwnDomain, false, "in "+d+", a domain this org claims")
					break
				}
			}
		}
	}
	if sim := nameSimilarity(id.local, p); sim >= minNameSimilarity && c.Confidence < confNameMax {
		add(round2(confNameMax*sim), false, "name similarity "+strconv.FormatFloat(round2(sim), 'f', 2, 64))
	}
	c.Confidence = round2(c.Confidence)
	return c
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// nameSimilarity compares the identity's user part with the person's
// names and login local part as letters only (joren.maes, jmaes, maesj),
// 1 - Levenshtein distance / length.
func nameSimilarity(local string, p person) float64 {
	norm := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	x := norm(local)
	if x == "" {
		return 0
	}
	first, last := norm(p.first), norm(p.last)
	var forms []string
	if first != "" && last != "" {
		forms = append(forms, first+last, last+first, first[:1]+last, last+first[:1])
	}
	if l := norm(localPart(p.login)); l != "" {
		forms = append(forms, l)
	}
	best := 0.0
	for _, f := range forms {
		d := levenshtein.ComputeDistance(x, f)
		sim := 1 - float64(d)/float64(max(len(x), len(f)))
		best = max(best, sim)
	}
	return best
}

// claimant is the tenant whose identity_domains claim domain (lower
// case), or "" (config validation makes a domain belong to one tenant).
func (s *Service) claimant(domain string) string {
	for name, t := range s.tenantMap() {
		for _, d := range t.cfg.IdentityDomains {
			if strings.EqualFold(d, domain) {
				return name
			}
		}
	}
	return ""
}

// matchIdentity returns candidates for raw, best first. An identity whose
// domain (CORP of CORP\joren, corp.example of a UPN) another org claims
// in its identity_domains has none here, and neither source is asked.
func (s *Service) matchIdentity(ctx context.Context, t *tenant, raw string) (Matches, error) {
	id, err := parseIdentity(raw)
	if err != nil {
		return Matches{}, &InputError{Msg: err.Error()}
	}
	var (
		m   Matches
		own []string
	)
	if id.domain != "" {
		switch owner := s.claimant(id.domain); {
		case owner != "" && owner != t.name:
			m.Elsewhere = true
			m.Note = fmt.Sprintf("domain %s is claimed by another org (tenants[].response.identity_domains): no candidates in %s", id.domain, t.name)
			return m, nil
		case owner == t.name:
			for _, d := range t.cfg.IdentityDomains {
				own = append(own, strings.ToLower(d))
			}
			m.Note = fmt.Sprintf("domain %s is this org's (identity_domains)", id.domain)
		}
	}
	var people []person
	seen, err := s.orgUsers(ctx, t.name, id)
	if err != nil {
		return Matches{}, err
	}
	people = append(people, seen...)
	// Not while the credential lacks what the search needs (permission.go).
	if t.okta != nil && s.blocked(t.name, privilege.FeatureIdentity) == "" {
		found, err := s.searchOkta(ctx, t, id)
		if err != nil && !s.denied(t.name, privilege.FeatureIdentity, err) {
			return Matches{}, fmt.Errorf("okta users search: %w", err)
		}
		people = append(people, found...)
	}
	byID := map[string]*Candidate{}
	var order []string
	for _, p := range people {
		c := score(id, p, own)
		if c.Confidence == 0 {
			continue
		}
		prev := byID[c.UserID]
		if prev == nil {
			byID[c.UserID] = &c
			order = append(order, c.UserID)
			continue
		}
		// The same user from both sources: keep the better reading.
		if c.DisplayName != "" {
			prev.DisplayName = c.DisplayName
		}
		if c.UserLogin != "" {
			prev.UserLogin = c.UserLogin
		}
		for _, r := range c.Reasons {
			if !slices.Contains(prev.Reasons, r) {
				prev.Reasons = append(prev.Reasons, r)
			}
		}
		for _, src := range c.Sources {
			if !slices.Contains(prev.Sources, src) {
				prev.Sources = append(prev.Sources, src)
			}
		}
		prev.Confidence = max(prev.Confidence, c.Confidence)
		prev.Exact = prev.Exact || c.Exact
	}
	out := make([]Candidate, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		return cmp.Compare(a.UserLogin, b.UserLogin)
	})
	if len(out) > maxCandidates {
		out = out[:maxCandidates]
	}
	m.Candidates = out
	return m, nil
}

// orgUsers are the users riskpipe has seen whose login could match.
func (s *Service) orgUsers(ctx context.Context, tenant string, id identity) ([]person, error) {
	if s.audit == nil {
		return nil, nil
	}
	like := func(x string) string {
		return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(x)
	}
	q := fmt.Sprintf(`SELECT user_id, argMax(user_login, version) AS login FROM %s.org_users
WHERE tenant = ? GROUP BY user_id
HAVING lower(login) = ? OR lower(login) LIKE ? OR lower(login) LIKE ?
ORDER BY login, user_id LIMIT %d`, s.audit.db, orgUsersMatchLimit)
	rows, err := s.audit.conn.Query(ctx, q, tenant, id.lower, like(id.local)+"@%", "%"+like(id.local)+"%")
	if err != nil {
		return nil, fmt.Errorf("org_users: %w", err)
	}
	defer rows.Close()
	var out []person
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.id, &p.login); err != nil {
			return nil, err
		}
		p.source = "org_users"
		if strings.Contains(p.login, "@") {
			p.email = "" // a login is not known to be an email
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// searchOkta asks Okta's users search (okta.users.read) for the users the
// identity could name: exact login/email/secondEmail, and users whose
// login or email starts with its user part.
func (s *Service) searchOkta(ctx context.Context, t *tenant, id identity) ([]person, error) {
	q := strconv.Quote
	var exprs []string
	if id.email {
		exprs = append(exprs, fmt.Sprintf(`profile.login eq %s or profile.email eq %s or profile.secondEmail eq %s`, q(id.raw), q(id.raw), q(id.raw)))
	}
	exprs = append(exprs, fmt.Sprintf(`profile.login sw %s or profile.email sw %s or profile.secondEmail sw %s`,
		q(id.local), q(id.local), q(id.local)))
	if len([]rune(id.local)) >= 3 {
		pre := string([]rune(id.local)[:3])
		exprs = append(exprs, fmt.Sprintf(`profile.firstName sw %s or profile.lastName sw %s`, q(pre), q(pre)))
	}
	if first, last, ok := splitName(id.local); ok {
		exprs = append(exprs, fmt.Sprintf(`profile.firstName eq %s and profile.lastName eq %s`, q(first), q(last)))
	} else if !id.email {
		exprs = append(exprs, fmt.Sprintf(`profile.login eq %s`, q(id.raw)))
	}
	var out []person
	for _, e := range exprs {
		us, err := t.okta.SearchUsers(ctx, e, s.searchPage, searchMax)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out = append(out, oktaPerson(u))
		}
	}
	return out, nil
}

// splitName reads "first.last" / "first_last" / "first-last".
func splitName(local string) (string, string, bool) {
	for _, sep := range []string{".", "_", "-", " "} {
		if f, l, ok := strings.Cut(local, sep); ok && f != "" && l != "" && !strings.ContainsAny(l, "._- ") {
			return f, l, true
		}
	}
	return "", "", false
}

func oktaPerson(u okta.User) person {
	display := u.Profile.DisplayName
	if display == "" {
		display = strings.TrimSpace(u.Profile.FirstName + " " + u.Profile.LastName)
	}
	return person{id: u.ID, login: u.Profile.Login, email: u.Profile.Email, secondEmail: u.Profile.SecondEmail,
		first: u.Profile.FirstName, last: u.Profile.LastName, display: display, source: "okta"}
}
