# Everything bootstraps its own virtualenv in .venv with uv (pip backtracks for many minutes on
# Airflow + the Amazon provider). The lock file pins every package; pyproject.toml keeps ranges.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
LOCK := requirements/dev.lock
OVERRIDES := requirements/overrides.txt
STAMP := $(VENV)/.installed
# Azurite, the Azure Blob Storage server the storage tests write to (npm; airflow_provider_seedance/testing/azure.py).
AZURITE_VERSION := 3.37.0
AZURITE := $(VENV)/azurite/node_modules/.bin/azurite-blob

# The Airflow version matrix: one virtualenv per line, each from its own lock (requirements/matrix/).
MATRIX ?= 3.0 3.1 3.2 3.3.0
MATRIX_VENVS := .venv-matrix

.PHONY: install install-azurite test test-fast coverage lint demo lock lock-matrix test-matrix test-install clean

install: $(STAMP)

install-azurite: $(AZURITE)

$(AZURITE):
	@command -v npm >/dev/null || { echo "Azurite (the storage tests' Azure Blob Storage server) comes from npm:" \
		"install Node.js and npm (apt-get install nodejs npm), then run this again."; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/azurite azurite@$(AZURITE_VERSION)

$(STAMP): pyproject.toml $(LOCK) $(OVERRIDES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r $(LOCK) --override $(OVERRIDES)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

# mypy checks the package's py.typed promise (configured in pyproject.toml, [tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check airflow_provider_seedance tests example_dags benchmarks docs
	$(VENV)/bin/ruff format --check airflow_provider_seedance tests example_dags benchmarks docs
	$(VENV)/bin/mypy

# The suite is in tiers (tests/conftest.py): tests/unit (pure: no server, no Airflow database), tests/integration
# (the simulator, moto's S3 server, a file server over real HTTP), tests/dags (dag.test() on a migrated
# database) and tests/e2e (a real deployment, the airflow command, the docs build, a browser). pytest-xdist
# runs three workers on the two cores, since one of them is often waiting on a deployment, a subprocess or a
# browser (the whole suite took 201 s with three, 238 s with two, lint beside both): --dist loadgroup hands
# out one test at a time, or one xdist group (a module's tests
# that share a module-scoped fixture, or whose order matters), in collection order (--no-loadscope-reorder):
# slowest tiers first. pytest exits 1 when a test fails and 5 when none ran.
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder
PYTEST_ARGS ?=

# Every tier, with lint beside it at the lowest CPU priority: ruff and mypy (about 32 CPU seconds from cold)
# use the gaps the pytest workers leave while they wait on servers, instead of slowing the tests down. Lint's
# output is printed after the tests'; either failing fails the target.
LINT_LOG := .lint.log
test: $(STAMP) $(AZURITE)
	@nice -n 19 $(MAKE) --no-print-directory lint >$(LINT_LOG) 2>&1 & lint=$$!; \
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS); tests=$$?; \
	wait $$lint; linted=$$?; cat $(LINT_LOG); \
	if [ $$tests -ne 0 ]; then exit $$tests; fi; exit $$linted

# The edit loop: unit + integration, no Airflow database and no DAG run. Nothing there waits, so two workers
# (35 s on 2 cores) beat three (42 s).
test-fast: $(STAMP) $(AZURITE)
	$(VENV)/bin/pytest $(subst -n $(PYTEST_WORKERS),-n 2,$(PYTEST_PARALLEL)) $(PYTEST_ARGS) tests/unit tests/integration

# Line coverage of the package over every tier (pytest-cov combines the workers' data).
coverage: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) --cov=airflow_provider_seedance --cov-report=term $(PYTEST_ARGS)

# Every README install line resolved fresh from the registry (not our locks), in a new virtualenv, running a
# deferred generation on a real deployment with a Fernet key (tests/install; the matrix runs each line's).
test-install: $(STAMP)
	$(VENV)/bin/pytest $(subst -n $(PYTEST_WORKERS),-n 2,$(PYTEST_PARALLEL)) --readme-install=all tests/install

# Runs the version-dependent part of the suite on every Airflow line in MATRIX (see .ci/matrix).
test-matrix:
	PYTHON=$(PYTHON) PYTEST_PARALLEL="$(PYTEST_PARALLEL)" bash .ci/matrix $(MATRIX)

demo: $(STAMP)
	$(PY) -m airflow_provider_seedance.testing.demo

lock:
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --override $(OVERRIDES) -o $(LOCK)
	$(UV) pip compile requirements/scale.in -c $(LOCK) --python-version 3.11 -o requirements/scale.lock

lock-matrix: $(STAMP)
	for line in $(MATRIX); do \
		$(UV) pip compile pyproject.toml requirements/matrix/airflow-$$line.in --extra dev --python-version 3.11 \
			--override $(OVERRIDES) -o requirements/matrix/airflow-$$line.lock || exit 1; \
	done

clean:
	rm -rf $(VENV) $(MATRIX_VENVS) .pytest_cache .ruff_cache .mypy_cache .coverage $(LINT_LOG)

# 200 generations on a distributed Airflow (CeleryExecutor, PostgreSQL, Redis, two workers, two
# triggerers) with faults injected and a triggerer and a worker killed mid-run (benchmarks/scale_test.py;
# installs Redis and PostgreSQL from the Debian packages when missing). Not part of `make test`: ~10 min.
SCALE_ARGS ?=
.PHONY: scale-test
scale-test: $(STAMP)
	$(UV) pip install --quiet --python $(PY) -r requirements/scale.lock
	$(PY) benchmarks/scale_test.py $(SCALE_ARGS)

# The user documentation (docs/, Sphinx with MyST) into docs/_build/html; any warning fails the build.
.PHONY: docs docs-tables
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

# Rewrites the tables the pages take from the code and the lock files (docs/tables.py); a test fails when stale.
docs-tables: $(STAMP)
	$(PY) docs/tables.py
