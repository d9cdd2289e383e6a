# Two commands on a fresh machine: `make demo` and `make test`.
# The first use of any target creates .venv and installs the tested stack in
# ONE pip command: the plugin with its test and web extras (the web page of
# tools/web_demo.py and its browser test), requirements/lock.txt as
# constraints, plus mmcv-lite (see setup.py); later uses reinstall only when
# setup.py or a requirements file changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rs2sam2-installed
PYTEST_ARGS ?=

.PHONY: install test demo clean

$(STAMP): setup.py $(wildcard requirements/*.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	SAM2_BUILD_CUDA=0 $(PY) -m pip install --quiet \
	    -c requirements/lock.txt -e '.[test,web]' mmcv-lite
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# the demo's 10 minutes count from here, creating .venv included: training
# gets what is left (tools/demo.py --total-minutes)
demo: DEMO_START := $(shell date +%s)
demo: install
	$(PY) tools/demo.py --started-at $(DEMO_START)

clean:
	rm -rf work_dirs .pytest_cache
