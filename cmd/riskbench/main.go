// Command riskbench measures riskpipe end to end on this machine: the real
// riskpipe binary polling the Okta simulator (in this process, on a
// loopback port) and writing to a private ClickHouse. See BENCHMARKS.md.
//
//	riskbench throughput --orgs 1,10 --events 1000000 --runs 3
//	riskbench freshness --orgs 10 --rate 200 --interval 5s --runs 3
//	riskbench memory --orgs 10 --events 100000 --runs 3
//	riskbench budget --orgs 10 --events 20000 --steady-rate 20 --runs 3
//	riskbench scale --orgs 1,10,100 --rows 10000,1000000,10000000
//	riskbench all --quick
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riskpipe/riskpipe/internal/bench"
	"github.com/riskpipe/riskpipe/internal/chserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "riskbench:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "riskbench:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

const usage = `Usage: riskbench <command> [flags]

Commands (each prints a table; --write updates its section of BENCHMARKS.md):
  throughput  catch-up of a backlog without rate limits: events/s, CPU-s per 100k events, peak RSS
  memory      peak RSS while many orgs catch up at full speed
  freshness   delay from persistence in Okta to queryable in ClickHouse at a steady rate
  budget      Okta requests per 1,000 events catching up, per org per interval once caught up, 429s
  scale       CPU and memory from 1 to 100 orgs; query latency from 10^4 to 10^7 kept events
  all         every command (--quick: sizes CI can afford)

Run 'riskbench <command> --help' for its flags.`

// common are the flags every command has.
type common struct {
	riskpipe, chAddr, workDir, benchFile string
	runs                                 int
	write, keep, verbose                 bool
}

