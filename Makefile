# Two entry points: `make train` (the main job) and `make test`. Each creates .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
MODEL ?= baseline

.PHONY: train test lint clean

$(BIN)/rnn-zoo: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

train: $(BIN)/rnn-zoo
	$(BIN)/rnn-zoo train $(MODEL)

lint: $(BIN)/rnn-zoo
	$(BIN)/ruff check .

test: lint
	RNN_ZOO_NOTEBOOK_QUICK=1 $(BIN)/pytest -q -n 2 --durations=15 --nbmake tests notebooks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
