# Two commands: `make run` serves on an embedded PostgreSQL, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
ARGS ?=
# Every pip install pins its versions here (the Debian package build uses the same file).
PIP_INSTALL = $(BIN)/pip install --quiet -c constraints.txt

.PHONY: run test unit lint bench fuzz clean

run: $(VENV)/.installed
	$(BIN)/wazo-like-auth serve $(ARGS)

# Every test, on every core: pytest-xdist workers, each with its own PostgreSQL and RabbitMQ,
# a test module (or class) per worker at a time (module fixtures are built once), the longest
# first (the order tests/conftest.py sorts them in). Then, in one process,
# the tests marked `serial`: schemathesis' fuzzing (under xdist its operations are collected as
# one test that runs none of them) and the login timing comparison. Exit status 5 is "nothing
# selected" (ARGS naming only tests of the other run). JOBS=0: everything in this process.
JOBS ?= auto
test: $(VENV)/.installed-test
	$(BIN)/pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder -m 'not serial' $(ARGS) \
		|| [ $$? -eq 5 ]
	$(BIN)/pytest -m serial $(ARGS) || [ $$? -eq 5 ]

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit $(ARGS)

# The layer map of the README (Development): no import upwards, no cycle between packages.
lint: $(VENV)/.installed-test
	$(BIN)/pytest -q tests/unit/test_layers.py $(ARGS)

# Long fuzzing run of every documented operation (schemathesis); the suite runs 5 examples each.
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.installed-test
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/integration/test_fuzz.py $(ARGS)

# Load test on 127.0.0.1 (wrk when installed); results appended to contribs/bench/RESULTS.md.
# e.g. make bench ARGS='--quick' or ARGS='--scale 1000000 --nodes 2'
bench: $(VENV)/.installed-test
	$(BIN)/python -m contribs.bench $(ARGS)

$(VENV)/.created:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo 'Python 3.11 or newer is required'; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created setup.cfg setup.py constraints.txt
	$(PIP_INSTALL) -e .
	@# A machine without PostgreSQL server binaries gets them from the pgserver wheel.
	$(BIN)/python -c 'from wazo_like_auth.embedded_db import find_bindir; find_bindir()' \
		2>/dev/null || $(PIP_INSTALL) -e '.[embedded]'
	touch $@

# Test-only tools from npm (tests/interop: panva's openid-client), pinned by its
# package-lock.json. Never fails: without Node.js (.ci/install-deps installs it) or the registry
# the tests that need them skip, saying why.
INTEROP = tests/interop
$(VENV)/.installed-test: $(VENV)/.installed $(INTEROP)/package-lock.json
	$(PIP_INSTALL) -e '.[test]'
	@if ! command -v npm >/dev/null 2>&1; then \
		echo 'warning: npm not found; the tests of $(INTEROP) will be skipped' >&2; \
	elif ! (cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error); then \
		rm -rf $(INTEROP)/node_modules; \
		echo 'warning: npm ci failed; the tests of $(INTEROP) will be skipped' >&2; \
	fi
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache $(INTEROP)/node_modules