func (c *common) register(fs *flag.FlagSet, runs int) {
	fs.StringVar(&c.riskpipe, "riskpipe", "", "riskpipe binary to measure (default: go build ./cmd/riskpipe into the work dir)")
	fs.StringVar(&c.chAddr, "clickhouse-addr", "", "use the ClickHouse at host:port (native) instead of starting a private one")
	fs.StringVar(&c.workDir, "workdir", "", "work directory for configs, logs and the private ClickHouse (default: a temporary one)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (riskpipe logs and configs)")
	fs.IntVar(&c.runs, "runs", runs, "runs per configuration (tables show medians, min–max in parentheses)")
	fs.BoolVar(&c.write, "write", false, "write the results into their section of --bench-file")
	fs.StringVar(&c.benchFile, "bench-file", "BENCHMARKS.md", "the file --write updates")
	fs.BoolVar(&c.verbose, "v", false, "report progress on stderr")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{errors.New("no command")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "throughput", "memory", "freshness", "budget", "scale", "all":
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
	cmd := args[0]
	fs := flag.NewFlagSet("riskbench "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	p := newParams(cmd)
	c.register(fs, p.runs)
	p.register(fs, cmd)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if err := p.parse(); err != nil {
		return usageError{err}
	}
	if cmd == "all" && p.quick {
		p.applyQuick(fs)
		if !flagSet(fs, "runs") {
			c.runs = 1
		}
	}
	if c.runs < 1 {
		return usageError{errors.New("--runs must be at least 1")}
	}

	logf := func(string, ...any) {}
	if c.verbose {
		logf = func(format string, a ...any) {
			fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
		}
	}
	o := bench.Options{Riskpipe: c.riskpipe, WorkDir: c.workDir, Keep: c.keep, Logf: logf}
	if c.chAddr != "" {
		o.ClickHouse = chserver.Attach(c.chAddr)
	}
	h, err := bench.New(ctx, o)
	if err != nil {
		return err
	}
	defer h.Close()
	m := h.Machine()
	fmt.Fprintf(stdout, "machine: %s\nriskpipe: %s (%s)\n\n", m, h.Riskpipe(), h.RiskpipeVersion())

	b := &bencher{all: cmd == "all", h: h, c: c, p: p, cmdline: "riskbench " + strings.Join(args, " "), stdout: stdout, logf: logf}
	switch cmd {
	case "throughput":
		return b.throughput(ctx, "throughput")
	case "memory":
		return b.memory(ctx, "memory")
	case "freshness":
		return b.freshness(ctx, "freshness")
	case "budget":
		return b.budget(ctx, "budget")
	case "scale":
		return b.scale(ctx, "scale")
	}
	suffix := ""
	if p.quick {
		suffix = "-quick"
	}
	for _, f := range []func(context.Context, string) error{
		func(ctx context.Context, s string) error { return b.throughput(ctx, "throughput"+s) },
		func(ctx context.Context, s string) error { return b.freshness(ctx, "freshness"+s) },
		func(ctx context.Context, s string) error { return b.budget(ctx, "budget"+s) },
		func(ctx context.Context, s string) error { return b.scale(ctx, "scale"+s) },
	} {
		if err := f(ctx, suffix); err != nil {
			return err
		}
	}
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// params are the measurement flags.
type params struct {
	runs                               int
	orgsList, rowsList                 string
	orgs                               []int
	rows                               []int64
	events                             int64
	risk                               float64
	interval, warmup, duration         time.Duration
	rate, steadyRate                   float64
	steadyFor                          time.Duration
	share                              float64
	batchMaxWait                       time.Duration
	batchMaxRows                       int
	noHeaders, inProcess, quick, noOpt bool
	cpuProfile, memProfile             string
	reps                               int
	what                               string
	catchUpInterval                    bool
	env                                []string
	memory                             map[string]int
	backlog                            int64
	// steadyInterval is the poll interval of the steady measurements
	// (freshness, budget, scale's steady phase): --interval, except for
	// all, whose --interval is the catch-up's.
	steadyInterval time.Duration
}

func newParams(cmd string) *params {
	p := &params{runs: 3, risk: 0.02, reps: 20, share: 0.5}
	switch cmd {
	case "throughput":
		p.orgsList, p.events, p.interval = "1,10", 1_000_000, time.Second
	case "memory":
		p.orgsList, p.events, p.interval = "10", 100_000, time.Second
	case "freshness":
		p.orgsList, p.rate, p.interval, p.warmup, p.duration = "10", 200, 5*time.Second, 10*time.Second, 60*time.Second
	case "budget":
		p.orgsList, p.events, p.interval, p.steadyRate, p.steadyFor = "10", 20_000, 5*time.Second, 20, 60*time.Second
	case "scale":
		p.orgsList, p.events, p.interval, p.steadyRate, p.steadyFor = "1,10,100", 20_000, time.Second, 20, 30*time.Second
		p.catchUpInterval, p.steadyInterval = true, 5*time.Second
		p.rowsList, p.what, p.runs = "10000,1000000,10000000", "orgs,queries", 1
	case "all":
		p.orgsList, p.events, p.interval, p.catchUpInterval, p.steadyInterval = "1,10", 100_000, time.Second, true, 5*time.Second
		p.rowsList, p.what = "10000,1000000", "orgs,queries"
		p.rate, p.warmup, p.duration = 200, 10*time.Second, 60*time.Second
		p.steadyRate, p.steadyFor = 20, 30*time.Second
	}
	return p
}

func (p *params) register(fs *flag.FlagSet, cmd string) {
	fs.StringVar(&p.orgsList, "orgs", p.orgsList, "simulated orgs (comma-separated list: one configuration each)")
	fs.Float64Var(&p.risk, "risk", p.risk, "share of risk events in the bench scenario")
	fs.DurationVar(&p.interval, "interval", p.interval, "riskpipe's poll.interval")
	fs.Float64Var(&p.share, "share", p.share, "riskpipe's poll.rate_limit_share")
	fs.DurationVar(&p.batchMaxWait, "batch-max-wait", 0, "riskpipe's clickhouse.batch_max_wait (default: riskpipe's)")
	fs.IntVar(&p.batchMaxRows, "batch-max-rows", 0, "riskpipe's clickhouse.batch_max_rows (default: riskpipe's)")
	fs.Func("memory", "KEY=N set in riskpipe's memory block, e.g. attribution_mib=8 (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(v)
		if !ok || k == "" || err != nil {
			return fmt.Errorf("want KEY=N, got %q", s)
		}
		if p.memory == nil {
			p.memory = map[string]int{}
		}
		p.memory[k] = n
		return nil
	})
	fs.Func("env", "KEY=VALUE added to riskpipe's environment, e.g. GOMEMLIMIT=64MiB (repeatable)", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		p.env = append(p.env, s)
		return nil
	})
	switch cmd {
	case "throughput", "memory", "budget", "scale", "all":
		fs.Int64Var(&p.events, "events", p.events, "backlog events per org")
	}
	switch cmd {
	case "throughput", "memory", "all":
		fs.Int64Var(&p.backlog, "backlog", 0, "backlog events in all, split evenly between the orgs of each configuration (instead of --events per org)")
		fs.BoolVar(&p.noHeaders, "no-rate-limit-headers", false, "serve no X-Rate-Limit-* headers at all (riskpipe then paces itself at 10 requests/min)")
		fs.BoolVar(&p.inProcess, "inprocess", false, "run the pipeline in this process (internal/app) instead of the binary: for profiles; CPU and RSS then include the simulator")
		fs.StringVar(&p.cpuProfile, "cpuprofile", "", "with --inprocess: write a CPU profile of the runs")
		fs.StringVar(&p.memProfile, "memprofile", "", "with --inprocess: write a heap profile at the end of each run")
	}
	switch cmd {
	case "freshness", "all":
		fs.Float64Var(&p.rate, "rate", p.rate, "steady events/s per org")
		fs.DurationVar(&p.warmup, "warmup", p.warmup, "steady traffic before the measured window")
		fs.DurationVar(&p.duration, "duration", p.duration, "measured window (events persisted in it)")
	}
	switch cmd {
	case "budget", "scale", "all":
		fs.Float64Var(&p.steadyRate, "steady-rate", p.steadyRate, "steady events/s per org once caught up")
		fs.DurationVar(&p.steadyFor, "steady-for", p.steadyFor, "steady phase length (a multiple of --interval)")
	}
	switch cmd {
	case "scale", "all":
		fs.DurationVar(&p.steadyInterval, "steady-interval", p.steadyInterval, "poll.interval of the steady measurements (--interval is the catch-ups')")
		fs.StringVar(&p.rowsList, "rows", p.rowsList, "kept events in ClickHouse for the query part (comma-separated)")
		fs.IntVar(&p.reps, "reps", p.reps, "runs of each query (after one warm-up)")
		fs.StringVar(&p.what, "what", p.what, "orgs, queries or both (comma-separated)")
		fs.BoolVar(&p.noOpt, "no-optimize", false, "leave the generated parts unmerged (no OPTIMIZE TABLE ... FINAL)")
	}
	if cmd == "all" {
		fs.BoolVar(&p.quick, "quick", false, "small sizes, one run each (a few minutes; what CI can afford)")
	}
}

func (p *params) parse() error {
	p.orgs = nil
	for _, s := range strings.Split(p.orgsList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--orgs: %q is not a positive number", s)
		}
		p.orgs = append(p.orgs, n)
	}
	p.rows = nil
	if p.rowsList != "" {
		for _, s := range strings.Split(p.rowsList, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || n < 1000 {
				return fmt.Errorf("--rows: %q: want a number of at least 1000", s)
			}
			p.rows = append(p.rows, n)
		}
	}
	if !p.catchUpInterval {
		p.steadyInterval = p.interval
	}
	if p.cpuProfile != "" && !p.inProcess || p.memProfile != "" && !p.inProcess {
		return errors.New("--cpuprofile and --memprofile need --inprocess")
	}
	return nil
}

