package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Setup is one measurement's fleet of simulated orgs and riskpipe's
// configuration.
type Setup struct {
	Orgs      int
	Users     int     // per org (default 500)
	RiskShare float64 // bench scenario's risk share (default 0.02)
	Seed      int64
	// RateLimit is every org's /api/v1/logs limit. Unlimited (see
	// Unlimited) serves X-Rate-Limit-* headers of a bucket that never runs
	// out; Disabled sends none.
	RateLimit oktasim.RateLimitOptions
	// EventsPerSecond is each org's steady rate from the start (0: none).
	EventsPerSecond float64

	// riskpipe's configuration; zero values keep riskpipe's defaults.
	Interval       time.Duration
	PageLimit      int
	RateLimitShare float64
	BatchMaxRows   int
	BatchMaxWait   time.Duration
	// Memory is riskpipe's memory block (config.Memory keys); nil: defaults.
	Memory map[string]int
	// DisabledTenants are configured (visible to the API) but not polled.
	DisabledTenants []string
	// HTTP serves riskpipe's API and dashboard on a loopback port with a
	// bearer token (Run.API).
	HTTP bool

	// InProcess runs the pipeline inside the harness (internal/app)
	// instead of the riskpipe binary, for profiling: CPU and memory then
	// include the simulator's. CPUProfile and MemProfile (files) are only
	// honoured in-process.
	InProcess  bool
	CPUProfile string
	MemProfile string
	// Env is added to the riskpipe process's environment (GOGC=...,
	// GOMEMLIMIT=...); ignored in-process.
	Env []string
}

// Unlimited is a rate limit that never binds but is announced in the
// X-Rate-Limit-* headers as real Okta always does. riskpipe paces itself at
// 10 requests a minute until it has seen those headers
// (internal/okta/ratelimit.go, initialRate), so RateLimitOptions.Disabled
// would measure that pacing, not throughput.
var Unlimited = oktasim.RateLimitOptions{PerMinute: 1_000_000_000, PerPrincipal: 1_000_000_000, Concurrency: 1000}

// RateLimitDefaults are Okta's (and the simulator's) default limits:
// 120 requests a minute per org, half of it per token, 75 in flight.
func RateLimitDefaults() oktasim.RateLimitOptions { return oktasim.RateLimitOptions{} }

// Run is one measurement in progress: a database, a simulator and the
// pipeline.
type Run struct {
	h       *Harness
	s       Setup
	dir     string
	db      string
	orgs    []string
	streams []*scenario.Stream
	sim     *oktasim.Server
	simSrv  *http.Server
	simURL  string
	clock   requestClock

	pipe     pipeline
	apiURL   string
	apiToken string
}

// OrgName is the name of the i-th simulated org (and riskpipe tenant).
func OrgName(i int) string { return fmt.Sprintf("bench-%03d", i) }

