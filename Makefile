# Everything bootstraps its own virtualenv in .venv with uv (pip backtracks for many minutes on
# Airflow + the Amazon provider). The lock file pins every package; pyproject.toml keeps ranges.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed

.PHONY: install test lint demo lock clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(PY) -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check airflow_provider_seedance tests example_dags benchmarks
	$(VENV)/bin/ruff format --check airflow_provider_seedance tests example_dags benchmarks

test: lint
	$(VENV)/bin/pytest

demo: $(STAMP)
	$(PY) -m airflow_provider_seedance.demo

lock:
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
