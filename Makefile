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

.PHONY: setup test test-slow study bench
setup:
	python3 -m venv .venv && .venv/bin/pip install -e '.[notebooks,dev]'

# The fast suite on two workers, by file (tests/test_notebooks.py shares one trained smoke store).
test:
	$(PY) -m pytest -q -m "not slow" -n 2 --dist loadfile --durations=15

# The long and infrastructure checks (CI runs them after `make test`): one process, so nothing is timed
# against a sibling worker.
test-slow:
	$(PY) -m pytest -q -m slow --durations=15

study:
	$(PY) -m scalinglaws.cli study --profile $(PROFILE)

bench:
	$(PY) benchmarks/bench_speed.py
