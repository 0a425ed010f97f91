# Verdict: the two commands a fresh machine needs are `make demo` and `make test`.

GO        ?= go
BIN       := bin/verdict
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SCENARIOS := $(sort $(dir $(wildcard fixtures/*/expect.yaml)))

.PHONY: all build image demo try test test-arm64 test-short lint check-fma bench fuzz quality quality-docs clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/verdict

# image builds the container image with Go tooling alone (cmd/verdict-image,
# internal/ociimage): verdict for linux/amd64 and linux/arm64, from scratch,
# user 65532, as an OCI image layout in bin/image, and prints its digest.
# Every file and the image carry the commit's time, so the same commit built
# with the same Go gives the same digest.
IMAGE_DIR := bin/image
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

image:
	rm -rf $(IMAGE_DIR)
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./cmd/verdict-image -o $(IMAGE_DIR) \
		-version $(VERSION) -ref $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)"

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
# make test also runs test-arm64 when qemu-aarch64 is installed, and always
# under CI=true (where a missing qemu-aarch64 fails the run).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -parallel 4 ./...
	@if [ "$$CI" = true ] || command -v qemu-aarch64 >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory test-arm64; \
	else \
		echo "make test: qemu-aarch64 is not installed, so the statistics packages were not tested under arm64 (make test-arm64; Debian: apt-get install qemu-user)"; \
	fi

# test-arm64 runs the tests of the pure statistics packages compiled for
# arm64, under Debian's qemu-user: their results must be the same float64
# as on amd64 (internal/numeric). -short leaves out the simulations of the
# tests' operating characteristics, which take many minutes under emulation
# and check the methods, not the arithmetic (they run natively in make test).
ARM64_PKGS := ./internal/numeric ./judge/... ./kayenta ./scoring

test-arm64:
	@command -v qemu-aarch64 >/dev/null 2>&1 || { \
		echo "test-arm64: qemu-aarch64 is not installed; install Debian's qemu-user (apt-get install qemu-user)" >&2; exit 1; }
	GOARCH=arm64 $(GO) test -count=1 -short -exec qemu-aarch64 $(ARM64_PKGS)

test-short:
	$(GO) test -short ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: check-fma
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# check-fma fails when the arm64 compiler fuses a multiply and an add (one
# rounding fewer than R's and Kayenta's arithmetic, and than amd64's)
# anywhere in the statistics packages, and names the lines: round the
# product there with float64(x*y) (see internal/numeric).
FMA_PKGS := ./internal/numeric ./judge/... ./kayenta ./scoring ./internal/archcheck

check-fma:
	@asm=$$(GOARCH=arm64 $(GO) build -gcflags=-S $(FMA_PKGS) 2>&1) || { echo "$$asm" | grep -v '^	' >&2; exit 1; }; \
	fused=$$(echo "$$asm" | grep -E '[[:space:]](FMADDD|FMSUBD|FNMADDD|FNMSUBD)[[:space:]]' | grep -oE '[^( ]+\.go:[0-9]+' | sed 's|^$(CURDIR)/||' | sort -u); \
	if [ -n "$$fused" ]; then echo "check-fma: the arm64 compiler fuses a multiply-add at these lines; round the product with float64(x*y):" >&2; echo "$$fused" >&2; exit 1; fi

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
	$(GO) test -run='^$$' -fuzz=FuzzRenderCloudWatch -fuzztime=30s ./metrics/cloudwatch
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
