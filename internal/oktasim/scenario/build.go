package scenario

// build creates the population and every precomputed fragment the events
// are assembled from.
func (s *Stream) build() {
	for k := range sites {
		s.placeOf(&sites[k], false)
		s.placeOf(&sites[k], true)
	}

	for k := range agents {
		s.deskHeads = append(s.deskHeads, clientHead(&agents[k]))
	}
	for k := range mobileAgents {
		s.mobileHeads = append(s.mobileHeads, clientHead(&mobileAgents[k]))
	}

	n := s.opt.Users
	s.people = make([]*person, n)
	s.users = make([]User, n)
	for k := range s.people {
		p := s.newPerson(hash2(s.key, uint64(k)+1<<40), s.logins, nil)
		s.people[k] = p
		s.users[k] = p.User
	}
	na := min(numAdmins, n-1)
	if na < 1 {
		na = 1
	}
	s.admins = s.people[:na]
	for k := range s.people {
		if k >= na || n == na {
			s.nonAdmin = append(s.nonAdmin, k)
		}
	}

	id := func(prefix string, salt uint64) string { return oktaID(prefix, hash2(s.key, salt)) }

	s.dashboard = []byte(`{"id":"` + id("0oa", 1) + `","type":"AppInstance","alternateId":"Okta Dashboard","displayName":"Okta Dashboard","detailEntry":null}`)
	s.adminConsole = []byte(`{"id":"` + id("0oa", 2) + `","type":"AppInstance","alternateId":"Okta Admin Console","displayName":"Okta Admin Console","detailEntry":null}`)
	s.orgASID = id("aus", 3)
	s.asTarget = []byte(`{"id":"` + s.orgASID + `","type":"AuthorizationServer","alternateId":"default","displayName":"default","detailEntry":{"authorizationServerType":"CUSTOM"}}`)
	s.asURI = "/oauth2/" + s.orgASID + "/v1/token"
	s.signoutURL = "/login/signout?fromURI=https%3A%2F%2F" + s.opt.Org + ".okta.com%2F"
	for k := range apps {
		a := &apps[k]
		appID := id("0oa", uint64(10+k))
		s.appTargets = append(s.appTargets, []byte(`{"id":"`+appID+`","type":"AppInstance","alternateId":"`+a.label+
			`","displayName":"`+a.name+`","detailEntry":{"signOnModeType":"`+a.mode+`"}}`))
		clientID := id("0oa", uint64(40+k))
		s.appClientIDs = append(s.appClientIDs, clientID)
		s.appActors = append(s.appActors, []byte(`{"id":"`+clientID+`","type":"PublicClientApp","alternateId":"`+clientID+
			`","displayName":"`+a.name+`","detailEntry":null}`))
		if a.mode == "SAML_2_0" {
			uri := "/app/" + a.slug + "/" + id("exk", uint64(70+k)) + "/sso/saml"
			s.appURIs = append(s.appURIs, uri)
			s.appURLs = append(s.appURLs, uri+"?SAMLRequest=fVJdb9owFH3fr4j8DsFOCKlFkFhZNaSOIqB72MtknBuw5tiZr1O6fz8nQMc0tW%2FWvefj3o8JilrXfN76o1nDrxbQR691bZD3jYK0znArUCE3ogbkXvLN%2FNsjZ8MRb5z1VlpNojkiOK%2BsubMG2xrcBtyLkvC8fizI0fsGeRyjsthaA21jnR9KW8e%3D&RelayState=%2Fhome")
		} else {
			uri := "/oauth2/v1/authorize"
			s.appURIs = append(s.appURIs, uri)
			s.appURLs = append(s.appURLs, uri+"?client_id="+clientID+"&response_type=code&scope=openid+profile+email+offline_access&redirect_uri=https%3A%2F%2F"+a.slug+"."+s.domain+"%2Fauthorization-code%2Fcallback&state="+id("st", uint64(90+k)))
		}
	}
	for k, name := range groups {
		s.groupTargets = append(s.groupTargets, []byte(`{"id":"`+id("00g", uint64(200+k))+`","type":"UserGroup","alternateId":"unknown","displayName":"`+name+`","detailEntry":null}`))
	}
	for k, name := range serviceApps {
		clientID := id("0oa", uint64(300+k))
		s.svcClientIDs = append(s.svcClientIDs, clientID)
		s.svcActors = append(s.svcActors, []byte(`{"id":"`+clientID+`","type":"PublicClientApp","alternateId":"`+clientID+`","displayName":"`+name+`","detailEntry":null}`))
		s.svcTxDetail = append(s.svcTxDetail, `"requestApiTokenId":"`+id("00T", uint64(320+k))+`"`)
	}
	for k := range serviceAgents {
		s.svcClients = append(s.svcClients, clientHead(&serviceAgents[k]))
	}
	s.svcLoc = loc{ipFor(&networks[cloudSite.home], hash2(s.key, 400)), newPlace(cloudSite.city, &networks[cloudSite.home])}

	policyID := id("00p", 500)
	s.signOnPolicy = []byte(`{"id":"` + policyID + `","type":"PolicyEntity","alternateId":"unknown","displayName":"Okta Dashboard","detailEntry":{"policyType":"ACCESS_POLICY"}},` +
		`{"id":"` + id("rul", 501) + `","type":"PolicyRule","alternateId":"` + policyID + `","displayName":"Catch-all Rule","detailEntry":{"policyRuleFactorMode":"2FA"}}`)
	entityID := id("00p", 502)
	s.entityPolicy = []byte(`{"id":"` + entityID + `","type":"Policy","alternateId":"unknown","displayName":"Entity Risk Policy","detailEntry":{"policyType":"ENTITY_RISK"}}`)
	s.entityRule = []byte(`{"id":"` + id("0pr", 503) + `","type":"Rule","alternateId":"` + entityID + `","displayName":"High risk users: end all sessions","detailEntry":{"RuleAction":"TERMINATE_ALL_SESSIONS"}}`)

	// Attack infrastructure: 4 of the proxy exits, the foreign sign-in sites.
	start := int(hash2(s.key, 600) % uint64(len(proxySites)))
	for k := 0; k < numSprayIPs; k++ {
		st := &proxySites[(start+k)%len(proxySites)]
		s.sprayLocs = append(s.sprayLocs, loc{ipFor(&networks[st.home], hash2(s.key, uint64(610+k))), newPlace(st.city, &networks[st.home])})
	}
	for k := range attackerAgents {
		s.sprayClients = append(s.sprayClients, clientHead(&attackerAgents[k]))
	}
	for k := range foreignSites {
		st := &foreignSites[k]
		s.foreignLocs = append(s.foreignLocs, loc{ipFor(&networks[st.home], hash2(s.key, uint64(620+k))), newPlace(st.city, &networks[st.home])})
	}
	s.foreignClient = s.sprayClients[1:]
	for _, l := range guessedLogins {
		s.unknownActors = append(s.unknownActors, []byte(`{"id":"unknown","type":"User","alternateId":"`+l+"@"+s.domain+`","displayName":"unknown","detailEntry":null}`))
	}
}
