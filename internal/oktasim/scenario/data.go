package scenario

// Static tables the population and the events are drawn from. Values are
// shaped after real System Log events (see ../shared/corpus/okta) and Okta's
// documented examples; they are ASCII without quotes or backslashes, so they
// are written into JSON without escaping.

var firstNames = [...]string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
	"Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
	"Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah",
	"Ronald", "Stephanie", "Edward", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
	"Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
	"Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
	"Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra", "Frank", "Rachel",
	"Priya", "Wei", "Aisha", "Mateo", "Sofia", "Hiroshi", "Olga", "Lars", "Chiara", "Omar",
}

var lastNames = [...]string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Patel", "Chen", "Okafor", "Schmidt", "Rossi", "Tanaka", "Ivanova", "Larsen", "Dubois", "Haddad",
}

// city is a geographical context as Okta reports it (city-level geolocation).
type city struct {
	name, state, country, postal, lat, lon string
}

// network is an autonomous system as securityContext reports it.
type network struct {
	asn                int
	asOrg, isp, domain string
	proxy              bool
	ipA, ipB           int // first two octets of the addresses handed out
}

// site ties a city to the residential and mobile networks users there use.
type site struct {
	city         city
	home, mobile int // indexes into networks
}

var networks = [...]network{
	{7922, "comcast cable communications, llc", "comcast cable", "comcast.net", false, 73, 162},                   // 0
	{7018, "at&t corp.", "att services inc", "sbcglobal.net", false, 99, 108},                                     // 1
	{701, "verizon business", "verizon", "verizon.net", false, 71, 174},                                           // 2
	{20115, "charter communications", "charter communications inc", "spectrum.com", false, 24, 161},               // 3
	{22773, "cox communications inc.", "cox communications", "cox.net", false, 68, 105},                           // 4
	{21928, "t-mobile usa, inc.", "t-mobile usa, inc.", "tmodns.net", false, 172, 58},                             // 5
	{6167, "cellco partnership dba verizon wireless", "verizon wireless", "myvzw.com", false, 174, 203},           // 6
	{2856, "british telecommunications plc", "bt public internet service", "btcentralplus.com", false, 86, 143},   // 7
	{5089, "virgin media limited", "virgin media", "virginm.net", false, 82, 17},                                  // 8
	{3320, "deutsche telekom ag", "deutsche telekom ag", "t-ipconnect.de", false, 93, 211},                        // 9
	{3215, "orange s.a.", "orange", "orange.fr", false, 90, 38},                                                   // 10
	{812, "rogers communications canada inc.", "rogers communications canada inc.", "rogers.com", false, 99, 230}, // 11
	{6830, "liberty global b.v.", "virgin media ireland", "upcbroadband.ie", false, 89, 100},                      // 12
	// Foreign residential/mobile networks used by HIGH-risk sign-ins.
	{29465, "mtn nigeria communication limited", "mtn nigeria", "mtnnigeria.net", false, 102, 89}, // 13
	{28573, "claro nxt telecomunicacoes ltda", "claro s.a.", "claro.com.br", false, 177, 139},     // 14
	{12389, "pjsc rostelecom", "rostelecom", "rt.ru", false, 95, 31},                              // 15
	{7552, "viettel group", "viettel corporation", "viettel.vn", false, 171, 244},                 // 16
	{7713, "pt telekomunikasi indonesia", "pt telkom indonesia", "telkom.net.id", false, 36, 72},  // 17
	// Hosting providers behind anonymizing proxies (password spray).
	{9009, "m247 europe srl", "m247 europe infrastructure", "m247.com", true, 185, 156},  // 18
	{62240, "clouvider limited", "clouvider limited", "clouvider.co.uk", true, 45, 134},  // 19
	{16276, "ovh sas", "ovh sas", "ovh.net", true, 51, 89},                               // 20
	{14061, "digitalocean, llc", "digitalocean llc", "digitalocean.com", true, 159, 203}, // 21
	{60068, "datacamp limited", "cdn77.com", "cdn77.com", true, 212, 102},                // 22
	// Cloud region the service apps call from.
	{14618, "amazon.com, inc.", "amazon.com", "amazonaws.com", false, 54, 211}, // 23
}

// cloudSite is where the OAuth service apps run.
var cloudSite = site{city{"Ashburn", "Virginia", "United States", "20149", "39.0437", "-77.4875"}, 23, 23}