// Start creates a database, starts the simulator and the pipeline, and
// waits until every tenant is integrated (its poll_state row is written).
func (h *Harness) Start(ctx context.Context, s Setup) (*Run, error) {
	if s.Orgs < 1 {
		return nil, errors.New("bench: at least one org")
	}
	if s.Users == 0 {
		s.Users = 500
	}
	if s.RiskShare == 0 {
		s.RiskShare = 0.02
	}
	n := h.next()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	r := &Run{h: h, s: s, dir: filepath.Join(h.o.WorkDir, fmt.Sprintf("run-%03d", n)),
		db: fmt.Sprintf("riskbench_%d_%s", n, hex.EncodeToString(rnd[:]))}
	ok := false
	defer func() {
		if !ok {
			_, _ = r.Stop()
		}
	}()
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	if err := r.startSimulator(); err != nil {
		return nil, err
	}
	cfgPath, err := r.writeConfig()
	if err != nil {
		return nil, err
	}
	if s.InProcess {
		r.pipe, err = startInProcess(ctx, cfgPath, s.CPUProfile, s.MemProfile, filepath.Join(r.dir, "riskpipe.log"))
	} else {
		r.pipe, err = startProcess(h.o.Riskpipe, cfgPath, filepath.Join(r.dir, "riskpipe.log"), s.Env)
	}
	if err != nil {
		return nil, err
	}
	if err := r.waitIntegrated(ctx); err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

func (r *Run) startSimulator() error {
	var opts []oktasim.OrgOptions
	for i := range r.s.Orgs {
		name := OrgName(i)
		st, err := scenario.New(scenario.Options{Org: name, Seed: r.s.Seed + int64(i), Users: r.s.Users,
			Scenario: scenario.ScenarioBench, RiskShare: r.s.RiskShare})
		if err != nil {
			return err
		}
		r.orgs = append(r.orgs, name)
		r.streams = append(r.streams, st)
		opts = append(opts, oktasim.OrgOptions{Name: name, Source: st, EventsPerSecond: r.s.EventsPerSecond,
			Tokens: []string{"bench-token-" + name}, RateLimit: r.s.RateLimit})
	}
	sim, err := oktasim.New(oktasim.Options{Orgs: opts, Seed: r.s.Seed})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.sim = sim
	r.simURL = "http://" + ln.Addr().String()
	r.simSrv = &http.Server{Handler: r.clock.wrap(sim), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = r.simSrv.Serve(ln) }()
	return nil
}

// writeConfig writes riskpipe's YAML config for this run.
func (r *Run) writeConfig() (string, error) {
	pollCfg := map[string]any{}
	if r.s.Interval > 0 {
		pollCfg["interval"] = r.s.Interval.String()
	}
	if r.s.PageLimit > 0 {
		pollCfg["page_limit"] = r.s.PageLimit
	}
	if r.s.RateLimitShare > 0 {
		pollCfg["rate_limit_share"] = r.s.RateLimitShare
	}
	chCfg := map[string]any{"addr": r.h.ch.Addr(), "database": r.db, "managed": false}
	if r.s.BatchMaxRows > 0 {
		chCfg["batch_max_rows"] = r.s.BatchMaxRows
	}
	if r.s.BatchMaxWait > 0 {
		chCfg["batch_max_wait"] = r.s.BatchMaxWait.String()
	}
	var tenants []any
	for _, name := range r.orgs {
		tenants = append(tenants, map[string]any{
			"name":     name,
			"base_url": r.sim.BaseURL(r.simURL, name),
			"auth":     map[string]any{"method": "api_token", "token": "bench-token-" + name},
		})
	}
	for _, name := range r.s.DisabledTenants {
		tenants = append(tenants, map[string]any{
			"name":     name,
			"base_url": "http://127.0.0.1:9/o/" + name,
			"auth":     map[string]any{"method": "api_token", "token": "unused"},
			"enabled":  false,
		})
	}
	cfg := map[string]any{
		"clickhouse": chCfg,
		"poll":       pollCfg,
		"tenants":    tenants,
		"http":       map[string]any{"listen": ""},
		"log":        map[string]any{"format": "json", "level": "warn"},
	}
	if len(r.s.Memory) > 0 {
		cfg["memory"] = r.s.Memory
	}
	if r.s.HTTP {
		addr, err := freeAddr()
		if err != nil {
			return "", err
		}
		var tok [16]byte
		_, _ = rand.Read(tok[:])
		r.apiToken = hex.EncodeToString(tok[:])
		r.apiURL = "http://" + addr
		cfg["http"] = map[string]any{"listen": addr}
		cfg["api"] = map[string]any{"tokens": []any{map[string]any{
			"name": "riskbench", "token": r.apiToken, "tenants": []string{"*"}}}}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	p := filepath.Join(r.dir, "riskpipe.yaml")
	return p, os.WriteFile(p, b, 0o600)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitIntegrated waits until every polled tenant has a poll_state row:
// from then on, events the simulator persists are after its integration
// time and riskpipe must deliver them.
func (r *Run) waitIntegrated(ctx context.Context) error {
	deadline := time.Now().Add(90*time.Second + r.s.Interval)
	var last error
	for {
		var n uint64
		n, last = r.reader().Integrated(ctx, r.orgs)
		if last == nil && int(n) == len(r.orgs) {
			return nil
		}
		if err := r.pipe.Exited(); err != nil {
			return fmt.Errorf("riskpipe exited before integrating: %w%s", err, r.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tenants not integrated after 90s (last: %d/%d, %v)%s", n, len(r.orgs), last, r.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reader reads the run's database (store.Reader: the SQL of each table).
func (r *Run) reader() *store.Reader { return store.NewReader(r.h.conn, r.db) }

func (r *Run) logTail() string {
	t := tailFile(filepath.Join(r.dir, "riskpipe.log"), 2048)
	if t == "" {
		return ""
	}
	return "\n--- riskpipe log (tail) ---\n" + t
}

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b, _ := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	return string(b)
}

// Sample is one reading of the pipeline's and ClickHouse's resources.
type Sample struct {
	At         time.Time
	Pipeline   CPU
	PipeMem    Mem
	ClickHouse CPU
	Harness    CPU
	Sim        map[string]oktasim.Stats
	LoadAvg    float64
}

// Sample reads the resources now.
func (r *Run) Sample() (Sample, error) {
	s := Sample{At: time.Now(), Harness: SelfCPU(), Sim: r.sim.Stats(), LoadAvg: LoadAvg()}
	var err error
	if s.Pipeline, err = r.pipe.CPU(); err != nil {
		return s, fmt.Errorf("riskpipe cpu: %w", err)
	}
	if s.PipeMem, err = r.pipe.Mem(); err != nil {
		return s, fmt.Errorf("riskpipe memory: %w", err)
	}
	if pid := r.h.ch.PID(); pid > 0 {
		s.ClickHouse, _ = ProcCPU(pid)
	}
	return s, nil
}

// Final is what the pipeline process reported when it exited.
type Final struct {
	CPU     CPU
	MaxRSS  int64 // bytes (wait4 rusage)
	Elapsed time.Duration
}

// Stop stops the pipeline (SIGTERM: it drains and exits), the simulator,
// and drops the database.
func (r *Run) Stop() (Final, error) {
	var errs []error
	var fin Final
	if r.pipe != nil {
		var err error
		fin, err = r.pipe.Stop()
		if err != nil {
			errs = append(errs, fmt.Errorf("stop riskpipe: %w%s", err, r.logTail()))
		}
	}
	if r.simSrv != nil {
		errs = append(errs, r.simSrv.Close())
	}
	if r.db != "" && r.h.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errs = append(errs, r.h.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+r.db))
		cancel()
	}
	return fin, errors.Join(errs...)
}

// requestClock records when the first System Log request after a mark
// arrived: the moment riskpipe started on a backlog, whatever was left of
// its poll interval when the backlog appeared.
type requestClock struct {
	mark, first atomic.Int64
}

func (c *requestClock) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := c.mark.Load(); m > 0 && strings.HasSuffix(r.URL.Path, "/api/v1/logs") {
			c.first.CompareAndSwap(0, time.Now().UnixNano())
		}
		h.ServeHTTP(w, r)
	})
}

func (c *requestClock) Mark() {
	c.first.Store(0)
	c.mark.Store(time.Now().UnixNano())
}

// First is when the first request after Mark arrived (zero: none yet).
func (c *requestClock) First() time.Time {
	if n := c.first.Load(); n > 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// pipeline is riskpipe running as a child process or in-process.
type pipeline interface {
	CPU() (CPU, error)
	Mem() (Mem, error)
	// Exited returns the reason the pipeline stopped on its own, or nil.
	Exited() error
	Stop() (Final, error)
}

type process struct {
	cmd   *exec.Cmd
	start time.Time
	done  chan struct{}
	err   error
	log   *os.File
}

func startProcess(bin, cfgPath, logPath string, env []string) (*process, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, start: time.Now(), done: make(chan struct{}), log: lf}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) CPU() (CPU, error) { return ProcCPU(p.cmd.Process.Pid) }
func (p *process) Mem() (Mem, error) { return ProcMem(p.cmd.Process.Pid) }

func (p *process) Exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exit status 0")
		}
		return p.err
	default:
		return nil
	}
}

