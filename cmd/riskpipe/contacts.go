package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/store"
)

// notifySchema is the schema version that added notifications and
// org_contacts (schema/004_notify.sql).
const notifySchema = 4

// cmdContacts is `riskpipe contacts list|review|test`.
func cmdContacts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("contacts", "list|review|test --config FILE [--tenant NAME] [--by NAME]", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	tenant := fs.String("tenant", "", "only this tenant (default: every tenant)")
	by := fs.String("by", "", "review: who reviewed the contacts (default: the OS user)")
	timeout := fs.Duration("timeout", time.Minute, "time allowed for ClickHouse and deliveries")
	if err := parse(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprintln(stdout, "\n"+contactsUsage)
		}
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	switch sub {
	case "list", "review", "test":
	case "":
		return usageError{errors.New("want a subcommand: list, review or test (see 'riskpipe contacts --help')")}
	default:
		return usageError{fmt.Errorf("unknown subcommand %q: want list, review or test", sub)}
	}
	tenants := []string{}
	for _, t := range cfg.Tenants {
		if *tenant == "" || t.Name == *tenant {
			tenants = append(tenants, t.Name)
		}
	}
	if len(tenants) == 0 {
		return usageError{fmt.Errorf("no tenant %q in the config", *tenant)}
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, newLogger(io.Discard, "text", "error"))
	if err != nil {
		return fmt.Errorf("open clickhouse at %s: %w", cfg.ClickHouse.Addr, err)
	}
	defer st.Close()
	if cur, _, err := st.SchemaVersion(ctx); err != nil {
		return err
	} else if cur < notifySchema {
		return fmt.Errorf("database %s is at schema version %d: run 'riskpipe migrate' first", st.Database(), cur)
	}
	adm := notify.NewAdmin(cfg, notify.NewStore(st.Conn(), st.Database()), nil)
	switch sub {
	case "list":
		return contactsList(ctx, adm, cfg, tenants, stdout)
	case "review":
		who := *by
		if who == "" {
			who = "cli"
			if u, err := user.Current(); err == nil {
				who = "cli:" + u.Username
			}
		}
		for _, t := range tenants {
			v, err := adm.Review(ctx, t, who)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: contacts reviewed by %s at %s; next reminder due %s\n", t, v.ReviewedBy,
				v.ReviewedAt.Format(time.RFC3339), v.ReviewDue.Format(time.RFC3339))
		}
		return nil
	default:
		failed := 0
		for _, t := range tenants {
			ds, err := adm.Test(ctx, t)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				fmt.Fprintf(stdout, "%s: no contacts configured\n", t)
			}
			for _, d := range ds {
				line := fmt.Sprintf("%s: %s %s: %s", t, d.Channel, d.Recipient, d.Status)
				if d.Error != "" {
					line += " (" + d.Error + ")"
					failed++
				}
				fmt.Fprintln(stdout, line)
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d deliveries failed", failed)
		}
		return nil
	}
}

const contactsUsage = `Usage: riskpipe contacts list|review|test --config FILE [--tenant NAME]

  list    show each tenant's contacts, when they were applied and reviewed
  review  record that the contacts were reviewed now (--by NAME)
  test    send a test message to every contact and channel, report each delivery`

func contactsList(ctx context.Context, adm *notify.Admin, cfg *config.Config, tenants []string, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tROLE\tNAME\tEMAIL\tWEBHOOK")
	var notes []string
	for _, t := range tenants {
		v, err := adm.Contacts(ctx, t)
		if err != nil {
			return err
		}
		rows := 0
		for _, r := range []struct {
			role string
			list []config.Contact
		}{{"primary_security", v.PrimarySecurity}, {"cio_ciso", v.CIOCISO}, {"it", v.IT}} {
			for _, c := range r.list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t, r.role, dash(c.Name), dash(c.Email), dash(c.Webhook))
				rows++
			}
		}
		if rows == 0 {
			fmt.Fprintf(tw, "%s\t-\t(no contacts)\t-\t-\n", t)
		}
		reviewed := "never reviewed"
		if !v.ReviewedAt.IsZero() {
			reviewed = "reviewed " + v.ReviewedAt.Format(time.RFC3339) + " by " + v.ReviewedBy
		}
		due := ""
		if !v.ReviewDue.IsZero() {
			due = "; review due " + v.ReviewDue.Format(time.RFC3339)
		}
		notes = append(notes, t+": "+reviewed+due)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// deliveryProblems prints the notification deliveries of the last day that
// failed or wait for a retry (`riskpipe status`).
func deliveryProblems(ctx context.Context, st *store.Store, now time.Time) ([]notify.Row, error) {
	if cur, _, err := st.SchemaVersion(ctx); err != nil || cur < notifySchema {
		return nil, err
	}
	return notify.NewStore(st.Conn(), st.Database()).Problems(ctx, now.Add(-24*time.Hour))
}

func printDeliveryProblems(w io.Writer, rows []notify.Row) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNotification deliveries failing (last 24h):\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tKIND\tRECIPIENT\tSTATUS\tATTEMPTS\tCREATED\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Tenant, r.Kind, r.Recipient, r.Status, r.Attempts, r.CreatedAt.Format(time.RFC3339), r.LastError)
	}
	tw.Flush()
}
