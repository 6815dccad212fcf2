package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// TestChatFormats posts one message to real Slack- and Teams-format
// receivers and checks the payloads those services accept.
func TestChatFormats(t *testing.T) {
	got := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Empty(t, r.Header.Get("webhook-signature"), "only json webhooks are signed")
		b, _ := io.ReadAll(r.Body)
		var p map[string]any
		require.NoError(t, json.Unmarshal(b, &p))
		got[r.URL.Path] = p
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cfg := &config.Config{Notify: config.Notify{Webhooks: []config.Webhook{
		{Name: "slack", URL: config.Secret(srv.URL + "/slack"), Format: config.WebhookSlack},
		{Name: "teams", URL: config.Secret(srv.URL + "/teams"), Format: config.WebhookTeams},
	}}}
	d := newDeliverer(cfg, time.Now)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	m := render([]Finding{{Tenant: "acme", Kind: KindCriticalIncident, Key: "k", At: at, Detail: "Critical incident in acme.",
		Users: []User{{ID: "00u1", Login: "ann@acme.example", Score: 81, Level: "critical", Percentile: 99, Explanation: "leaked_credentials 100%"}}}},
		"https://riskpipe.example.com")
	for _, name := range []string{"slack", "teams"} {
		require.NoError(t, d.send(context.Background(), Recipient{Channel: ChannelWebhook, Address: name}, m, "id-1"))
	}
	slack := got["/slack"]["text"].(string)
	require.Contains(t, slack, "*Critical security incident in acme*")
	require.Contains(t, slack, "ann@acme.example: score 81 (critical, percentile 99): leaked_credentials 100%")

	teams := got["/teams"]
	require.Equal(t, "message", teams["type"])
	att := teams["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, "application/vnd.microsoft.card.adaptive", att["contentType"])
	card := att["content"].(map[string]any)
	require.Equal(t, "AdaptiveCard", card["type"])
	require.Equal(t, "1.4", card["version"])
	require.Equal(t, "Critical security incident in acme", card["body"].([]any)[0].(map[string]any)["text"])
	action := card["actions"].([]any)[0].(map[string]any)
	require.Equal(t, "Action.OpenUrl", action["type"])
	require.Equal(t, "https://riskpipe.example.com/#/org/acme", action["url"])

	// A webhook URL is a credential: an unreachable one is not in the error.
	cfg.Notify.Webhooks[0].URL = "http://127.0.0.1:1/services/T000/B000/SECRETPART"
	d = newDeliverer(cfg, time.Now)
	err := d.send(context.Background(), Recipient{Channel: ChannelWebhook, Address: "slack"}, m, "id-2")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRETPART")
}

func TestContactChanges(t *testing.T) {
	jane := config.Contact{Name: "Jane Roe", Email: "jane@acme.example"}
	janeChat := config.Contact{Name: "Jane Roe", Email: "jane@acme.example", Webhook: "soc"}
	bot := config.Contact{Name: "SOC", Webhook: "soc"}
	tests := []struct {
		name     string
		old, cur config.Contacts
		want     []string
	}{
		{"added by email", config.Contacts{}, config.Contacts{PrimarySecurity: []config.Contact{jane}},
			[]string{"added Jane Roe <jane@acme.example> as primary_security"}},
		{"webhook only", config.Contacts{IT: []config.Contact{bot}}, config.Contacts{},
			[]string{"removed SOC <webhook soc> from it"}},
		{"email and webhook", config.Contacts{CIOCISO: []config.Contact{jane}}, config.Contacts{CIOCISO: []config.Contact{janeChat}},
			[]string{"added Jane Roe <jane@acme.example, webhook soc> as cio_ciso", "removed Jane Roe <jane@acme.example> from cio_ciso"}},
		{"order only", config.Contacts{IT: []config.Contact{jane, bot}}, config.Contacts{IT: []config.Contact{bot, jane}},
			[]string{"the order of the contacts changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, contactChanges(tt.old, tt.cur))
		})
	}
}