// applyQuick shrinks every size the user did not set.
func (p *params) applyQuick(fs *flag.FlagSet) {
	set := func(name string, f func()) {
		if !flagSet(fs, name) {
			f()
		}
	}
	set("orgs", func() { p.orgs = []int{1, 10} })
	set("events", func() { p.events = 5_000 })
	set("duration", func() { p.duration = 20 * time.Second })
	set("warmup", func() { p.warmup = 5 * time.Second })
	set("steady-for", func() { p.steadyFor = 10 * time.Second })
	set("rows", func() { p.rows = []int64{10_000, 100_000} })
	set("reps", func() { p.reps = 5 })
}

type bencher struct {
	all     bool // the all command
	h       *bench.Harness
	c       common
	p       *params
	cmdline string
	stdout  io.Writer
	logf    func(string, ...any)
}

// emit prints a result and, with --write, stores it in BENCHMARKS.md.
func (b *bencher) emit(section, title string, t *bench.Table, notes ...string) error {
	var s strings.Builder
	fmt.Fprintf(&s, "#### %s\n\n", title)
	fmt.Fprintf(&s, "`%s` — %s; %s\n\n", b.cmdline, b.h.Machine(), b.h.RiskpipeVersion())
	s.WriteString(t.Markdown())
	for _, n := range notes {
		fmt.Fprintf(&s, "\n%s\n", n)
	}
	fmt.Fprintln(b.stdout, s.String())
	if b.c.write {
		if err := bench.UpdateSection(b.c.benchFile, section, s.String()); err != nil {
			return err
		}
		fmt.Fprintf(b.stdout, "(written to %s, section %s)\n\n", b.c.benchFile, section)
	}
	return nil
}

