# adcsflow: the two commands a new user runs on a fresh Debian/Ubuntu machine are
#   make demo    (installs what is needed, builds, analyzes a capture shipped in testdata/)
#   make test    (installs what is needed, runs every test)
SHELL := /bin/bash
GO ?= go
BIN := bin/adcsflow
DEMO_CAPTURE ?= testdata/captures/lab-ldaps-and-dynrpc-dropped.pcapng
FUZZTIME ?= 1m
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps deps-system deps-web twopoint build build-nocgo build-windows demo test test-short bench fuzz lint lab clean

all: build

# System packages: gcc (cgo: the race detector of make test), libpcap-dev for live capture (cgo); tshark (the reference dissector),
# tcpdump (the bench's read floor), nftables and iproute2 (namespace tests), chromium (the HTML report's browser test) for the
# tests. Installed only when missing.
deps-system:
	@missing=""; \
	for p in gcc libpcap-dev tshark tcpdump nftables iproute2 chromium; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install (Debian: apt-get install golang-go, 1.22 or later)"; exit 1; }

# The Mermaid parser the Markdown test checks graphs with (npm, when node is installed).
deps-web:
	@if command -v npm >/dev/null; then \
		[ -d testdata/web/node_modules ] || (cd testdata/web && npm ci --no-audit --no-fund --loglevel=error); \
	else echo "npm not found: the Mermaid check of the Markdown report will be skipped"; fi

deps: deps-system deps-web
	$(GO) mod download

build: deps
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/adcsflow

# File analysis needs neither cgo nor libpcap.
build-nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/adcsflow

build-windows:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/adcsflow

demo: build
	./$(BIN) analyze $(DEMO_CAPTURE)

# The analyzer shares flows between its workers, the merge and the report's writers: its
# tests run again under the race detector (which needs cgo: gcc).
test: deps
	test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(MAKE) --no-print-directory build-nocgo build-windows
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./analyzer/

test-short:
	$(GO) test -short ./...

# The issue #8 measurement (testdata/bench/main.go): generates once, into
# $$ADCSFLOW_BENCH_CACHE (default ~/.cache/adcsflow-bench), a capture of >= 2.1 GB and >= 10.5 M
# packets (capgen.WriteMix) and its half, then times adcsflow analyze, tcpdump -r, tshark and cat
# on it side by side and prints the targets; exits 1 when one is not met. Flags go in BENCH_ARGS:
#   make bench BENCH_ARGS='-runs 3 -tshark-runs 1 -args "--workers 1"'
BENCH_ARGS ?=
PROFILE_DIR ?= $(or $(ADCSFLOW_BENCH_CACHE),$(HOME)/.cache/adcsflow-bench)/profile
bench: deps
	$(GO) vet ./testdata/bench
	$(GO) run ./testdata/bench $(BENCH_ARGS)

# The analyzer's own Go benchmarks (copies of a lab capture).
bench-go: deps
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=3x ./analyzer/

# CPU and memory profiles of analyzing the bench capture in process (ADCSFLOW_BENCH_FILE=another file).
profile:
	@mkdir -p $(PROFILE_DIR)
	$(GO) test -c -o $(PROFILE_DIR)/bench.test ./testdata/bench
	cd $(PROFILE_DIR) && ./bench.test -test.run='^$$' -test.bench=BenchmarkMix -test.benchtime=1x -test.benchmem \
		-test.cpuprofile=cpu.pprof -test.memprofile=mem.pprof
	@echo "go tool pprof -http=: $(PROFILE_DIR)/bench.test $(PROFILE_DIR)/cpu.pprof"
.PHONY: bench-go profile

# Runs every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m).
fuzz:
	@for pkg in $$($(GO) list ./decoders/... ./analyzer); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg || exit 1; \
		done; \
	done

lint:
	test -z "$$(gofmt -l .)"
	$(GO) vet ./...

lab:
	bash testdata/lab/run.sh

# Regenerates the two-point captures (root: namespaces, nftables, tcpdump).
twopoint:
	bash testdata/twopoint/run.sh

clean:
	rm -rf bin testdata/cache