// guessedLogins are the usernames a spray tries that do not exist in the org.
var guessedLogins = [...]string{
	"admin", "administrator", "test", "it.support", "helpdesk", "john.doe", "jsmith", "info", "hr", "finance",
	"ceo", "backup", "svc.backup", "scanner", "printer", "guest", "training", "sales", "marketing", "support",
}

var sites = [...]site{
	{city{"New York", "New York", "United States", "10013", "40.7209", "-74.0047"}, 2, 5},
	{city{"Brooklyn", "New York", "United States", "11201", "40.6944", "-73.9905"}, 0, 6},
	{city{"San Francisco", "California", "United States", "94107", "37.7697", "-122.3933"}, 1, 5},
	{city{"San Jose", "California", "United States", "95113", "37.3333", "-121.8907"}, 0, 6},
	{city{"Los Angeles", "California", "United States", "90012", "34.0614", "-118.2385"}, 3, 5},
	{city{"Chicago", "Illinois", "United States", "60601", "41.8858", "-87.6181"}, 0, 6},
	{city{"Austin", "Texas", "United States", "78701", "30.2713", "-97.7426"}, 1, 5},
	{city{"Dallas", "Texas", "United States", "75207", "32.7908", "-96.8336"}, 3, 6},
	{city{"Seattle", "Washington", "United States", "98101", "47.6114", "-122.3305"}, 0, 5},
	{city{"Boston", "Massachusetts", "United States", "02110", "42.3572", "-71.0510"}, 2, 6},
	{city{"Denver", "Colorado", "United States", "80202", "39.7525", "-104.9995"}, 0, 5},
	{city{"Atlanta", "Georgia", "United States", "30350", "33.9794", "-84.3459"}, 1, 6},
	{city{"Phoenix", "Arizona", "United States", "85004", "33.4510", "-112.0687"}, 4, 5},
	{city{"Raleigh", "North Carolina", "United States", "27601", "35.7721", "-78.6386"}, 3, 6},
	{city{"London", "England", "United Kingdom", "EC2V", "51.5164", "-0.0930"}, 7, 8},
	{city{"Manchester", "England", "United Kingdom", "M1", "53.4809", "-2.2374"}, 8, 7},
	{city{"Berlin", "Land Berlin", "Germany", "10115", "52.5323", "13.3846"}, 9, 9},
	{city{"Paris", "Ile-de-France", "France", "75001", "48.8630", "2.3388"}, 10, 10},
	{city{"Toronto", "Ontario", "Canada", "M5H", "43.6508", "-79.3834"}, 11, 11},
	{city{"Dublin", "Leinster", "Ireland", "D02", "53.3382", "-6.2591"}, 12, 12},
}

// foreignSites are where the HIGH-risk sign-ins come from.
var foreignSites = [...]site{
	{city{"Lagos", "Lagos", "Nigeria", "100001", "6.4531", "3.3958"}, 13, 13},
	{city{"Sao Paulo", "Sao Paulo", "Brazil", "01310", "-23.5475", "-46.6361"}, 14, 14},
	{city{"Moscow", "Moscow", "Russia", "119021", "55.7520", "37.6150"}, 15, 15},
	{city{"Ho Chi Minh City", "Ho Chi Minh", "Vietnam", "700000", "10.8230", "106.6296"}, 16, 16},
	{city{"Jakarta", "Jakarta", "Indonesia", "10110", "-6.1744", "106.8294"}, 17, 17},
}

// proxySites are the anonymizing-proxy exits of the password spray.
var proxySites = [...]site{
	{city{"Amsterdam", "North Holland", "Netherlands", "1012", "52.3740", "4.8897"}, 18, 18},
	{city{"London", "England", "United Kingdom", "EC2V", "51.5164", "-0.0930"}, 19, 19},
	{city{"Gravelines", "Hauts-de-France", "France", "59820", "50.9865", "2.1281"}, 20, 20},
	{city{"Frankfurt am Main", "Hesse", "Germany", "60313", "50.1155", "8.6842"}, 21, 21},
	{city{"Bucharest", "Bucuresti", "Romania", "030167", "44.4323", "26.1063"}, 22, 22},
}

// agent is a user agent as client.userAgent and the device object report it.
type agent struct {
	raw, os, browser, device string
	// platform, version, model describe the registered device (Okta Verify /
	// FastPass) that goes with this agent; platform "" means none.
	platform, version, model, disk, lock string
}

