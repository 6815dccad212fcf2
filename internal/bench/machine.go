package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPUs       int
	CPUModel   string
	MemTotal   int64 // bytes
	Kernel     string
	GoVersion  string
	ClickHouse string
	LoadAvg    float64 // 1-minute load average when the facts were read
	Date       time.Time
}

// ReadMachine reads the machine facts; conn (optional) gives the
// ClickHouse version.
func ReadMachine(ctx context.Context, conn driver.Conn) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: LoadAvg(), Date: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				f := strings.Fields(v)
				if len(f) == 2 {
					n, _ := strconv.ParseInt(f[0], 10, 64)
					m.MemTotal = n << 10
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if conn != nil {
		var v string
		if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err == nil {
			m.ClickHouse = v
		}
	}
	return m
}

// String is one line for a report.
func (m Machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %.1f GiB RAM, Linux %s, %s, ClickHouse %s, load average %.2f at %s",
		m.CPUs, m.CPUModel, float64(m.MemTotal)/(1<<30), m.Kernel, m.GoVersion, m.ClickHouse, m.LoadAvg,
		m.Date.Format(time.RFC3339))
}
