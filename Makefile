# riskpipe — see README.md. `make demo` and `make test` do all set-up on a
# fresh Debian machine (Go must be on PATH; Debian's clickhouse-server is
# installed when missing).

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/riskpipe
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build test test-short bench chaos demo deps ensure-clickhouse ensure-chromium fmt vet clean

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

fmt:
	gofmt -l -w cmd internal schema

# The whole suite, against real ClickHouse servers the tests start
# themselves and the Okta simulator over real sockets.
test: deps vet
	@test -z "$$(gofmt -l cmd internal schema)" || { echo "gofmt needed:"; gofmt -l cmd internal schema; exit 1; }
	$(GO) test -race -count=1 -timeout 20m ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

DEMO_FLAGS ?= --duration 2m
demo: deps build
	$(BIN) demo $(DEMO_FLAGS)

clean:
	rm -rf bin .data
