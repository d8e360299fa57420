# genai-sidecar: the two commands of the README quick start are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES_STAMP := node_modules/.package-lock.json
# The version lives in scripts/build-prometheus.sh only.
PROMETHEUS_VERSION := $(shell sed -n 's/^PROMETHEUS_VERSION=//p' scripts/build-prometheus.sh)
PROMETHEUS_BIN := .cache/prometheus-$(PROMETHEUS_VERSION)/bin/prometheus
# The OTLP exporter loads `http` with a dynamic import, which jest only allows with this flag.
JEST_NODE_OPTIONS := --experimental-vm-modules --disable-warning=ExperimentalWarning

.PHONY: help install build run test test-thanos generate prometheus-tools thanos-tools python-env collector demo demo-local demo-local-build demo-down bench bench-build bench-tools soak audit clean

help:
	@echo "make run        start the sidecar with its defaults (builds first)"
	@echo "make test       run every test, as CI does (builds the collector and Prometheus, fetches nginx first)"
	@echo "make test-thanos the Thanos overlay checks and the real Receive/Compactor/Store/Query tests alone"
	@echo "make collector  build our OpenTelemetry Collector (collector/builder-config.yaml) into .cache/otelcol"
	@echo "make generate   rewrite generated files (dashboards, alert rules, docs, k8s copies)"
	@echo "make demo-local fake provider, two sidecars, traffic and Prometheus with the alert rules, on loopback (no Docker)"
	@echo "make demo       the whole pipeline in Docker with fake traffic and Grafana (needs a Docker engine)"
	@echo "make bench      loopback benchmark: direct vs sidecar vs nginx (ARGS=--quick)"
	@echo "make soak       5-minute steady-rate soak: RSS, open fds, event-loop lag"

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES_STAMP)

# The bin is executable, as `npm link` and `npx genai-sidecar` run it through its shebang.
build: install
	npx tsc -p tsconfig.json
	@chmod +x dist/src/cli/main.js

# Node flags as in the image's entrypoint (src/cli/runtimeFlags.ts; a test keeps them equal).
RUNTIME_NODE_FLAGS := --max-semi-space-size=2 --heap-growing-percent=15 --liftoff-only

run: build
	node $(RUNTIME_NODE_FLAGS) dist/src/cli/main.js run $(ARGS)

# prometheus + promtool at the release that ships, built from Go module source into .cache (needs
# Go; minutes the first time on a machine, seconds for another clone); no service starts.
$(PROMETHEUS_BIN):
	bash scripts/build-prometheus.sh

prometheus-tools: $(PROMETHEUS_BIN)

# Thanos (receive, query, store, compact) for the long-term-store tests, built the same way into
# .cache/thanos-<version>/bin (about 2 minutes the first time on a machine; instant once built),
# and thanos-blocks (test/tools/thanos-blocks), which writes and downsamples blocks with Thanos'
# own code for the downsampling test (seconds after the Thanos build; instant once built).
thanos-tools:
	@bash scripts/build-thanos.sh >/dev/null
	@bash scripts/build-thanos-blocks.sh >/dev/null

# Python clients the tests point at the sidecar (boto3), in .cache/python-env (test/python/requirements.txt).
python-env:
	@bash scripts/python-env.sh >/dev/null

# Our collector distribution (collector/builder-config.yaml), built with the OpenTelemetry
# Collector Builder into .cache/otelcol/<hash of the manifest>/otelcol-genai. The script returns at
# once when that binary exists, so this always runs it; the first build takes a few minutes.
collector:
	@bash scripts/build-collector.sh >/dev/null

test: build prometheus-tools thanos-tools collector bench-tools demo-local-build python-env
	NODE_OPTIONS='$(JEST_NODE_OPTIONS)' npx jest

# The long-term store alone: the Thanos overlay's checks and the real Receive, Compactor, Store and
# Query tests (a part of `make test`).
test-thanos: build prometheus-tools thanos-tools collector
	NODE_OPTIONS='$(JEST_NODE_OPTIONS)' npx jest test/unit/k8sThanos.test.ts test/integration/thanosDownsample.test.ts test/integration/thanosReceive.test.ts

generate: build
	node dist/src/observability/generate.js

# Benchmark (issue 5) and soak (issue 6): loopback only, bounded. Debian's wrk and nginx are
# unpacked into .cache/bench-tools by scripts/fetch-bench-tools.sh; no service starts.
BENCH_TOOLS_BIN := .cache/bench-tools/bin/nginx

$(BENCH_TOOLS_BIN):
	bash scripts/fetch-bench-tools.sh

bench-tools: $(BENCH_TOOLS_BIN)

bench-build: build
	npx tsc -p bench/tsconfig.json

bench: bench-build bench-tools
	node dist/bench/main.js $(ARGS)

soak: bench-build bench-tools
	node dist/bench/soak.js $(ARGS)

# Production dependencies must be free of high/critical advisories. The same audit is part of
# `make test` (test/integration/npmAudit.test.ts); where the registry's advisory endpoint cannot be
# reached (here it answers 405) that test is reported as skipped with the reason, never passed.
audit:
	npm audit --omit=dev --audit-level=high

# The whole loop without Docker, on loopback: fake provider, two sidecars, traffic, and the
# Prometheus built above scraping them with the alert rules loaded (demo/local/main.ts). Ctrl-C stops it.
demo-local-build: build
	npx tsc -p demo/local/tsconfig.json

demo-local: demo-local-build prometheus-tools
	node dist/demo/local/main.js

demo:
	docker compose up --build --detach
	@echo "Grafana http://localhost:3000 (dashboards fill within a minute), Prometheus http://localhost:9090, sidecar http://localhost:8787"

demo-down:
	docker compose down --volumes

clean:
	rm -rf dist