var agents = [...]agent{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Windows 10", "CHROME", "Computer", "WINDOWS", "10.0.22631", "Latitude 7440", "ALL_INTERNAL_VOLUMES", "PASSCODE"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "Mac OS X", "CHROME", "Computer", "OSX", "14.6.0", "Mac15,6", "ALL_INTERNAL_VOLUMES", "BIOMETRIC"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Mac OS X", "SAFARI", "Computer", "OSX", "14.5.0", "MacBookPro18,3", "ALL_INTERNAL_VOLUMES", "BIOMETRIC"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Windows 10", "CHROMIUM_EDGE", "Computer", "WINDOWS", "10.0.19045", "ThinkPad X1 Carbon", "ALL_INTERNAL_VOLUMES", "PASSCODE"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Windows 10", "FIREFOX", "Computer", "", "", "", "", ""},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Linux", "CHROME", "Computer", "", "", "", "", ""},
}

// mobileAgents are the agents of the users' phones.
var mobileAgents = [...]agent{
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "SAFARI", "Mobile", "IOS", "17.5.1", "iPhone15,2", "ALL_INTERNAL_VOLUMES", "PASSCODE"},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Android 14", "CHROME", "Mobile", "ANDROID", "14", "Pixel 8", "USER", "PASSCODE"},
}

// attackerAgents are used by the spray and the HIGH-risk sign-ins.
var attackerAgents = [...]agent{
	{"python-requests/2.31.0", "Unknown", "UNKNOWN", "Unknown", "", "", "", "", ""},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36", "Windows 10", "CHROME", "Computer", "", "", "", "", ""},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0", "Linux", "FIREFOX", "Computer", "", "", "", "", ""},
	{"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36", "Windows 7", "CHROME", "Computer", "", "", "", "", ""},
}

// serviceAgents call the APIs (OAuth client credentials, admin automation).
var serviceAgents = [...]agent{
	{"okta-sdk-golang/2.20.0 golang/go1.22.5 linux/amd64", "Unknown", "UNKNOWN", "Unknown", "", "", "", "", ""},
	{"Apache-HttpClient/4.5.14 (Java/17.0.8)", "Unknown", "UNKNOWN", "Unknown", "", "", "", "", ""},
	{"okta-sdk-python/2.9.8 python/3.11.9 Linux/6.5.0-1022-aws", "Linux", "UNKNOWN", "Unknown", "", "", "", "", ""},
}

// app is an application instance with its sign-on mode.
type app struct {
	name, label, mode, modeDebug, slug string
}

var apps = [...]app{
	{"Salesforce.com", "Salesforce", "SAML_2_0", "SAML 2.0", "salesforce"},
	{"Slack", "Slack", "SAML_2_0", "SAML 2.0", "slack"},
	{"Google Workspace", "Google Workspace", "SAML_2_0", "SAML 2.0", "google"},
	{"Zoom", "Zoom", "SAML_2_0", "SAML 2.0", "zoomus"},
	{"Atlassian Cloud", "Atlassian Cloud", "SAML_2_0", "SAML 2.0", "atlassian"},
	{"GitHub Enterprise Cloud - Organization", "GitHub", "SAML_2_0", "SAML 2.0", "githubcloud"},
	{"Workday", "Workday", "SAML_2_0", "SAML 2.0", "workday"},
	{"ServiceNow UD", "ServiceNow", "SAML_2_0", "SAML 2.0", "servicenow_ud"},
	{"AWS IAM Identity Center", "AWS Production", "SAML_2_0", "SAML 2.0", "amazon_aws_sso"},
	{"Box", "Box", "OPENID_CONNECT", "OpenID Connect", "boxnet"},
	{"Expense Portal", "Expense Portal", "OPENID_CONNECT", "OpenID Connect", "oidc_client"},
	{"Internal Wiki", "Internal Wiki", "OPENID_CONNECT", "OpenID Connect", "oidc_client"},
}

var groups = [...]string{
	"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Support",
	"Contractors", "VPN Users", "AWS Developers", "Okta Verify Rollout",
}

// serviceApps are OAuth service apps using client credentials.
var serviceApps = [...]string{"SCIM Provisioner", "SIEM Log Export", "HR Sync Service", "Terraform Automation"}
