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

# One TensorFlow thread per process: the two pytest workers (and the processes they
# start) share two cores, and two threads each made them fight over them (BENCHMARKS.md,
# "Test suite time"). The notebooks, the longest items, go first so no worker ends alone.
TEST_THREADS = TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1

test: lint
	$(TEST_THREADS) RNN_ZOO_NOTEBOOK_QUICK=1 $(BIN)/pytest -q -n 2 --durations=15 --nbmake notebooks tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
