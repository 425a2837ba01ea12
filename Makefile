# The two commands of the README: `make demo` and `make test`. Both install what
# they need (npm packages, Debian's Chromium for the browser tests) and build first.
SHELL := /bin/bash
NODE_STAMP := node_modules/.leakhound-installed
PYTHON ?= python3

.PHONY: all install build demo test test-unit bench clean

all: build

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@node -e "require('better-sqlite3')" 2>/dev/null || npm rebuild better-sqlite3
	@touch $@

install: $(NODE_STAMP)

build: install
	npm run build

# Runs leakhound on a bundled leaking service and prints its report.
demo: build
	node dist/cli.js run --html leakhound-demo.html --json leakhound-demo.json -- $(PYTHON) examples/demo/app.py; \
	  code=$$?; echo "HTML report: $$PWD/leakhound-demo.html  JSON: $$PWD/leakhound-demo.json"; exit $$code

test: build
	npm run typecheck
	bash scripts/setup-browser.sh
	bash scripts/setup-tools.sh
	bash scripts/prebuild-native.sh
	npx vitest run

test-unit: build
	npx vitest run test/unit

bench: build
	node bench/run-all.mjs

clean:
	rm -rf dist node_modules/.leakhound-installed
