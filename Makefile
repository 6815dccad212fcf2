# riskpipe — see README.md. `make demo` and `make test` do all set-up on a
# fresh Debian machine (Go must be on PATH; Debian's clickhouse-server is
# installed when missing).

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/riskpipe
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build test bench bench-quick bench-go chaos demo deps ensure-clickhouse ensure-chromium ensure-golangci-lint fmt vet lint clean
.PHONY: ensure-chdb test-current replay-current

all: build

deps: ensure-clickhouse ensure-chromium
	$(GO) mod download

# Debian's clickhouse-server (18.16 on bookworm) is what the tests start
# privately; users run any current ClickHouse.
ensure-clickhouse:
	@if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ] && [ ! -x /usr/bin/clickhouse-server ]; then \
		echo ">> installing Debian's clickhouse-server and clickhouse-client"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; \
	fi

# Debian's chromium drives the dashboard's browser tests (chromedp).
ensure-chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo ">> installing Debian's chromium"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/riskpipe

vet:
	$(GO) vet ./...

# The lint gate (.golangci.yml: errcheck, govet, staticcheck, depguard for
# the layer rules of docs/CONTRIBUTING.md and docs/architecture.md,
# goimports). The pinned golangci-lint is installed with `go install` from
# the Go module proxy when missing.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT = $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)/golangci-lint

ensure-golangci-lint:
	@if ! $(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo ">> installing golangci-lint $(GOLANGCI_LINT_VERSION)"; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

lint: ensure-golangci-lint
	$(GOLANGCI_LINT) run ./...

fmt:
	gofmt -l -w cmd internal schema

# The whole suite, against real ClickHouse servers the tests start
# themselves and the Okta simulator over real sockets. Packages with
# goroutines and I/O run under the race detector; the pure, CPU-bound ones
# (decoder, classifier, scorer, traffic generator) run without it, where it
# would only multiply their time.
PURE_PKGS := ./internal/config/... ./internal/event/... ./internal/classify/... ./internal/score/... ./internal/oktasim/scenario/... ./schema/...
RACE_PKGS  = $(shell $(GO) list ./... | grep -v -e /internal/config -e /internal/event -e /internal/classify -e /internal/score -e /internal/oktasim/scenario -e /schema -e /internal/chcurrent)

# The race run also captures every statement the tests send to ClickHouse
# 18.16 (SQL_CAPTURE); replay-current then checks them on ClickHouse 26.5.
test: deps vet lint ensure-chdb
	@test -z "$$(gofmt -l cmd internal schema)" || { echo "gofmt needed:"; gofmt -l cmd internal schema; exit 1; }
	$(GO) test -count=1 -timeout 20m $(PURE_PKGS)
	rm -rf $(SQL_CAPTURE) && mkdir -p $(SQL_CAPTURE)
	RISKPIPE_SQL_CAPTURE=$(SQL_CAPTURE) $(GO) test -race -count=1 -timeout 30m $(RACE_PKGS)
	$(MAKE) --no-print-directory replay-current

# The current-ClickHouse check (internal/chcurrent, docs/decisions.md):
# libchdb, ClickHouse 26.5 as a library from npm (166 MB download, 534 MB
# unpacked), kept outside the repository; Node and npm from Debian when
# missing.
CHDB_VERSION := 26.5.3
CHDB_DIR     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/riskpipe/chdb-$(CHDB_VERSION)
CHDB_LIB     := $(CHDB_DIR)/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so
SQL_CAPTURE  ?= $(CURDIR)/.data/sqlcapture

ensure-chdb:
	@if [ ! -f "$(CHDB_LIB)" ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo ">> installing Debian's nodejs and npm"; \
			$(SUDO) apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; \
		fi; \
		echo ">> installing libchdb $(CHDB_VERSION) (ClickHouse 26.5) from npm into $(CHDB_DIR)"; \
		mkdir -p "$(CHDB_DIR)" && cd "$(CHDB_DIR)" && \
		npm install --no-audit --no-fund --silent @chdb/lib-linux-x64-gnu@$(CHDB_VERSION); \
	fi
	@test -f "$(CHDB_LIB)" || { echo "libchdb missing: $(CHDB_LIB)"; exit 1; }

# Replays the statements captured under SQL_CAPTURE on 18.16 and 26.5.
replay-current: ensure-chdb
	CHDB_LIB_PATH=$(CHDB_LIB) RISKPIPE_SQL_CAPTURE=$(SQL_CAPTURE) $(GO) test -tags chdb -count=1 -timeout 20m -v ./internal/chcurrent/

# The check alone: capture from the packages that query ClickHouse, replay.
test-current: ensure-chdb
	rm -rf $(SQL_CAPTURE) && mkdir -p $(SQL_CAPTURE)
	RISKPIPE_SQL_CAPTURE=$(SQL_CAPTURE) $(GO) test -count=1 -timeout 20m ./internal/store/ ./internal/api/ ./internal/app/ ./internal/poll/ ./internal/bench/ ./internal/notify/ ./internal/respond/ ./internal/privacy/ ./cmd/riskpipe/
	$(MAKE) --no-print-directory replay-current

# The fault suite in full (the short version runs in `make test`).
chaos: deps
	RISKPIPE_CHAOS=full $(GO) test -count=1 -timeout 90m -v -run TestChaos ./internal/chaos/
	RISKPIPE_KILL_ROUNDS=20 $(GO) test -count=1 -timeout 30m -v -run 'TestBinary/Kill9' ./cmd/riskpipe/

# End-to-end measurements (issue 6): the real binary against the simulator
# and a private ClickHouse; rewrites the tables in BENCHMARKS.md. Takes
# 20-40 minutes on 2 cores. `make bench-quick` is a 2-minute smoke run;
# `make bench-go` runs the Go micro-benchmarks.
bench: deps build
	$(GO) run ./cmd/riskbench throughput --riskpipe $(BIN) --orgs 1,10 --backlog 1000000 --runs 3 --write -v
	$(GO) run ./cmd/riskbench freshness  --riskpipe $(BIN) --orgs 10 --rate 200 --interval 5s --duration 40s --runs 3 --write -v
	$(GO) run ./cmd/riskbench budget     --riskpipe $(BIN) --orgs 10 --events 20000 --steady-rate 20 --steady-for 30s --interval 5s --runs 3 --write -v
	$(GO) run ./cmd/riskbench scale      --riskpipe $(BIN) --orgs 1,10,100 --events 20000 --rows 10000,1000000,10000000 --write -v

bench-quick: deps build
	$(GO) run ./cmd/riskbench all --quick --riskpipe $(BIN)

bench-go: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

DEMO_FLAGS ?= --duration 2m
demo: deps build
	$(BIN) demo $(DEMO_FLAGS)

clean:
	rm -rf bin .data