func (b *bencher) setup(orgs int) bench.Setup {
	s := bench.Setup{Orgs: orgs, RiskShare: b.p.risk, Interval: b.p.interval, RateLimitShare: b.p.share,
		BatchMaxWait: b.p.batchMaxWait, BatchMaxRows: b.p.batchMaxRows, RateLimit: bench.Unlimited,
		InProcess: b.p.inProcess, CPUProfile: b.p.cpuProfile, MemProfile: b.p.memProfile, Env: b.p.env, Memory: b.p.memory}
	if b.p.noHeaders {
		s.RateLimit = bench.Unlimited
		s.RateLimit.Disabled = true
	}
	return s
}

func (b *bencher) backlogs(ctx context.Context, events int64) ([]bench.BacklogRuns, error) {
	var groups []bench.BacklogRuns
	for _, orgs := range b.p.orgs {
		events := events
		if b.p.backlog > 0 {
			events = b.p.backlog / int64(orgs)
		}
		g := bench.BacklogRuns{Orgs: orgs, EventsPerOrg: events}
		for i := range b.c.runs {
			s := b.setup(orgs)
			if s.CPUProfile != "" {
				s.CPUProfile = fmt.Sprintf("%s.%dorgs.%d", b.p.cpuProfile, orgs, i+1)
			}
			if s.MemProfile != "" {
				s.MemProfile = fmt.Sprintf("%s.%dorgs.%d", b.p.memProfile, orgs, i+1)
			}
			b.logf("catch-up: %d orgs × %d events, run %d/%d", orgs, events, i+1, b.c.runs)
			r, err := b.h.RunBacklog(ctx, bench.Backlog{Setup: s, Events: events})
			if err != nil {
				return nil, fmt.Errorf("%d orgs, run %d: %w", orgs, i+1, err)
			}
			b.logf("  %.0f events/s, %.2f CPU-s/100k, peak RSS %.0f MB", r.EventsPerSec, r.CPUPer100k, bench.MB(r.PeakRSS))
			g.Runs = append(g.Runs, r)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// backlogText describes the catch-up backlog of --events or --backlog.
func (b *bencher) backlogText() string {
	if b.p.backlog > 0 {
		return bench.Num(float64(b.p.backlog), 0) + " events in all, split evenly between the orgs"
	}
	return bench.Num(float64(b.p.events), 0) + " events per org"
}

func (b *bencher) modeNote() string {
	var s []string
	if b.p.inProcess {
		s = append(s, "**In-process run (profiling): CPU and RSS include the simulator and the harness.**")
	}
	if b.p.noHeaders {
		s = append(s, "**No X-Rate-Limit-* headers served: riskpipe stays at its initial pace of 10 requests/min.**")
	}
	if len(b.p.env) > 0 {
		s = append(s, fmt.Sprintf("**riskpipe environment: %s.**", strings.Join(b.p.env, " ")))
	}
	if len(b.p.memory) > 0 {
		var kv []string
		for k, v := range b.p.memory {
			kv = append(kv, fmt.Sprintf("%s: %d", k, v))
		}
		sort.Strings(kv)
		s = append(s, fmt.Sprintf("**riskpipe memory block: %s.**", strings.Join(kv, ", ")))
	}
	if b.p.batchMaxWait > 0 || b.p.batchMaxRows > 0 {
		s = append(s, fmt.Sprintf("**Writer: batch_max_wait %s, batch_max_rows %d (0: default).**", b.p.batchMaxWait, b.p.batchMaxRows))
	}
	return strings.Join(s, " ")
}

func (b *bencher) throughput(ctx context.Context, section string) error {
	groups, err := b.backlogs(ctx, b.p.events)
	if err != nil {
		return err
	}
	return b.emit(section, fmt.Sprintf("Throughput: a backlog of %s, %.0f%% risk, no binding rate limit",
		b.backlogText(), b.p.risk*100), bench.ThroughputTable(groups),
		"events/s: all orgs' backlog events ÷ (last kept event queryable − first System Log request after the backlog appeared). "+
			"CPU: utime+stime of each process over the same span (riskpipe from /proc/<pid>/stat; the simulator runs inside the harness). "+
			"Machine shared with other engineers' test runs (load avg column). "+b.modeNote())
}

func (b *bencher) memory(ctx context.Context, section string) error {
	groups, err := b.backlogs(ctx, b.p.events)
	if err != nil {
		return err
	}
	return b.emit(section, fmt.Sprintf("Memory: orgs catching up at full speed (a backlog of %s)", b.backlogText()),
		bench.MemoryTable(groups), "Peak RSS is VmHWM of the riskpipe process (start-up included), cross-checked with wait4's maxrss. "+b.modeNote())
}

// steadyFleets are the fleet sizes of the freshness and budget
// measurements: every --orgs value, except under all, whose --orgs list is
// the catch-ups' and which measures only the largest fleet.
func (b *bencher) steadyFleets() []int {
	if b.all {
		return []int{slices.Max(b.p.orgs)}
	}
	return b.p.orgs
}

func (b *bencher) freshness(ctx context.Context, section string) error {
	var groups [][]bench.FreshnessResult
	for _, orgs := range b.steadyFleets() {
		var rs []bench.FreshnessResult
		for i := range b.c.runs {
			s := b.setup(orgs)
			s.RateLimit = bench.RateLimitDefaults()
			s.InProcess, s.CPUProfile, s.MemProfile = false, "", ""
			s.EventsPerSecond = b.p.rate
			s.Interval = b.p.steadyInterval
			b.logf("freshness: %d orgs × %.0f events/s, run %d/%d", orgs, b.p.rate, i+1, b.c.runs)
			r, err := b.h.RunFreshness(ctx, bench.Freshness{Setup: s, Warmup: b.p.warmup, Duration: b.p.duration})
			if err != nil {
				return fmt.Errorf("freshness, %d orgs, run %d: %w", orgs, i+1, err)
			}
			b.logf("  p50 %s p99 %s (%d kept, %d missing)", r.P50, r.P99, r.Kept, r.Missing)
			rs = append(rs, r)
		}
		groups = append(groups, rs)
	}
	return b.emit(section, fmt.Sprintf("Freshness: a steady %s events/s per org, poll interval %s",
		bench.Num(b.p.rate, 0), b.p.steadyInterval), bench.FreshnessTable(groups...),
		fmt.Sprintf("Delay: first seen by the harness (polling ClickHouse every 50 ms for new event ids) − persisted time in the simulator, "+
			"for every kept event persisted during the %s window (after %s of warm-up). Okta's default rate limits (120/min per org). "+
			"Medians of the runs' quantiles. Machine shared with other engineers' test runs.", b.p.duration, b.p.warmup))
}

func (b *bencher) budget(ctx context.Context, section string) error {
	var groups [][]bench.BudgetResult
	for _, orgs := range b.steadyFleets() {
		var rs []bench.BudgetResult
		for i := range b.c.runs {
			s := b.setup(orgs)
			s.RateLimit = bench.RateLimitDefaults()
			s.Interval = b.p.steadyInterval
			s.InProcess, s.CPUProfile, s.MemProfile = false, "", ""
			b.logf("budget: %d orgs, %d events each, run %d/%d", orgs, b.p.events, i+1, b.c.runs)
			r, err := b.h.RunBudget(ctx, bench.Budget{Setup: s, Events: b.p.events, SteadyRate: b.p.steadyRate, SteadyFor: b.p.steadyFor})
			if err != nil {
				return fmt.Errorf("budget, %d orgs, run %d: %w", orgs, i+1, err)
			}
			b.logf("  %.3f requests/1000 events, %.2f requests/org/interval, 429s %d+%d", r.RequestsPer1000, r.RequestsPerInterval, r.CatchUp429, r.Steady429)
			rs = append(rs, r)
		}
		groups = append(groups, rs)
	}
	return b.emit(section, fmt.Sprintf("Okta budget: Okta's default limits, rate_limit_share %.2g", b.p.share),
		bench.BudgetTable(b.p.steadyRate, b.p.steadyInterval, groups...),
		"Requests: every /api/v1/logs response the simulator sent (any status) during the catch-up (first request after the backlog "+
			"appeared until the last kept event was queryable) and during the steady window. Closing requests: per org, in the poll "+
			"interval after the catch-up (the short page that ends it, and any other before the next regular poll).")
}

func (b *bencher) scale(ctx context.Context, section string) error {
	what := b.p.what
	if strings.Contains(what, "orgs") {
		var catchUp []bench.BacklogRuns
		var steady []bench.SteadyRuns
		for _, orgs := range b.p.orgs {
			g := bench.BacklogRuns{Orgs: orgs, EventsPerOrg: b.p.events}
			st := bench.SteadyRuns{Orgs: orgs}
			for i := range b.c.runs {
				s := b.setup(orgs)
				s.InProcess, s.CPUProfile, s.MemProfile = false, "", ""
				b.logf("scale: catch-up %d orgs × %d events, run %d/%d", orgs, b.p.events, i+1, b.c.runs)
				r, err := b.h.RunBacklog(ctx, bench.Backlog{Setup: s, Events: b.p.events})
				if err != nil {
					return fmt.Errorf("scale catch-up, %d orgs: %w", orgs, err)
				}
				g.Runs = append(g.Runs, r)
				s.RateLimit = bench.RateLimitDefaults()
				s.Interval = b.p.steadyInterval
				b.logf("scale: steady %d orgs × %.0f events/s, run %d/%d", orgs, b.p.steadyRate, i+1, b.c.runs)
				sr, err := b.h.RunBudget(ctx, bench.Budget{Setup: s, SteadyRate: b.p.steadyRate, SteadyFor: b.p.steadyFor})
				if err != nil {
					return fmt.Errorf("scale steady, %d orgs: %w", orgs, err)
				}
				st.Runs = append(st.Runs, sr)
			}
			catchUp, steady = append(catchUp, g), append(steady, st)
		}
		if err := b.emit(section+"-orgs", "Scale: orgs", bench.ScaleOrgsTable(catchUp, steady, b.p.steadyRate, b.p.steadyInterval),
			fmt.Sprintf("Catch-up: %s events per org, no binding rate limit, poll interval %s. Steady: Okta's default limits, "+
				"%s window after one interval of settling. Machine shared with other engineers' test runs.",
				bench.Num(float64(b.p.events), 0), b.p.interval, b.p.steadyFor)); err != nil {
			return err
		}
	}
	if strings.Contains(what, "queries") {
		var rs []bench.QueriesResult
		for _, n := range b.p.rows {
			b.logf("scale: queries over %d rows", n)
			r, err := b.h.RunQueries(ctx, bench.Queries{Rows: n, Reps: b.p.reps, Optimize: !b.p.noOpt})
			if err != nil {
				return fmt.Errorf("queries over %d rows: %w", n, err)
			}
			rs = append(rs, r)
		}
		opt := "then OPTIMIZE TABLE ... FINAL (on 18.16 it may leave several parts: see the parts count)"
		if b.p.noOpt {
			opt = "parts left unmerged"
		}
		if err := b.emit(section+"-queries", "Scale: query latency by kept events in ClickHouse", bench.QueriesTable(rs),
			fmt.Sprintf("Rows generated with INSERT ... SELECT from system.numbers over 10 tenants and the last 30 days (users = rows/20, "+
				"3 factor updates each), %s. API queries through the riskpipe binary's HTTP API (sequential, after one warm-up, %d runs: "+
				"with 20 runs p99 is the slowest); app.Summary called directly.", opt, b.p.reps)); err != nil {
			return err
		}
	}
	return nil
}
