# Two commands: `make run` serves on an embedded PostgreSQL, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
ARGS ?=

.PHONY: run test unit bench clean

run: $(VENV)/.installed
	$(BIN)/wazo-like-auth serve $(ARGS)

test: $(VENV)/.installed-test
	$(BIN)/pytest $(ARGS)

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit $(ARGS)

$(VENV)/.created:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo 'Python 3.11 or newer is required'; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created setup.cfg setup.py
	$(BIN)/pip install --quiet -e .
	@# A machine without PostgreSQL server binaries gets them from the pgserver wheel.
	$(BIN)/python -c 'from wazo_like_auth.embedded_db import find_bindir; find_bindir()' \
		2>/dev/null || $(BIN)/pip install --quiet -e '.[embedded]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
