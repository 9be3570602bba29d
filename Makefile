# Haven: the two commands a new user needs are `make run` and `make test`.
PY ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Every dependency, with the hashes of its files on the public index (`make lock` makes them
# from pyproject.toml): runtime.txt for an installation, dev.txt adds the tools and tests.
LOCK := requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
CHROMIUM := /usr/bin/chromium
# Compiled message catalogs: build output (gitignored), remade when their .po changes.
MO := $(patsubst %.po,%.mo,$(wildcard app/locale/*/LC_MESSAGES/haven.po))

.PHONY: install messages run demo-reset test lint typecheck pytest chromium caddy axe lock clean soak sqlmap sqlmap-install bench wrk mutate

# The project goes in without its dependencies and without a build sandbox: everything,
# setuptools included, comes from the lock, each file checked against its hash.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# The install step: the virtualenv, then the compiled catalogs.
install: $(STAMP) $(MO)

app/locale/%/LC_MESSAGES/haven.mo: app/locale/%/LC_MESSAGES/haven.po $(STAMP)
	$(BIN)/python -m app.i18n.messages compile

# After marking or changing text: extract every message and merge it into each catalog
# (then translate what is new or fuzzy; docs/i18n.md).
messages: $(STAMP)
	$(BIN)/python -m app.i18n.messages update

# Regenerates the locks after a change to pyproject.toml (LOCK_ARGS=--upgrade also moves the
# indirect dependencies to their newest versions). The machine's own pip configuration (a
# local mirror, find-links) is set aside, so the hashes are those of the public index that
# every fresh machine downloads from. The locking tools are pinned here.
LOCK_VENV := $(VENV)-lock
LOCK_TOOLS := pip==26.3 pip-tools==7.7.0
PUBLIC_PIP := env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
	PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock"
COMPILE = $(PUBLIC_PIP) $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --all-build-deps --no-emit-index-url $(LOCK_ARGS)
lock:
	test -x $(LOCK_VENV)/bin/python || $(PY) -m venv $(LOCK_VENV)
	$(PUBLIC_PIP) $(LOCK_VENV)/bin/python -m pip install --quiet $(LOCK_TOOLS)
	mkdir -p requirements
	$(COMPILE) --output-file requirements/runtime.txt pyproject.toml
	$(COMPILE) --extra dev --output-file requirements/dev.txt pyproject.toml

var:
	mkdir -p -m 0700 var

# Idempotent: the schema and dev key are made once, the demo accounts once (their passwords
# are printed only then), and every run ends serving on http://$(HOST):$(PORT)/.
run: install var
	@test -f var/haven.db || $(BIN)/haven init --seal-mode dev
	@$(BIN)/haven demo
	@echo "(Demo passwords are shown only by the run that creates the accounts;"
	@echo " 'make demo-reset run' deletes ./var and starts the demo afresh.)"
	@$(BIN)/haven serve --host $(HOST) --port $(PORT)

# Deletes the local demo (./var) so the next `make run` makes and prints fresh accounts.
# Refuses when ./var does not look like a dev-mode demo.
demo-reset:
	@test ! -d var || test -f var/dev-root.key \
		|| { echo "var/ holds no dev-mode demo (no var/dev-root.key): not deleting it"; exit 1; }
	rm -rf var

lint: $(STAMP)
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict app

# axe-core (the accessibility checker the browser tests inject) from the npm registry, at the
# version and hash package-lock.json pins; skipped, saying so, where npm is missing.
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE): tests/browser/axe/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/browser/axe --no-audit --no-fund --ignore-scripts --silent \
		&& touch $@; \
	else echo "make: npm is missing: the accessibility tests are skipped"; fi

# The browser tests drive Debian's Chromium (never a downloaded browser build). apt's
# hundreds of lines go to a log; a failure shows its tail and stops the run.
APT_LOG := $(VENV)/apt-chromium.log
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		mkdir -p $(VENV); \
		echo "make: installing Debian's chromium for the browser tests (apt-get log: $(APT_LOG))"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
			>$(APT_LOG) 2>&1 \
		|| { echo "make: apt-get could not install chromium; the end of $(APT_LOG):" >&2; \
			tail -n 25 $(APT_LOG) >&2; exit 1; }; \
	else \
		echo "make: $(CHROMIUM) is missing and installing it needs root:"; \
		echo "      sudo apt-get install chromium   (until then the browser tests are skipped)"; \
	fi

# The deploy kit's Caddyfile is checked with `caddy validate` (tests/deploy): Debian's caddy,
# installed like chromium when we are root; else the test runs its structural check only.
CADDY_LOG := $(VENV)/apt-caddy.log
caddy:
	@if command -v caddy >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		mkdir -p $(VENV); \
		echo "make: installing Debian's caddy to validate deploy/caddy/Caddyfile ($(CADDY_LOG))"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y caddy; } \
			>$(CADDY_LOG) 2>&1 \
		|| echo "make: apt-get could not install caddy: only the Caddyfile's structure is checked"; \
	else \
		echo "make: caddy is missing (sudo apt-get install caddy): the Caddyfile's structure only"; \
	fi

# sqlmap (Debian's) attacks the search, duplicate-check and sign-in routes in the tests
# (tests/reliability/test_sqlmap.py); installed like chromium when we are root, else that
# test is skipped, saying so. `make sqlmap` runs it alone.
SQLMAP_LOG := $(VENV)/apt-sqlmap.log
sqlmap-install:
	@if command -v sqlmap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		mkdir -p $(VENV); \
		echo "make: installing Debian's sqlmap for the injection tests ($(SQLMAP_LOG))"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y sqlmap; } \
			>$(SQLMAP_LOG) 2>&1 \
		|| echo "make: apt-get could not install sqlmap: the injection tests are skipped"; \
	else \
		echo "make: sqlmap is missing (sudo apt-get install sqlmap): the injection tests are skipped"; \
	fi

sqlmap: install sqlmap-install
	$(BIN)/pytest -s tests/reliability/test_sqlmap.py

pytest: install chromium caddy axe sqlmap-install
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

# The load test for longer than `make test` runs it (HAVEN_LOAD_SECONDS, default 60), on both
# databases when HAVEN_TEST_POSTGRES_URL is set, and schemathesis with more examples.
SOAK_SECONDS ?= 60
soak: install
	HAVEN_LOAD_SECONDS=$(SOAK_SECONDS) HAVEN_SCHEMATHESIS_EXAMPLES=25 \
		$(BIN)/pytest -s tests/reliability/test_load.py tests/reliability/test_schemathesis.py

# The benchmark (bench/README.md): HTTP figures beside the floor of the same server stack, at
# 1,000 / 100,000 / 1,000,000 cases on SQLite and PostgreSQL (BENCH_QUICK=1: up to 100,000,
# shorter runs), written into bench/RESULTS.md. Its load comes from Debian's wrk, installed
# like chromium when we are root; without it an async httpx generator (a lower floor).
# PostgreSQL: BENCH_POSTGRES_URL or HAVEN_TEST_POSTGRES_URL, else the local server's trust
# login; not answering, that half is left out and RESULTS.md says so.
WRK_LOG := $(VENV)/apt-wrk.log
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		mkdir -p $(VENV); \
		echo "make: installing Debian's wrk for the benchmark's load ($(WRK_LOG))"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; } \
			>$(WRK_LOG) 2>&1 \
		|| echo "make: apt-get could not install wrk: the benchmark uses its httpx generator"; \
	else \
		echo "make: wrk is missing (sudo apt-get install wrk): the benchmark uses its httpx generator"; \
	fi

bench: install wrk
	$(BIN)/python -m bench.http_bench $(BENCH_ARGS)

# Mutation testing of the security code (tests/MUTATION.md), outside `make test`: mutmut
# plants one small bug at a time and runs the tests that reach it; a mutant no test notices
# is listed. tests/mutate.py runs it package by package, each against the tests that attack
# it (its table SUITES), in a scratch directory under mutants/ (gitignored) where the
# results stay: one worker, `nice -n 19`, SQLite only, no browser. A run resumes where the
# last one stopped. MUTATE_PACKAGES=app.audit runs one package, MUTATE_FILES="app/crypto/keyring.py"
# some files, MUTATE_AGAIN=1 the mutants not killed again (after writing a test for them),
# MUTATE_CHILDREN=2 two mutants at a time (on a machine with nothing else to do).
MUTATE_PACKAGES ?= app.policy app.security app.crypto app.tasks.leak_guard app.audit
MUTATE_FILES ?=
MUTATE_AGAIN ?=
mutate: install
	env -u HAVEN_TEST_POSTGRES_URL -u CI nice -n 19 $(BIN)/python tests/mutate.py run \
		$(MUTATE_PACKAGES) $(if $(MUTATE_FILES),--files $(MUTATE_FILES)) $(if $(MUTATE_AGAIN),--again)
	$(BIN)/python tests/mutate.py summary

clean:
	rm -rf $(VENV) $(LOCK_VENV) mutants .pytest_cache .mypy_cache .ruff_cache $(MO)
