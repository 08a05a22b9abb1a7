# The README's commands. `make demo` loads the sample data and prints ICE's top recipients;
# `make test` installs what the tests need and runs them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data

.PHONY: setup setup-dev system-deps demo test test-fast test-spark lint bench bench-scale clean

$(BIN)/python:
	@echo "[setup] creating $(VENV)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The runtime install: wheels only (no compiler, no system headers), with pip's progress shown.
# Optional parts are extras (pyproject.toml): e.g. make setup EXTRAS=web,ftm
EXTRAS ?=
setup: $(BIN)/python
	@echo "[setup] installing contractwatch$(if $(EXTRAS),[$(EXTRAS)]) and its dependencies (wheels only)"
	$(BIN)/pip install --progress-bar on --only-binary=:all: -c constraints.txt -e '.$(if $(EXTRAS),[$(EXTRAS)])' \
	  | grep --line-buffered -E '^(Collecting|Downloading|Installing|Successfully|ERROR)' || true
	@$(BIN)/contractwatch --help >/dev/null && echo "[setup] done: $(BIN)/contractwatch"

# Everything the tests need: every extra, Spark and the test tools.
setup-dev: $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,spark]'

system-deps:
	bash scripts/install-system-deps.sh

demo: setup
	@if [ -d "$(SHARED)/usaspending/transactions" ]; then \
	  $(BIN)/contractwatch ingest $(SHARED)/usaspending/transactions && \
	  $(BIN)/contractwatch top --agency ICE --fy 2026 --limit 15; \
	else \
	  echo "No sample data at $(SHARED). Download ICE's contract transactions from"; \
	  echo "https://www.usaspending.gov/download_center/custom_award_data (Contracts,"; \
	  echo "awarding agency: DHS / U.S. Immigration and Customs Enforcement, FY2026), then:"; \
	  echo "  $(BIN)/contractwatch ingest <the downloaded ZIP>"; \
	  echo "  $(BIN)/contractwatch top --agency ICE --fy 2026"; \
	  echo "or sync from the API: $(BIN)/contractwatch sync --agency ICE --since 2025-10-01"; \
	fi

test: system-deps setup-dev
	$(BIN)/pytest -q

test-fast: setup-dev
	$(BIN)/pytest -q -m "not spark and not browser and not slow"

# The analyses on DuckDB and Spark (local mode), asserting identical results; needs Java 17.
test-spark: system-deps setup-dev
	$(BIN)/pytest -q -m spark

lint:
	$(BIN)/ruff check src tests bench

bench: setup-dev
	$(BIN)/python bench/bench_ingest.py

# Ingest and the agency report at ROWS rows next to DuckDB SQL and Polars (docs/engines.md).
ROWS ?= 1000000
bench-scale: setup-dev
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python bench/bench_scale.py --rows $(ROWS) --spark

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