func (p *process) Stop() (Final, error) {
	defer p.log.Close()
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			return Final{}, errors.New("riskpipe did not stop within 60s of SIGTERM; killed")
		}
	}
	fin := Final{Elapsed: time.Since(p.start)}
	if ps := p.cmd.ProcessState; ps != nil {
		fin.CPU = CPU{User: ps.UserTime(), System: ps.SystemTime()}
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			fin.MaxRSS = ru.Maxrss << 10
		}
	}
	return fin, p.err
}

// inProcess runs internal/app in the harness, for profiles.
type inProcess struct {
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	start   time.Time
	cpuProf *os.File
	memProf string
	log     *os.File
}

func startInProcess(ctx context.Context, cfgPath, cpuProfile, memProfile, logPath string) (*inProcess, error) {
	cfg, err := config.Load(cfgPath, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(lf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(app.Options{Config: cfg, Logger: log, Version: "riskbench"})
	if err != nil {
		lf.Close()
		return nil, err
	}
	p := &inProcess{done: make(chan struct{}), start: time.Now(), memProf: memProfile, log: lf}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			lf.Close()
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			lf.Close()
			return nil, err
		}
		p.cpuProf = f
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go func() {
		p.err = a.Run(actx)
		close(p.done)
	}()
	if memProfile != "" {
		go p.samplePeakHeap(memProfile + ".peak")
	}
	return p, nil
}

// samplePeakHeap writes a heap profile to path whenever the live heap seen
// after a collection is the largest so far (every 200 ms), so that the
// profile shows what was in memory at the peak, not at the end.
func (p *inProcess) samplePeakHeap(path string) {
	var peak uint64
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc <= peak {
			continue
		}
		peak = ms.HeapAlloc
		if f, err := os.Create(path); err == nil {
			runtime.GC() // the profile shows the live heap as of the last GC
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
}

func (p *inProcess) CPU() (CPU, error) { return SelfCPU(), nil }
func (p *inProcess) Mem() (Mem, error) { return ProcMem(os.Getpid()) }

func (p *inProcess) Exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("app.Run returned")
		}
		return p.err
	default:
		return nil
	}
}

func (p *inProcess) Stop() (Final, error) {
	defer p.log.Close()
	var errs []error
	if p.memProf != "" {
		if f, err := os.Create(p.memProf); err == nil {
			errs = append(errs, pprof.Lookup("heap").WriteTo(f, 0), f.Close())
		} else {
			errs = append(errs, err)
		}
	}
	if p.cpuProf != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpuProf.Close())
	}
	p.cancel()
	<-p.done
	errs = append(errs, p.err)
	m, _ := p.Mem()
	return Final{CPU: SelfCPU(), MaxRSS: m.Peak, Elapsed: time.Since(p.start)}, errors.Join(errs...)
}
