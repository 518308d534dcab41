# Two commands for a new machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := client-web/node_modules/.installed
APT_STAMP := $(VENV)/.system-packages

.PHONY: run test test-python test-js lint bench profile soak flood clean system-packages

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/ensemble serve

test: $(STAMP) $(NODE_STAMP) $(APT_STAMP)
	cd client-web && npm test
	$(BIN)/python -m pytest -q

test-python: $(STAMP) $(APT_STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/web

test-js: $(NODE_STAMP)
	cd client-web && npm test

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/fanout.py

profile: $(STAMP)
	$(BIN)/python bench/profile.py

# Not part of `make test`: 10 minutes each (see README, "Soak and flood").
soak: $(STAMP) $(APT_STAMP)
	$(BIN)/python bench/soak.py

flood: $(STAMP) $(APT_STAMP)
	$(BIN)/python bench/flood.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,lint,bench]'
	touch $@

$(NODE_STAMP): client-web/package.json client-web/package-lock.json
	cd client-web && npm ci --no-audit --no-fund
	touch $@

# What the tests need from the system: redis-server, nginx and Debian's chromium.
$(APT_STAMP): $(STAMP)
	./scripts/system-packages.sh
	touch $@

system-packages:
	./scripts/system-packages.sh

clean:
	rm -rf $(VENV) client-web/node_modules
