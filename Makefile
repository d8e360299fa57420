# genai-sidecar: the two commands of the README quick start are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES_STAMP := node_modules/.package-lock.json
# The OTLP exporter loads `http` with a dynamic import, which jest only allows with this flag.
JEST_NODE_OPTIONS := --experimental-vm-modules --disable-warning=ExperimentalWarning

.PHONY: help install build run test clean

help:
	@echo "make run    start the sidecar with its defaults (builds first)"
	@echo "make test   run every test, as CI does"

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES_STAMP)

build: install
	npx tsc -p tsconfig.json

run: build
	node dist/src/cli/main.js run $(ARGS)

test: build
	NODE_OPTIONS='$(JEST_NODE_OPTIONS)' npx jest

clean:
	rm -rf dist
