# nksim: the two commands are `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test test-all bench bench-amici lint lock docs clean browser time-tool

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q src > /dev/null
	touch $(STAMP)

demo: $(STAMP)  ## run the main job on embedded defaults: de Pillis 2006 patient 9 under three regimens
	$(BIN)/nksim demo --out out/demo

test: $(STAMP) browser  ## run the test suite (without the checks marked slow)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not slow"

test-all: $(STAMP) browser  ## run every test, the slow ones included
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# Headless Chromium renders the HTML reports in tests/test_report_*.py. Installed with
# apt-get (Debian package `chromium`) when missing and possible (root, apt available);
# otherwise those tests are skipped with the reason.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| command -v google-chrome >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the report browser tests (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null) || echo "chromium could not be installed: browser tests will be skipped"; \
	else echo "chromium not installed and apt-get unavailable (or not root): browser tests will be skipped"; fi

bench: $(STAMP) time-tool  ## benchmark W1 against libRoadRunner and SciPy (several minutes)
	$(BIN)/python benchmarks/bench_w1.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_serial_killing.py
	$(BIN)/python benchmarks/bench_claims.py
	$(BIN)/python benchmarks/bench_sde.py
	$(MAKE) bench-amici

# AMICI (issue 15: one PEtab simulation side by side) lives in its own environment: it is not
# in the lock file and has no wheel for this platform, so pip builds it from source (about
# 10 minutes, scipy-openblas as BLAS, the pip SWIG); skipped with a message where it cannot.
AMICI_VENV := .venv-amici
bench-amici: $(STAMP)  ## one PEtab simulation: nksim against AMICI (builds AMICI once)
	@if [ ! -x $(AMICI_VENV)/bin/python ] || ! $(AMICI_VENV)/bin/python -c "import amici" 2>/dev/null; then \
		echo "building AMICI into $(AMICI_VENV) (first time only, about 10 minutes)"; \
		($(PYTHON) -m venv $(AMICI_VENV) && $(AMICI_VENV)/bin/python -m pip install --quiet \
			"amici==1.0.1" "petab==0.8.2" scipy "swig==4.5.1") \
		|| echo "AMICI could not be built here: the side-by-side timing is skipped"; fi
	@if $(AMICI_VENV)/bin/python -c "import amici" 2>/dev/null; then \
		$(BIN)/python benchmarks/bench_amici.py --amici-python $(AMICI_VENV)/bin/python; fi

# GNU time (Debian package `time`) measures the peak memory of the million-patient run in
# benchmarks/bench_scale.py; installed with apt-get when missing and possible.
time-tool:
	@if [ -x /usr/bin/time ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing GNU time for the memory measurement (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time \
			>/dev/null) || echo "GNU time could not be installed: peak memory not measured"; \
	else echo "/usr/bin/time missing and apt-get unavailable (or not root): peak memory not measured"; fi

docs: $(STAMP)  ## regenerate docs/models/*.md from the model declarations
	for m in depillis2005 depillis2006 depillis2009 karin2019 sle_cd19; do \
		$(BIN)/nksim models --show $$m > docs/models/$$m.md; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

lock:  ## re-resolve requirements.lock from pyproject.toml (needs network)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--output-file requirements.lock --quiet

clean:
	rm -rf $(VENV) $(AMICI_VENV) out .nksim-cache .pytest_cache
