# Two entry points for a fresh clone (Python 3.11 + pip): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= demo_workdir
# Two test processes: much of a test's time is single-threaded (TensorFlow start-up, tracing),
# which one process alone leaves a second core idle for.
TEST_WORKERS ?= 2

.PHONY: install demo test clean

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) main.py demo --workdir=$(WORKDIR)

# The slowest tests are listed at the end, so that a slow machine's run shows where its time went.
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --durations=15 tests

clean:
	rm -rf $(VENV) $(WORKDIR) *.egg-info
