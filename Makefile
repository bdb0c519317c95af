# Two commands: `make run` (main job) and `make test` (whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC := torch==2.13.0

.PHONY: run test lint bench bench-peers clean

run: $(VENV)/.installed
	$(BIN)/lstmkit forecast --config examples/energy/forecast.yaml --output runs/energy

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_recurrent.py

# Peer benchmark (NeuralForecast, Darts, statsforecast) in its own venv, benchmarks/peers/.venv;
# e.g. make bench-peers PEERS_ARGS="--quick" (see benchmarks/peers/README.md).
bench-peers:
	benchmarks/peers/setup_env.sh
	benchmarks/peers/.venv/bin/python benchmarks/peers/run.py $(PEERS_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned to the CPU build the machines carry; then the package.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[datasets]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) runs
