# Verdict: the two commands a fresh machine needs are `make demo` and `make test`.

GO        ?= go
BIN       := bin/verdict
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SCENARIOS := $(sort $(dir $(wildcard fixtures/*/expect.yaml)))

.PHONY: all build demo try test test-short lint bench fuzz quality quality-docs clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/verdict

# demo judges every fixture scenario offline (files only, no server), prints
# its table and verdict, and records every analysis in an SQLite store that
# `verdict serve` can show. A scenario's exit code is its verdict, so non-zero
# codes are expected here; the target fails only on errors (64, 65, 70).
DEMO_DB := bin/demo.db

demo: build
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@for dir in $(SCENARIOS); do \
		echo "=== $$dir"; \
		./$(BIN) judge --config $$dir/config.yaml --baseline $$dir/baseline.csv --canary $$dir/canary.csv --db sqlite:$(DEMO_DB); \
		code=$$?; echo "(exit code $$code)"; echo; \
		if [ $$code -ge 64 ]; then exit $$code; fi; \
	done
	@echo "Every analysis is recorded in $(DEMO_DB). Browse them with:"
	@echo "  ./$(BIN) serve --db sqlite:$(DEMO_DB)    # then open http://127.0.0.1:8080/analyses"

# try brings up the playground (internal/try) on 127.0.0.1: a real Prometheus
# holding the fixture scenarios for the last hour up to now and kept current,
# a Loki stand-in with their checkout logs, and bin/verdict serve over both
# with the configs of fixtures/prometheus and fixtures/try. It prints the
# commands to try and stops everything on Ctrl-C. It needs prometheus on PATH.
try: build
	$(GO) build -o bin/verdict-try ./cmd/verdict-try
	./bin/verdict-try --verdict $(BIN) --fixtures fixtures

# -parallel 4: the serve process tests mostly wait for real-time intervals
# and leases, so they run side by side even on two cores.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -parallel 4 ./...

test-short:
	$(GO) test -short ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseConfig -fuzztime=30s ./analysis
	$(GO) test -run='^$$' -fuzz=FuzzParseCSV -fuzztime=30s ./metrics/file
	$(GO) test -run='^$$' -fuzz=FuzzParseJSON -fuzztime=30s ./metrics/file
	$(GO) test -run='^$$' -fuzz=FuzzParseNumber -fuzztime=30s ./api
	$(GO) test -run='^$$' -fuzz=FuzzParseJudgeRequest -fuzztime=30s ./api
	$(GO) test -run='^$$' -fuzz=FuzzRenderMatcher -fuzztime=30s ./metrics/query
	$(GO) test -run='^$$' -fuzz=FuzzRenderLogQL -fuzztime=30s ./metrics/query
	$(GO) test -run='^$$' -fuzz=FuzzRenderMetricsQL -fuzztime=30s ./metrics/query
	$(GO) test -run='^$$' -fuzz=FuzzRenderGraphite -fuzztime=30s ./metrics/graphite
	$(GO) test -run='^$$' -fuzz=FuzzMannWhitney -fuzztime=30s ./judge/stat
	$(GO) test -run='^$$' -fuzz=FuzzQuantileTest -fuzztime=30s ./judge/stat

# quality runs the full quality studies and prints their tables and checks;
# quality-docs also rewrites docs/quality.md's generated sections and
# docs/quality/ (tracked files: only when asked).
QUALITY_MACHINE = "$$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) cores"

quality: ; $(GO) run ./quality/cmd/quality -machine $(QUALITY_MACHINE)

quality-docs: ; $(GO) run ./quality/cmd/quality -write -machine $(QUALITY_MACHINE)

clean:
	rm -rf bin
