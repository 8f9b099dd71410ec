# make setup | make test | make study PROFILE=cpu | make bench
PY ?= .venv/bin/python
PROFILE ?= cpu
# Local mirror of the Gutenberg books (on our machines and in CI: ../shared/corpus/books).
# Elsewhere the books are downloaded from Project Gutenberg once and cached.
ifneq ($(wildcard ../shared/corpus/books),)
export SCALINGLAWS_GUTENBERG_MIRROR ?= $(abspath ../shared/corpus/books)
endif
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: setup test study bench
setup:
	python3 -m venv .venv && .venv/bin/pip install -e '.[notebooks,dev]'

test:
	$(PY) -m pytest -q --durations=15

study:
	$(PY) -m scalinglaws.cli study --profile $(PROFILE)

bench:
	$(PY) benchmarks/bench_speed.py
